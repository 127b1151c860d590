"""Meetings, their invitations and chat messages.

Revision ID: meetings_0001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "meetings_0001"
down_revision = "0001"
branch_labels = ("meetings",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("organizer_id", sa.String(64), nullable=False),
        sa.Column("chair_id", sa.String(64), nullable=False),
        sa.Column("secretary_id", sa.String(64), nullable=True),
        sa.Column("starts_at", UtcDateTime, nullable=False),
        sa.Column("ends_at", UtcDateTime, nullable=False),
        sa.Column("lobby", sa.Boolean, nullable=False),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_for_edits", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("minutes_doc_id", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=True),
        sa.Column("ended_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_meetings"),
    )
    op.create_index("ix_meetings_chair_id", "meetings", ["chair_id"])
    op.create_index("ix_meetings_starts_at", "meetings", ["starts_at"])
    op.create_table(
        "meeting_invitations",
        sa.Column("meeting_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", "kind", "target_id", name="pk_meeting_invitations"),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name="fk_meeting_invitations_meeting_id_meetings", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_meeting_invitations_target", "meeting_invitations", ["kind", "target_id"])
    op.create_table(
        "meeting_chat",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_chat"),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name="fk_meeting_chat_meeting_id_meetings", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_meeting_chat_meeting", "meeting_chat", ["meeting_id", "id"])


def downgrade() -> None:
    op.drop_table("meeting_chat")
    op.drop_table("meeting_invitations")
    op.drop_table("meetings")

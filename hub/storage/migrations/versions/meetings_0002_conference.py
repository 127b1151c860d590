"""Conferences: a meeting's main venue, who attended (签到), and live meetings found quickly.

Revision ID: meetings_0002
Revises: meetings_0001
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "meetings_0002"
down_revision = "meetings_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("main_unit", sa.String(64), nullable=True))
    op.create_index("ix_meetings_status", "meetings", ["status"])  # the live ones, swept every minute
    op.create_table(
        "meeting_attendance",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.String(32), nullable=False),
        sa.Column("participant_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("org_unit_id", sa.String(64), nullable=False),
        sa.Column("org_unit_name", sa.String(200), nullable=False),
        sa.Column("venue", sa.Boolean, nullable=False),
        sa.Column("joined_at", UtcDateTime, nullable=False),
        sa.Column("left_at", UtcDateTime, nullable=True),
        sa.Column("left_reason", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_attendance"),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name="fk_meeting_attendance_meeting_id_meetings", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_meeting_attendance_meeting", "meeting_attendance", ["meeting_id", "participant_id"])
    op.create_index("ix_meeting_attendance_person", "meeting_attendance", ["person_id"])


def downgrade() -> None:
    op.drop_table("meeting_attendance")
    op.drop_index("ix_meetings_status", "meetings")
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("main_unit")

"""Video phone calls: calls, their parties, and who is on a line.

Revision ID: calls_0001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "calls_0001"
down_revision = "0001"
branch_labels = ("calls",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("caller_id", sa.String(64), nullable=False),
        sa.Column("caller_device", sa.String(64), nullable=False),
        sa.Column("target_kind", sa.String(10), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("extension", sa.String(20), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("dialled_at", UtcDateTime, nullable=False),
        sa.Column("ring_deadline", UtcDateTime, nullable=False),
        sa.Column("ringing_at", UtcDateTime, nullable=True),
        sa.Column("answered_at", UtcDateTime, nullable=True),
        sa.Column("ended_at", UtcDateTime, nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_device", sa.String(64), nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=True),
        sa.Column("meeting_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_calls"),
    )
    op.create_index("ix_calls_caller_id", "calls", ["caller_id"])
    op.create_index("ix_calls_state", "calls", ["state"])
    op.create_table(
        "call_parties",
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("declined", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("seen_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("call_id", "person_id", name="pk_call_parties"),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name="fk_call_parties_call_id_calls", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_call_parties_person_id", "call_parties", ["person_id"])
    op.create_table(
        "call_lines",
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("taken_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_call_lines"),
    )
    op.create_index("ix_call_lines_call_id", "call_lines", ["call_id"])


def downgrade() -> None:
    op.drop_table("call_lines")
    op.drop_table("call_parties")
    op.drop_table("calls")

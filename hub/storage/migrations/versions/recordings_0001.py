"""Meeting recordings: one row per recording (its files live under recordings.dir).

Revision ID: recordings_0001
Revises: meetings_0002
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "recordings_0001"
down_revision = "meetings_0002"
branch_labels = ("recordings",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("record", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("meeting_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("started_by", sa.String(64), nullable=True),
        sa.Column("stopped_at", UtcDateTime, nullable=True),
        sa.Column("stopped_by", sa.String(64), nullable=True),
        sa.Column("stop_reason", sa.String(32), nullable=True),
        sa.Column("duration", sa.Float, nullable=False, server_default="0"),
        sa.Column("progress", sa.Float, nullable=False, server_default="0"),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("archive_bytes", sa.BigInteger, nullable=True),
        sa.Column("seen_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name="fk_recordings_meeting_id_meetings",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_recordings_status", "recordings", ["status"])
    op.create_index("ix_recordings_meeting", "recordings", ["meeting_id", "started_at"])
    op.create_index("uq_recordings_live", "recordings", ["meeting_id"], unique=True,
                    sqlite_where=sa.text("status = 'recording'"), postgresql_where=sa.text("status = 'recording'"))


def downgrade() -> None:
    op.drop_index("uq_recordings_live", table_name="recordings")
    op.drop_index("ix_recordings_meeting", table_name="recordings")
    op.drop_index("ix_recordings_status", table_name="recordings")
    op.drop_table("recordings")
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("record")

"""Notifications of every kind in one table (they were supervision's only), and news sent once.

Revision ID: notifications_0001
Revises: 0001
Depends on: supervision_0001 (its notifications move here)
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "notifications_0001"
down_revision = "0001"
branch_labels = ("notifications",)
depends_on = "supervision_0001"

COLUMNS = "person_id, kind, data, created_at, read_at"


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("read_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notifications_person", "notifications", ["person_id", "read_at"])
    op.create_index("ix_notifications_subject", "notifications", ["subject", "subject_id"])
    op.create_table(
        "notifications_sent_once",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_notifications_sent_once"),
    )
    op.execute(
        f"INSERT INTO notifications (subject, subject_id, {COLUMNS}) "
        f"SELECT 'item', item_id, {COLUMNS} FROM supervision_notifications ORDER BY id"
    )
    op.drop_index("ix_supervision_notifications_person", table_name="supervision_notifications")
    op.drop_table("supervision_notifications")


def downgrade() -> None:
    op.create_table(
        "supervision_notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("read_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_notifications"),
    )
    op.create_index("ix_supervision_notifications_person", "supervision_notifications", ["person_id", "read_at"])
    op.execute(
        f"INSERT INTO supervision_notifications (item_id, {COLUMNS}) "
        f"SELECT subject_id, {COLUMNS} FROM notifications WHERE subject = 'item' ORDER BY id"
    )
    op.drop_table("notifications_sent_once")
    op.drop_index("ix_notifications_subject", table_name="notifications")
    op.drop_index("ix_notifications_person", table_name="notifications")
    op.drop_table("notifications")

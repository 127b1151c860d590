"""The change log of access: revocations and directory changes, polled by every node.

Revision ID: auth_0001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "auth_0001"
down_revision = "0001"
branch_labels = ("auth",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subjects", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auth_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_auth_changes_created_at", "auth_changes", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_auth_changes_created_at", table_name="auth_changes")
    op.drop_table("auth_changes")

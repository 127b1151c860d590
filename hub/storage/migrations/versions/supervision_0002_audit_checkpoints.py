"""Supervision: signed checkpoints of the audit chain's head.

Revision ID: supervision_0002
Revises: supervision_0001
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "supervision_0002"
down_revision = "supervision_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_audit_checkpoints",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_audit_checkpoints"),
    )
    op.create_index("ix_supervision_audit_checkpoints_seq", "supervision_audit_checkpoints", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_supervision_audit_checkpoints_seq", table_name="supervision_audit_checkpoints")
    op.drop_table("supervision_audit_checkpoints")

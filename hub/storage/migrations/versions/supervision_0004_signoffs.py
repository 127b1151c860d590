"""Handwritten signatures on items' closings (手写签批).

Revision ID: supervision_0004
Revises: supervision_0003
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "supervision_0004"
down_revision = "supervision_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_signoffs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("followup_id", sa.Integer, nullable=False),
        sa.Column("signer_id", sa.String(64), nullable=False),
        sa.Column("signer_name", sa.String(100), nullable=False),
        sa.Column("signed_at", UtcDateTime, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("state_sha256", sa.String(64), nullable=False),
        sa.Column("strokes", sa.JSON, nullable=False),
        sa.Column("image", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_signoffs"),
        sa.ForeignKeyConstraint(["item_id"], ["supervision_items.id"],
                                name="fk_supervision_signoffs_item_id_supervision_items"),
    )
    op.create_index("ix_supervision_signoffs_item_id", "supervision_signoffs", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_supervision_signoffs_item_id", table_name="supervision_signoffs")
    op.drop_table("supervision_signoffs")

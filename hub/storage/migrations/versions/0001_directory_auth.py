"""The unified directory and token revocations.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_units",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("extension", sa.String(20), nullable=True),
        sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_org_units"),
        sa.UniqueConstraint("extension", name="uq_org_units_extension"),
    )
    op.create_index("ix_org_units_parent_id", "org_units", ["parent_id"])
    op.create_table(
        "people",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("org_unit_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(100), nullable=False, server_default=""),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("extension", sa.String(20), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_units.id"], name="fk_people_org_unit_id_org_units"),
        sa.UniqueConstraint("extension", name="uq_people_extension"),
    )
    op.create_index("ix_people_org_unit_id", "people", ["org_unit_id"])
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime, nullable=False),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("jti", name="pk_revoked_tokens"),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("revoked_tokens")
    op.drop_table("people")
    op.drop_table("org_units")

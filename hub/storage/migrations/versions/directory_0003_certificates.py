"""Client certificates bound to people, for certificate sign-in.

Revision ID: directory_0003
Revises: directory_0002
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "directory_0003"
down_revision = "directory_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_certificates",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("bound_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_person_certificates"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_person_certificates_person_id_people"),
    )
    op.create_index("ix_person_certificates_person_id", "person_certificates", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_person_certificates_person_id", table_name="person_certificates")
    op.drop_table("person_certificates")

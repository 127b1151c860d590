"""Handwritten sign-offs of document versions (手写签批).

Revision ID: docs_0002
Revises: docs_0001
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "docs_0002"
down_revision = "docs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "doc_signoffs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("signer_id", sa.String(64), nullable=False),
        sa.Column("signer_name", sa.String(100), nullable=False),
        sa.Column("signer_unit", sa.String(200), nullable=False),
        sa.Column("signed_at", UtcDateTime, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("strokes", sa.JSON, nullable=False),
        sa.Column("image", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_doc_signoffs"),
        sa.ForeignKeyConstraint(["doc_id"], ["documents.id"], name="fk_doc_signoffs_doc_id_documents",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["doc_versions.id"], name="fk_doc_signoffs_version_id_doc_versions",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_doc_signoffs_doc", "doc_signoffs", ["doc_id", "signed_at"])


def downgrade() -> None:
    op.drop_index("ix_doc_signoffs_doc", table_name="doc_signoffs")
    op.drop_table("doc_signoffs")

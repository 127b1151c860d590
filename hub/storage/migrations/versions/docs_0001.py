"""Shared documents: metadata, access grants, named versions, Yjs updates and snapshots.

Revision ID: docs_0001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "docs_0001"
down_revision = "0001"
branch_labels = ("docs",)
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("owner_unit_id", sa.String(64), nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("meeting_id", name="uq_documents_meeting_id"),
    )
    op.create_index("ix_documents_owner_unit_id", "documents", ["owner_unit_id"])
    op.create_index("ix_documents_created_by", "documents", ["created_by"])
    op.create_table(
        "doc_grants",
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(10), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("doc_id", "subject_kind", "subject_id", name="pk_doc_grants"),
        sa.ForeignKeyConstraint(["doc_id"], ["documents.id"], name="fk_doc_grants_doc_id_documents",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_doc_grants_subject", "doc_grants", ["subject_kind", "subject_id"])
    op.create_table(
        "doc_versions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("snapshot", sa.LargeBinary, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_doc_versions"),
        sa.ForeignKeyConstraint(["doc_id"], ["documents.id"], name="fk_doc_versions_doc_id_documents",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_doc_versions_doc_id", "doc_versions", ["doc_id"])
    op.create_table(
        "doc_updates",
        sa.Column("seq", SeqType, nullable=False, autoincrement=True),
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("update", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_doc_updates"),
        # SQLite must never reuse the seq of a deleted (compacted) row: see hub/docs/tables.py.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_doc_updates_doc_id_seq", "doc_updates", ["doc_id", "seq"])
    op.create_table(
        "doc_snapshots",
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.LargeBinary, nullable=False),
        sa.Column("upto_seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("doc_id", name="pk_doc_snapshots"),
    )


def downgrade() -> None:
    op.drop_table("doc_snapshots")
    op.drop_index("ix_doc_updates_doc_id_seq", table_name="doc_updates")
    op.drop_table("doc_updates")
    op.drop_index("ix_doc_versions_doc_id", table_name="doc_versions")
    op.drop_table("doc_versions")
    op.drop_index("ix_doc_grants_subject", table_name="doc_grants")
    op.drop_table("doc_grants")
    op.drop_index("ix_documents_created_by", table_name="documents")
    op.drop_index("ix_documents_owner_unit_id", table_name="documents")
    op.drop_table("documents")

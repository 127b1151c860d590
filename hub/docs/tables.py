"""Every table of shared documents: metadata, access grants, named versions, and the sync layer's updates."""

from __future__ import annotations

import sqlalchemy as sa

from hub.storage.meta import UtcDateTime, metadata

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("owner_unit_id", sa.String(64), nullable=False, index=True),
    # Minutes belong to a meeting; one minutes document per meeting.
    sa.Column("meeting_id", sa.String(64), nullable=True, unique=True),
    sa.Column("created_by", sa.String(64), nullable=True, index=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

doc_grants = sa.Table(
    "doc_grants",
    metadata,
    sa.Column("doc_id", sa.String(64), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("subject_kind", sa.String(10), primary_key=True),
    sa.Column("subject_id", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Index("ix_doc_grants_subject", "subject_kind", "subject_id"),
)

doc_versions = sa.Table(
    "doc_versions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("doc_id", sa.String(64), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("snapshot", sa.LargeBinary, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# Handwritten sign-offs (手写签批) of document versions: the strokes as drawn, the image rendered from them, who
# signed, how they had signed in, and the SHA-256 of exactly what was signed (the version's content).
doc_signoffs = sa.Table(
    "doc_signoffs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("doc_id", sa.String(64), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version_id", sa.String(64), sa.ForeignKey("doc_versions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("signer_id", sa.String(64), nullable=False),
    sa.Column("signer_name", sa.String(100), nullable=False),
    sa.Column("signer_unit", sa.String(200), nullable=False),
    sa.Column("signed_at", UtcDateTime, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("strokes", sa.JSON, nullable=False),
    sa.Column("image", sa.LargeBinary, nullable=False),
    sa.Index("ix_doc_signoffs_doc", "doc_id", "signed_at"),
)

doc_updates = sa.Table(
    "doc_updates",
    metadata,
    # One sequence over all documents: increasing per document too, and safe under concurrent writers.
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("doc_id", sa.String(64), nullable=False),
    sa.Column("update", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_doc_updates_doc_id_seq", "doc_id", "seq"),
    # Without AUTOINCREMENT SQLite reuses the numbers of deleted rows: after a compaction emptied the log,
    # new updates would get seqs at or below the snapshot's upto_seq and be skipped on load.
    sqlite_autoincrement=True,
)

doc_snapshots = sa.Table(
    "doc_snapshots",
    metadata,
    sa.Column("doc_id", sa.String(64), primary_key=True),
    sa.Column("snapshot", sa.LargeBinary, nullable=False),
    sa.Column("upto_seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

"""The notifications of every person, and the keys of news that is sent once (a meeting starting soon)."""

from __future__ import annotations

import sqlalchemy as sa

from hub.storage.meta import UtcDateTime, metadata

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_id", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(16), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("read_at", UtcDateTime, nullable=True),
    sa.Index("ix_notifications_person", "person_id", "read_at"),
    sa.Index("ix_notifications_subject", "subject", "subject_id"),
    sqlite_autoincrement=True,
)

# News sent at most once, whichever node's timer saw it first: the first insert of a key wins.
sent_once = sa.Table(
    "notifications_sent_once",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("sent_at", UtcDateTime, nullable=False),
)

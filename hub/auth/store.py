"""The only place with SQL for authorization: revoked token ids and the change log of access."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.storage.meta import UtcDateTime, metadata

revoked_tokens = sa.Table(
    "revoked_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
    sa.Column("revoked_at", UtcDateTime, nullable=False),
    sa.Column("revoked_by", sa.String(64), nullable=True),
)


async def revoke(conn: AsyncConnection, jti: str, expires_at: datetime, now: datetime, by: str | None) -> bool:
    """Record a revocation; False when the jti was revoked already."""
    exists = (await conn.execute(sa.select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti))).first()
    if exists:
        return False
    await conn.execute(
        sa.insert(revoked_tokens).values(jti=jti, expires_at=expires_at, revoked_at=now, revoked_by=by)
    )
    return True


async def is_revoked(conn: AsyncConnection, jti: str) -> bool:
    row = (await conn.execute(sa.select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti))).first()
    return row is not None


async def forget_expired(conn: AsyncConnection, now: datetime) -> int:
    """Drop revocations of tokens that have expired anyway."""
    result = await conn.execute(sa.delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))
    return result.rowcount


# The change log of access: every revocation and every directory change of people, written in the transaction
# of the change itself. Each hub node polls it (hub/auth/changes.py), so a change made by any process — the CLI,
# another node, with or without Redis — reaches every node's open connections.
auth_changes = sa.Table(
    "auth_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # "revoked": subjects are token ids (jti); "people": subjects are person ids to re-check.
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("subjects", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),
    # SQLite: ids are never reused, even after the newest rows were forgotten.
    sqlite_autoincrement=True,
)

CHANGE_REVOKED = "revoked"
CHANGE_PEOPLE = "people"
# Entries older than this are dropped when a new one is written: nodes read the log every second or two, and a
# node that starts later begins at the newest entry (its connections are all checked when they open).
CHANGE_RETENTION = timedelta(days=1)


async def record_change(conn: AsyncConnection, kind: str, subjects: list[str], now: datetime) -> int:
    """Append a change to the log (in the caller's transaction); its id."""
    if conn.dialect.name == "postgresql":
        # Writers take turns until they commit, so ids become visible in order and a poller that has seen id n
        # never misses a smaller one committed later. Readers are not blocked.
        await conn.execute(sa.text("LOCK TABLE auth_changes IN SHARE ROW EXCLUSIVE MODE"))
    await conn.execute(sa.delete(auth_changes).where(auth_changes.c.created_at < now - CHANGE_RETENTION))
    result = await conn.execute(sa.insert(auth_changes).values(kind=kind, subjects=subjects, created_at=now))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def last_change(conn: AsyncConnection) -> int:
    """The newest change id (0 when the log is empty)."""
    return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(auth_changes.c.id), 0)))).scalar_one())


async def changes_after(conn: AsyncConnection, after: int, limit: int) -> list[tuple[int, str, list[str]]]:
    """The changes newer than `after`, oldest first: (id, kind, subjects)."""
    rows = await conn.execute(
        sa.select(auth_changes.c.id, auth_changes.c.kind, auth_changes.c.subjects)
        .where(auth_changes.c.id > after).order_by(auth_changes.c.id).limit(limit)
    )
    return [(row.id, row.kind, [str(s) for s in row.subjects]) for row in rows]

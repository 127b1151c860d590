"""The only place with SQL for authorization: revoked token ids."""

from __future__ import annotations

from datetime import datetime

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

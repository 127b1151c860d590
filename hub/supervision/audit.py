"""The audit chain: every supervision change appends an event whose hash covers the previous hash and the event.

hash = SHA-256(prev_hash || canonical JSON of {seq, at, actor, item_id, action, data}), hex; the first event's
prev_hash is 64 zeros. Changing, removing or reordering any row breaks the chain at that row. Removing the newest
rows, or recomputing every hash, does not: that is what the signed checkpoints of hub/supervision/anchor.py show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.supervision.tables import audit

GENESIS = "0" * 64
# pg_advisory_xact_lock key serialising appends across hub nodes on PostgreSQL ("SUPV" in ASCII).
LOCK_KEY = 0x53555056


def canonical(event: dict[str, Any]) -> bytes:
    """The one byte form of an event that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(event)).hexdigest()


def _event(seq: int, at: datetime, actor: str | None, item_id: str | None, action: str, data: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "item_id": item_id,
        "action": action,
        "data": data,
    }


async def lock(conn: AsyncConnection) -> None:
    """Serialise appends between nodes (PostgreSQL); SQLite serialises writers itself."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


async def append(
    conn: AsyncConnection, *, at: datetime, actor: str | None, item_id: str | None, action: str, data: dict[str, Any]
) -> int:
    """Append one event in the caller's transaction (which must hold `lock`); returns its seq."""
    last = await head(conn)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    # Round-trip through JSON so the hashed form is exactly what the JSON column gives back.
    data = json.loads(json.dumps(data, ensure_ascii=False, default=str))
    digest = event_hash(prev, _event(seq, at, actor, item_id, action, data))
    await conn.execute(
        sa.insert(audit).values(
            seq=seq, at=at, actor=actor, item_id=item_id, action=action, data=data, prev_hash=prev, hash=digest
        )
    )
    return seq


async def head(conn: AsyncConnection) -> tuple[int, str] | None:
    """The newest event's seq and hash, as stored (None for an empty chain)."""
    last = (await conn.execute(sa.select(audit.c.seq, audit.c.hash).order_by(audit.c.seq.desc()).limit(1))).first()
    return (last.seq, last.hash) if last else None


@dataclass(frozen=True)
class Walk:
    """How far a stretch of the chain holds: its events, its last good event, the first broken one and why."""

    events: int
    last_seq: int
    last_hash: str
    broken_seq: int | None = None
    reason: str | None = None
    # The hashes found at the seqs asked for (checkpoints), among the events that hold.
    hashes: dict[int, str] = field(default_factory=dict)


async def walk(
    conn: AsyncConnection, *, after: int = 0, prev: str = GENESIS, want: Collection[int] = (), batch: int = 5000
) -> Walk:
    """Walk the chain in order from the event after `after` (whose hash is `prev`) to its end or first broken row."""
    expected_seq, count = after + 1, 0
    hashes: dict[int, str] = {}
    while True:
        rows = (
            await conn.execute(
                sa.select(audit).where(audit.c.seq >= expected_seq).order_by(audit.c.seq).limit(batch)
            )
        ).all()
        if not rows:
            return Walk(count, expected_seq - 1, prev, hashes=hashes)
        for row in rows:
            problem = None
            if row.seq != expected_seq:
                problem = expected_seq, f"event {expected_seq} is missing"
            elif row.prev_hash != prev:
                problem = row.seq, "prev_hash does not match the previous event"
            elif event_hash(prev, _event(row.seq, row.at, row.actor, row.item_id, row.action, row.data)) != row.hash:
                problem = row.seq, "the event's content does not match its hash"
            if problem is not None:
                return Walk(count, expected_seq - 1, prev, problem[0], problem[1], hashes)
            if row.seq in want:
                hashes[row.seq] = row.hash
            prev = row.hash
            expected_seq += 1
            count += 1

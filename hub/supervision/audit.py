"""The audit chain: every supervision change appends an event whose hash covers the previous hash and the event.

hash = SHA-256(prev_hash || canonical JSON of {seq, at, actor, item_id, action, data}), hex; the first event's
prev_hash is 64 zeros. Changing, removing or reordering any row breaks the chain at that row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.storage.db import Database
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
) -> str:
    """Append one event in the caller's transaction (which must hold `lock`); returns its hash."""
    last = (
        await conn.execute(sa.select(audit.c.seq, audit.c.hash).order_by(audit.c.seq.desc()).limit(1))
    ).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    # Round-trip through JSON so the hashed form is exactly what the JSON column gives back.
    data = json.loads(json.dumps(data, ensure_ascii=False, default=str))
    digest = event_hash(prev, _event(seq, at, actor, item_id, action, data))
    await conn.execute(
        sa.insert(audit).values(
            seq=seq, at=at, actor=actor, item_id=item_id, action=action, data=data, prev_hash=prev, hash=digest
        )
    )
    return digest


@dataclass(frozen=True)
class Verification:
    intact: bool
    events: int
    broken_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"intact": self.intact, "events": self.events, "first_broken_seq": self.broken_seq,
                "reason": self.reason}


async def verify(db: Database, *, batch: int = 5000) -> Verification:
    """Walk the whole chain in order; report the first row whose link or hash does not hold."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    async with db.connect() as conn:
        while True:
            rows = (
                await conn.execute(
                    sa.select(audit).where(audit.c.seq >= expected_seq).order_by(audit.c.seq).limit(batch)
                )
            ).all()
            if not rows:
                return Verification(True, count)
            for row in rows:
                if row.seq != expected_seq:
                    return Verification(False, count, expected_seq, f"event {expected_seq} is missing")
                if row.prev_hash != prev:
                    return Verification(False, count, row.seq, "prev_hash does not match the previous event")
                digest = event_hash(prev, _event(row.seq, row.at, row.actor, row.item_id, row.action, row.data))
                if digest != row.hash:
                    return Verification(False, count, row.seq, "the event's content does not match its hash")
                prev = row.hash
                expected_seq += 1
                count += 1

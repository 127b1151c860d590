"""Durable storage of Yjs document updates and snapshots (SQLAlchemy 2 async Core; SQLite or PostgreSQL).

The tables are in hub/docs/tables.py and created by the migration docs_0001.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.docs.tables import doc_snapshots, doc_updates


class LoadedDoc(NamedTuple):
    """What is stored for a document: the snapshot, the updates after it (in order), the last seq seen."""

    snapshot: bytes | None
    updates: list[bytes]
    last_seq: int


class DocUpdateStore(Protocol):
    """Where document rooms keep their updates; every method is durable when it returns."""

    async def load(self, doc_id: str) -> LoadedDoc:
        """Return the snapshot and every update stored after it."""
        ...

    async def append_update(self, doc_id: str, update: bytes) -> int:
        """Store one update durably and return its sequence number (increasing per document)."""
        ...

    async def append_updates(self, doc_id: str, updates: list[bytes]) -> list[int]:
        """Store several updates in one transaction (all or none), in order; return their sequence numbers."""
        ...

    async def compact(self, doc_id: str, snapshot: bytes, upto_seq: int) -> None:
        """Replace the updates with seq <= upto_seq by ``snapshot`` (which must contain them all).

        Only the updates committed by then are removed; one committed later with a lower seq stays and loads."""
        ...


class SqlDocUpdateStore:
    """DocUpdateStore on an AsyncEngine (tables ``doc_updates`` and ``doc_snapshots``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, doc_id: str) -> LoadedDoc:
        async with self._engine.connect() as conn:
            # Updates first, then the snapshot: a compaction committing in between deletes only updates
            # that the newer snapshot contains, so at worst an update is read twice (harmless for a CRDT).
            rows = (await conn.execute(
                sa.select(doc_updates.c.seq, doc_updates.c.update)
                .where(doc_updates.c.doc_id == doc_id)
                .order_by(doc_updates.c.seq)
            )).all()
            snap = (await conn.execute(
                sa.select(doc_snapshots.c.snapshot, doc_snapshots.c.upto_seq)
                .where(doc_snapshots.c.doc_id == doc_id)
            )).first()
        upto = snap.upto_seq if snap is not None else 0
        # Every row left is loaded, also one below the snapshot's upto_seq: with several nodes a transaction can
        # take its seq before another node's and commit after that node compacted past it, so the compaction
        # neither saw nor removed it and the snapshot lacks it. A row the snapshot holds too is applied twice:
        # harmless for a CRDT.
        updates = [bytes(r.update) for r in rows]
        last_seq = max([upto, *(r.seq for r in rows)])
        return LoadedDoc(bytes(snap.snapshot) if snap is not None else None, updates, last_seq)

    async def append_update(self, doc_id: str, update: bytes) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                doc_updates.insert()
                .values(doc_id=doc_id, update=update, created_at=datetime.now(UTC))
                .returning(doc_updates.c.seq)
            )
            return int(result.scalar_one())

    async def append_updates(self, doc_id: str, updates: list[bytes]) -> list[int]:
        # One commit for the lot: a commit costs far more than an insert (group commit under load).
        now = datetime.now(UTC)
        seqs = []
        async with self._engine.begin() as conn:
            for update in updates:
                result = await conn.execute(
                    doc_updates.insert()
                    .values(doc_id=doc_id, update=update, created_at=now)
                    .returning(doc_updates.c.seq)
                )
                seqs.append(int(result.scalar_one()))
        return seqs

    async def compact(self, doc_id: str, snapshot: bytes, upto_seq: int) -> None:
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            current = (await conn.execute(
                sa.select(doc_snapshots.c.upto_seq).where(doc_snapshots.c.doc_id == doc_id)
            )).scalar_one_or_none()
            if current is not None and current >= upto_seq:
                return  # an equal or newer snapshot is already stored
            if current is None:
                await conn.execute(doc_snapshots.insert().values(
                    doc_id=doc_id, snapshot=snapshot, upto_seq=upto_seq, updated_at=now))
            else:
                await conn.execute(
                    doc_snapshots.update()
                    .where(doc_snapshots.c.doc_id == doc_id)
                    .values(snapshot=snapshot, upto_seq=upto_seq, updated_at=now))
            await conn.execute(
                doc_updates.delete()
                .where(doc_updates.c.doc_id == doc_id, doc_updates.c.seq <= upto_seq))

"""Anchoring the audit chain: signed checkpoints of its head, written every N events and on a timer, kept in three
places (the database, an append-only file, the log and webhook receivers), and the verification against them.

A checkpoint is only signed for a chain that extends the last one: a chain cut short or recomputed is reported
(in the log) and never signed over.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.settings import SupervisionSettings
from hub.storage.db import Database
from hub.supervision import audit, checkpoints
from hub.supervision.checkpoints import Checkpoint, CheckpointKeys
from hub.ticker import Ticker

if TYPE_CHECKING:
    from hub.supervision.service import SupervisionService

log = logging.getLogger(__name__)

# What `audit verify` reports, worst first.
BROKEN, REWRITTEN, TRUNCATED = "broken", "rewritten", "truncated"
BAD_CHECKPOINT, CHECKPOINT_MISSING = "bad_checkpoint", "checkpoint_missing"
UNANCHORED, INTACT = "unanchored", "intact"


@dataclass(frozen=True)
class Verification:
    status: str
    events: int
    broken_seq: int | None = None
    reason: str | None = None
    # The newest checkpoint whose signature holds (None: there is none).
    checkpoint: Checkpoint | None = None
    checked: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)
    missing_from_database: int = 0

    @property
    def intact(self) -> bool:
        """The chain holds and agrees with every checkpoint (or there is none yet: `unanchored`)."""
        return self.status in (INTACT, UNANCHORED)

    def to_dict(self) -> dict[str, Any]:
        newest = self.checkpoint
        return {
            "intact": self.intact, "status": self.status, "events": self.events,
            "first_broken_seq": self.broken_seq, "reason": self.reason,
            "checkpoint": newest.to_dict() if newest else None,
            "since_checkpoint": self.events - newest.seq if newest and self.intact else None,
            "checkpoints": {"checked": self.checked, "bad": self.bad,
                            "missing_from_database": self.missing_from_database},
        }


async def verify(db: Database, keys: CheckpointKeys, files: Iterable[Path] = ()) -> Verification:
    """Walk the chain and hold it against every checkpoint found in the database and in `files`."""
    found: list[tuple[str, Checkpoint]] = []
    bad: list[dict[str, Any]] = []
    for path in files:
        if path.exists():
            in_file, problems = await asyncio.to_thread(checkpoints.read_file, path)
            found += [(str(path), cp) for cp in in_file]
            bad += [{"source": str(path), "seq": None, "problem": problem} for problem in problems]
    async with db.connect() as conn:
        in_db = await checkpoints.stored(conn)
        valid: dict[str, Checkpoint] = {}
        for source, cp in [("database", cp) for cp in in_db] + found:
            problem = keys.problem(cp)
            if problem is None:
                valid.setdefault(cp.signature, cp)
            else:
                bad.append({"source": source, "seq": cp.seq, "problem": problem})
        walked = await audit.walk(conn, want={cp.seq for cp in valid.values()})
    in_db_signatures = {cp.signature for cp in in_db}
    missing = len({cp.signature for _, cp in found if cp.signature in valid} - in_db_signatures)
    ordered = sorted(valid.values(), key=lambda cp: (cp.seq, cp.at))
    newest = ordered[-1] if ordered else None
    report = partial(Verification, checkpoint=newest, checked=len(valid), bad=bad, missing_from_database=missing)
    if walked.broken_seq is not None:
        return report(BROKEN, walked.events, walked.broken_seq, walked.reason)
    events = walked.last_seq
    agreed = 0
    for cp in ordered:
        if cp.seq > events:
            break
        if walked.hashes.get(cp.seq) != cp.hash:
            return report(
                REWRITTEN, events, cp.seq,
                f"event {cp.seq} does not have the hash signed in the checkpoint of {cp.at.isoformat()}: the chain "
                f"was rewritten and its hashes recomputed, from an event between {agreed + 1} and {cp.seq} on",
            )
        agreed = cp.seq
    if newest is not None and newest.seq > events:
        return report(
            TRUNCATED, events, events + 1,
            f"the chain ends at event {events}, but the checkpoint of {newest.at.isoformat()} covers {newest.seq}: "
            f"events {events + 1} to {newest.seq} were removed",
        )
    if bad:
        return report(BAD_CHECKPOINT, events, None, f"{len(bad)} checkpoint(s) do not verify")
    if missing:
        return report(CHECKPOINT_MISSING, events, None,
                      f"{missing} checkpoint(s) kept outside the database are missing from it")
    return report(INTACT if newest else UNANCHORED, events)


class AuditAnchor:
    """Signs checkpoints of the chain this node writes: after every `audit_checkpoint_every` events, and every
    `audit_checkpoint_interval` seconds when events came since the last one. start() before use, stop() after."""

    def __init__(
        self, service: SupervisionService, keys: CheckpointKeys, settings: SupervisionSettings, file: Path
    ) -> None:
        self.service = service
        self.keys = keys
        self.file = file
        self.every = settings.audit_checkpoint_every
        self._ticker = Ticker("audit-checkpoints", settings.audit_checkpoint_interval, self.tick)
        # The newest checkpoint this node knows of: its own last one, or the file's (the database may lose some).
        self._last: Checkpoint | None = None
        self._known_seq = 0

    async def start(self) -> None:
        if self.file.exists():
            in_file, _ = await asyncio.to_thread(checkpoints.read_file, self.file)
            mine = [cp for cp in in_file if self.keys.problem(cp) is None]
            self._last = max(mine, key=lambda cp: cp.seq, default=None)
        async with self.service.db.connect() as conn:
            newest = self._newer(await checkpoints.newest_stored(conn))
        self._known_seq = newest.seq if newest else 0
        self._ticker.start()

    async def stop(self) -> None:
        await self._ticker.stop()

    async def appended(self, seq: int) -> None:
        """After the commit of event `seq`: a checkpoint when `every` events came since the last one."""
        if seq - self._known_seq >= self.every:
            await self.checkpoint(min_new=self.every)

    async def tick(self) -> Checkpoint | None:
        """The timer's pass: a checkpoint when any event came since the last one."""
        return await self.checkpoint(min_new=1)

    def _newer(self, stored: Checkpoint | None) -> Checkpoint | None:
        # A stored checkpoint only counts when it verifies: a forged row must not move the anchor.
        if stored is not None and self.keys.problem(stored) is not None:
            stored = None
        candidates = [cp for cp in (stored, self._last) if cp is not None]
        return max(candidates, key=lambda cp: cp.seq, default=None)

    async def checkpoint(self, *, min_new: int = 1) -> Checkpoint | None:
        """Sign the chain's head when at least `min_new` events came since the last checkpoint and the chain
        extends it; store it, queue it for the webhooks, then append it to the file and log it."""
        service = self.service
        async with service.transaction() as conn:
            top = await audit.head(conn)
            last = self._newer(await checkpoints.newest_stored(conn))
            last_seq = last.seq if last else 0
            self._known_seq = max(self._known_seq, last_seq)
            if top is None or top[0] - last_seq < min_new:
                if last is not None and (top is None or top[0] < last_seq):
                    log.error("audit chain ends at event %s, before the checkpoint of event %d: not signing",
                              top[0] if top else 0, last_seq)
                return None
            walked = await audit.walk(conn, after=last_seq, prev=last.hash if last else audit.GENESIS)
            if walked.broken_seq is not None or walked.last_seq != top[0]:
                log.error("audit chain does not extend the checkpoint of event %d (event %s: %s): not signing",
                          last_seq, walked.broken_seq, walked.reason)
                return None
            checkpoint = self.keys.sign(seq=top[0], hash=top[1], count=await checkpoints.count_events(conn),
                                        at=service.clock.now())
            await checkpoints.insert(conn, checkpoint)
            await service.webhooks.enqueue_event(conn, "audit.checkpoint", {"checkpoint": checkpoint.to_dict()})
        self._last, self._known_seq = checkpoint, checkpoint.seq
        line = json.dumps(checkpoint.to_dict(), sort_keys=True)
        log.info("audit checkpoint %s", line)
        try:
            await asyncio.to_thread(checkpoints.append_to_file, self.file, checkpoint)
        except OSError:
            log.exception("audit checkpoint of event %d not written to %s", checkpoint.seq, self.file)
        service.webhooks.wake()
        return checkpoint

    async def verify(self) -> Verification:
        """The chain against the checkpoints in the database and this node's checkpoint file."""
        return await verify(self.service.db, self.keys, [self.file])

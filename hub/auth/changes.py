"""Revocations and directory changes made by any process, delivered to this node's open connections.

Two paths lead here. The bus is the fast one: the process that made the change publishes it (with Redis every
node hears it at once; with the in-process bus only that process does). The change log in the database is the
guarantee: every change is written there in its own transaction, and every node polls the log, so a change made
by `cityhub token revoke` or `cityhub directory import` on a hub without Redis still reaches the running hub.
A change may arrive by both paths; listeners act idempotently (closing a closed socket, re-checking a person).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from hub import keys
from hub.auth import store
from hub.auth.service import REVOKED_CHANNEL
from hub.bus.base import Bus, Message, Subscription
from hub.directory.service import CHANGED_CHANNEL
from hub.storage.db import Database
from hub.ticker import Ticker

log = logging.getLogger(__name__)

# At most this many log entries are read per poll; a longer backlog is read on the next polls.
_BATCH = 500


@dataclass(frozen=True)
class AccessChange:
    """Token ids that were revoked, and people whose directory entry changed (to be re-checked)."""

    revoked: tuple[str, ...] = ()
    people: tuple[str, ...] = ()


Listener = Callable[[AccessChange], Awaitable[None]]


class AccessChanges:
    """Follows the bus channels and polls the change log; hands every change to the registered listeners."""

    def __init__(self, db: Database, bus: Bus, interval: float) -> None:
        self.db = db
        self.bus = bus
        self.interval = interval
        self._listeners: list[Listener] = []
        self._last = 0
        self._followers: list[asyncio.Task[None]] = []
        self._deliveries: set[asyncio.Future[None]] = set()
        self._poller = Ticker("access-changes-poll", interval, self._poll_backlog)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every change from now on; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def start(self) -> None:
        """Begin after the newest logged change (connections opened from now on were checked when they opened)."""
        async with self.db.connect() as conn:
            self._last = await store.last_change(conn)
        revoked = await self.bus.subscribe(REVOKED_CHANNEL)
        changed = await self.bus.subscribe(CHANGED_CHANNEL)
        self._followers = [
            asyncio.create_task(self._follow(revoked), name="access-revoked"),
            asyncio.create_task(self._follow(changed), name="access-directory"),
        ]
        self._poller.start()

    async def stop(self) -> None:
        """Stop following and polling; a change being delivered is delivered to the end (listeners read the
        database, and a database call cancelled half-way can leave its connection behind)."""
        for task in self._followers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._followers = []
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        await self._poller.stop()

    async def poll(self) -> int:
        """Read the log once and deliver what is new; how many entries were read."""
        async with self.db.connect() as conn:
            entries = await store.changes_after(conn, self._last, _BATCH)
        if not entries:
            return 0
        self._last = entries[-1][0]
        revoked = [s for _, kind, subjects in entries if kind == store.CHANGE_REVOKED for s in subjects]
        people = [s for _, kind, subjects in entries if kind == store.CHANGE_PEOPLE for s in subjects]
        log.info("access changes %d..%d from the database: %d revoked tokens, %d people",
                 entries[0][0], self._last, len(revoked), len(people))
        await self._deliver(AccessChange(tuple(dict.fromkeys(revoked)), tuple(dict.fromkeys(people))))
        return len(entries)

    async def _poll_backlog(self) -> None:
        try:
            while await self.poll() == _BATCH:
                pass
        except Exception:
            # the database may be away for a moment; the next poll reads from where this one stopped
            log.warning("access changes: polling the change log failed", exc_info=True)

    async def _follow(self, subscription: Subscription) -> None:
        with subscription:
            async for message in subscription:
                delivery = asyncio.ensure_future(self._deliver(_from_bus(subscription.channel, message)))
                self._deliveries.add(delivery)
                delivery.add_done_callback(self._deliveries.discard)
                await asyncio.shield(delivery)

    async def _deliver(self, change: AccessChange) -> None:
        if not change.revoked and not change.people:
            return
        for listener in list(self._listeners):
            try:
                await listener(change)
            except Exception:
                log.exception("access changes: a listener failed")


def _from_bus(channel: str, message: Message) -> AccessChange:
    if channel == REVOKED_CHANNEL:
        return AccessChange(revoked=(str(message.get("jti", "")),) if message.get("jti") else ())
    return AccessChange(people=tuple(str(p) for p in message.get("people", [])))


async def access_changes_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the bus and the database, before signaling and documents, which listen)."""
    changes = AccessChanges(app[keys.DB], app[keys.BUS], app[keys.SETTINGS].jwt.change_poll)
    app[keys.ACCESS_CHANGES] = changes
    await changes.start()
    yield
    await changes.stop()

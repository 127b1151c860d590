"""Notifications: written in the transaction of the change they report (or their own), announced after the commit
on each recipient's bus channel, which every open page of that person follows over /ws."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.bus.base import Bus
from hub.clock import Clock
from hub.errors import NotFound
from hub.notifications import store
from hub.notifications.model import KINDS, Notification, Subject
from hub.storage.db import Database

log = logging.getLogger(__name__)

MAX_PAGE = 200


def channel(person_id: str) -> str:
    """The bus channel of one person's news: `notification` and `notifications.unread` events."""
    return f"notify.{person_id}"


class NotificationService:
    """Every person's notifications: write, announce, list, count, mark read."""

    def __init__(self, db: Database, bus: Bus, clock: Clock) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock

    async def write(self, conn: AsyncConnection, people: Iterable[str], subject: Subject, subject_id: str,
                    kind: str, data: dict[str, Any]) -> list[Notification]:
        """Store one notification per person inside the caller's transaction; announce them after its commit."""
        if kind not in KINDS[subject]:
            raise ValueError(f"no notification kind {kind!r} for a {subject.value}")
        now = self.clock.now()
        rows = [{"person_id": pid, "subject": subject.value, "subject_id": subject_id, "kind": kind, "data": data,
                 "created_at": now} for pid in sorted(set(people))]
        return await store.insert(conn, rows)

    async def announce(self, sent: list[Notification]) -> None:
        """After the commit: each notification to its person's open pages."""
        for notification in sent:
            await self.bus.publish(channel(notification.person_id),
                                   {"event": "notification", "notification": notification.to_dict()})

    async def send(self, people: Iterable[str], subject: Subject, subject_id: str, kind: str,
                   data: dict[str, Any], *, once: str | None = None) -> list[Notification]:
        """Write and announce in a transaction of its own. With `once`, only the first send of that key (by any
        node, ever) goes out: the others send nothing."""
        async with self.db.begin() as conn:
            if once is not None and not await store.claim_once(conn, once, self.clock.now()):
                return []
            sent = await self.write(conn, people, subject, subject_id, kind, data)
        await self.announce(sent)
        if sent:
            log.info("%s %s: %s sent to %d people", subject.value, subject_id, kind, len(sent))
        return sent

    async def retire(self, conn: AsyncConnection, subject: Subject, subject_id: str, kinds: Iterable[str]) -> None:
        """Inside the caller's transaction: everyone's unread news of these kinds about a thing is read."""
        await store.retire(conn, subject, subject_id, tuple(kinds), self.clock.now())

    async def listing(self, person_id: str, *, unread_only: bool = False, subject: Subject | None = None,
                      limit: int = 50, offset: int = 0) -> list[Notification]:
        """A person's notifications, newest first."""
        async with self.db.connect() as conn:
            return await store.of_person(conn, person_id, unread_only=unread_only, subject=subject,
                                         limit=min(limit, MAX_PAGE), offset=offset)

    async def unread_count(self, person_id: str) -> int:
        async with self.db.connect() as conn:
            return await store.unread_count(conn, person_id)

    async def open(self, person_id: str, notification_id: int) -> Notification:
        """One of the person's notifications, marked read (it is being followed)."""
        async with self.db.connect() as conn:
            found = await store.get(conn, person_id, notification_id)
        if found is None:
            raise NotFound("notification_not_found", f"no notification {notification_id}")
        if found.read_at is None:
            await self.mark_read(person_id, notification_id)
        return found

    async def mark_read(self, person_id: str, notification_id: int) -> int:
        """Mark one of the person's notifications read (`notification_not_found` when it is not theirs); the
        unread count after it, which the person's other pages hear too."""
        async with self.db.begin() as conn:
            if not await store.mark_read(conn, person_id, notification_id, self.clock.now()):
                raise NotFound("notification_not_found", f"no notification {notification_id}")
            unread = await store.unread_count(conn, person_id)
        await self._tell_unread(person_id, unread)
        return unread

    async def mark_all_read(self, person_id: str) -> int:
        """Mark all of the person's notifications read; how many were unread."""
        async with self.db.begin() as conn:
            marked = await store.mark_all_read(conn, person_id, self.clock.now())
        await self._tell_unread(person_id, 0)
        return marked

    async def _tell_unread(self, person_id: str, unread: int) -> None:
        await self.bus.publish(channel(person_id), {"event": "notifications.unread", "count": unread})

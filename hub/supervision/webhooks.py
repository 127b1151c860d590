"""Webhooks: item events POSTed as JSON to the configured URLs, signed, retried with backoff, logged.

Deliveries are written to supervision_webhook_deliveries in the same transaction as the change they report (an
outbox), so none is lost to a crash; the sender picks pending ones up at start and whenever woken.

Signature: `X-CityHub-Signature: sha256=<hex HMAC-SHA256(secret, "<X-CityHub-Timestamp>." + body)>`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.clock import Clock
from hub.settings import SupervisionSettings
from hub.storage.db import Database
from hub.supervision.tables import webhook_deliveries

if TYPE_CHECKING:
    from hub.supervision.model import Item

log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED, DROPPED = "pending", "delivered", "failed", "dropped"
# A pending delivery not woken for is looked for again this often (e.g. after the database was briefly down).
SWEEP_SECONDS = 30.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value of a body sent at `timestamp` (seconds since the epoch, as text)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookSender:
    """Owns the HTTP client session and the delivery tasks; start() before use, stop() to cancel and close."""

    def __init__(self, db: Database, clock: Clock, settings: SupervisionSettings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self.attempts: collections.Counter[str] = collections.Counter()  # delivered, retried, failed (for good)

    @property
    def enabled(self) -> bool:
        return bool(self.settings.webhook_urls)

    async def enqueue(
        self, conn: AsyncConnection, event: str, item: Item, actor: str | None, data: dict[str, Any]
    ) -> None:
        """Write one pending delivery of an item event per configured URL, in the caller's transaction."""
        await self.enqueue_event(conn, event, {"actor": actor, "item": item.to_dict(), "data": data}, item.id)

    async def enqueue_event(
        self, conn: AsyncConnection, event: str, fields: dict[str, Any], item_id: str | None = None
    ) -> None:
        """Write one pending delivery per configured URL of the body {id, event, at, **fields}."""
        if not self.enabled:
            return
        now = self.clock.now()
        rows = []
        for url in self.settings.webhook_urls:
            delivery_id = uuid.uuid4().hex
            body = {"id": delivery_id, "event": event, "at": now.isoformat(), **fields}
            rows.append({"id": delivery_id, "url": url, "event": event, "item_id": item_id,
                         "body": json.dumps(body, ensure_ascii=False, sort_keys=True, default=str),
                         "status": PENDING, "attempts": 0, "created_at": now, "updated_at": now})
        await conn.execute(sa.insert(webhook_deliveries), rows)

    def wake(self) -> None:
        """Look for pending deliveries now (called after a commit that enqueued some)."""
        self._wake.set()

    async def start(self) -> None:
        if not self.enabled:
            return
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout))
        self._stopping = False
        self._loop_task = asyncio.create_task(self._run(), name="webhook-sender")

    async def stop(self) -> None:
        held = list(self._in_flight)
        # the sweep under way and the deliveries in flight finish first (up to the delivery timeout): a database
        # call cancelled half-way can leave its connection behind; only what is still running then is cancelled
        self._stopping = True
        self._wake.set()
        tasks = [t for t in (self._loop_task, *self._in_flight.values()) if t is not None]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.settings.webhook_timeout)
            for task in late:
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._in_flight.clear()
        self._loop_task = None
        if held:
            # Hand unfinished deliveries back at once, for the next start (or another node) to take over.
            async with self.db.begin() as conn:
                await conn.execute(
                    sa.update(webhook_deliveries)
                    .where(webhook_deliveries.c.id.in_(held), webhook_deliveries.c.status == PENDING)
                    .values(claimed_until=None)
                )
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._dispatch_pending()
            except Exception:  # noqa: BLE001 - the sender must outlive a failed sweep (e.g. a database hiccup)
                log.exception("webhook sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SWEEP_SECONDS)
            self._wake.clear()

    def _free(self) -> sa.ColumnElement[bool]:
        """Pending and held by no live node."""
        claimed = webhook_deliveries.c.claimed_until
        return sa.and_(
            webhook_deliveries.c.status == PENDING, sa.or_(claimed.is_(None), claimed < self.clock.now())
        )

    def _lease(self, attempts: int) -> datetime:
        backoff = self.settings.webhook_backoff * 2 ** max(0, attempts - 1)
        return self.clock.now() + timedelta(seconds=self.settings.webhook_timeout + backoff + 60)

    async def _claim(self, delivery_id: str, attempts: int) -> bool:
        """Take a delivery for this node; False when another node (or this one) holds it."""
        async with self.db.begin() as conn:
            result = await conn.execute(
                sa.update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery_id, self._free())
                .values(claimed_until=self._lease(attempts))
            )
        return result.rowcount == 1

    async def _dispatch_pending(self) -> None:
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(webhook_deliveries.c.id, webhook_deliveries.c.url, webhook_deliveries.c.attempts)
                    .where(self._free())
                    .order_by(webhook_deliveries.c.created_at)
                    .limit(500)
                )
            ).all()
        for row in rows:
            if row.id in self._in_flight:
                continue
            if row.url not in self.settings.webhook_urls:
                # Only configured URLs are ever called: a URL removed from the settings is not called any more.
                await self._update(row.id, status=DROPPED, last_error="URL no longer configured")
                continue
            if not await self._claim(row.id, row.attempts + 1):
                continue
            task = asyncio.create_task(self._deliver(row.id), name=f"webhook-{row.id}")
            self._in_flight[row.id] = task
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task.get_name().removeprefix("webhook-"), None)

    async def _deliver(self, delivery_id: str) -> None:
        async with self.db.connect() as conn:
            query = sa.select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
            row = (await conn.execute(query)).one()
        body = row.body.encode("utf-8")
        attempts = row.attempts
        while attempts < self.settings.webhook_attempts and not self._stopping:
            if attempts:
                await asyncio.sleep(self.settings.webhook_backoff * 2 ** (attempts - 1))
            attempts += 1
            status, error = await self._post(row.url, row.event, delivery_id, body)
            ok = status is not None and 200 <= status < 300
            final = ok or attempts >= self.settings.webhook_attempts
            await self._update(
                delivery_id, attempts=attempts, last_status=status, last_error=error,
                status=DELIVERED if ok else (FAILED if final else PENDING),
                delivered_at=self.clock.now() if ok else None,
                claimed_until=None if final else self._lease(attempts + 1),
            )
            self.attempts["delivered" if ok else ("failed" if final else "retried")] += 1
            if ok:
                log.info("webhook %s (%s) delivered to %s after %d attempt(s)", delivery_id, row.event, row.url,
                         attempts)
                return
            log.warning("webhook %s to %s: attempt %d failed (%s)", delivery_id, row.url, attempts, error or status)

    async def _post(self, url: str, event: str, delivery_id: str, body: bytes) -> tuple[int | None, str | None]:
        assert self._session is not None
        timestamp = str(int(self.clock.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "CityHub-Webhooks/1",
            "X-CityHub-Event": event,
            "X-CityHub-Delivery": delivery_id,
            "X-CityHub-Timestamp": timestamp,
            "X-CityHub-Signature": sign(self.settings.webhook_secret, timestamp, body),
        }
        try:
            async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                await response.read()
                return response.status, None if response.status < 300 else f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]

    async def _update(self, delivery_id: str, **values: Any) -> None:
        values["updated_at"] = self.clock.now()
        async with self.db.begin() as conn:
            await conn.execute(
                sa.update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(**values)
            )

    async def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        """The delivery log, newest first."""
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(*[c for c in webhook_deliveries.c if c.name != "body"])
                    .order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id)
                    .limit(limit)
                )
            ).all()
        stamps = ("created_at", "updated_at", "delivered_at", "claimed_until")
        return [
            {**dict(row._mapping), **{k: row._mapping[k].isoformat() for k in stamps if row._mapping[k]}}
            for row in rows
        ]

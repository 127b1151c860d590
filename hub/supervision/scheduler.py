"""Reminders before the due date and escalations after it: each threshold fires once per item and due date.

Thresholds fired are rows of supervision_reminders, written in the same transaction as the notification, so a
restart neither repeats nor loses one. When several thresholds have passed since the last look (the hub was down,
or an item was created late), only the latest is sent; the earlier ones are recorded as skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from hub.settings import SupervisionSettings
from hub.supervision import queries, store
from hub.supervision.service import Change, SupervisionService
from hub.ticker import Ticker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Threshold:
    key: str
    # Days relative to the deadline: negative before it (reminders), zero or positive after it (escalations).
    offset_days: int

    @property
    def kind(self) -> str:
        return "reminder" if self.offset_days < 0 else "escalation"


def thresholds_of(settings: SupervisionSettings) -> list[Threshold]:
    """The configured thresholds, earliest first."""
    found = [Threshold(f"remind:{d}", -int(d)) for d in set(settings.reminder_days) if int(d) > 0]
    found += [Threshold(f"escalate:{d}", int(d)) for d in set(settings.escalation_days)]
    return sorted(found, key=lambda t: t.offset_days)


class ReminderScheduler:
    """Looks at open items every `scheduler_interval` seconds of real time, judged by the service's clock."""

    def __init__(self, service: SupervisionService, settings: SupervisionSettings) -> None:
        self.service = service
        self.interval = settings.scheduler_interval
        self.thresholds = thresholds_of(settings)
        self._ticker = Ticker("supervision-reminders", self.interval, self.run_once)

    async def start(self) -> None:
        if self.thresholds:
            self._ticker.start()

    async def stop(self) -> None:
        await self._ticker.stop()

    async def run_once(self) -> int:
        """One look at every open item; returns how many reminders and escalations were sent."""
        if not self.thresholds:
            return 0
        service = self.service
        now = service.clock.now()
        earliest = self.thresholds[0].offset_days
        horizon = service.today() + timedelta(days=max(0, -earliest) + 1)
        async with service.db.connect() as conn:
            candidates = await queries.reminder_candidates(conn, horizon, self.thresholds[-1].key)
        sent = 0
        for candidate in candidates:
            deadline = service.deadline(candidate["due_date"])
            crossed = [t for t in self.thresholds if now >= deadline + timedelta(days=t.offset_days)]
            if crossed and await self._fire(candidate["id"], candidate["due_date"], crossed):
                sent += 1
        if sent:
            log.info("reminder scheduler: %d reminder(s)/escalation(s) sent", sent)
        return sent

    async def _fire(self, item_id: str, due_date: object, crossed: list[Threshold]) -> bool:
        service = self.service
        async with service.transaction() as conn:
            item = await store.get_item(conn, item_id, service.today())
            # The item may have moved on (closed, extended) since the candidates were read.
            if item is None or item.due_date != due_date or item.status.value not in queries.ACTIVE:
                return False
            fired = await queries.fired_thresholds(conn, item.id, item.due_date)
            new = [t for t in crossed if t.key not in fired]
            if not new:
                return False
            send = new[-1]
            now = service.clock.now()
            await queries.record_thresholds(
                conn,
                [{"item_id": item.id, "due_date": item.due_date, "threshold": t.key, "fired_at": now,
                  "skipped": t is not send} for t in new],
            )
            days = abs(send.offset_days)
            data = {"threshold": send.key, "days": days, "due_date": item.due_date.isoformat()}
            await store.insert_followup(
                conn, {"item_id": item.id, "kind": send.kind, "author_id": None, "text": "", "percent": None,
                       "data": data, "at": now},
            )
            change = Change(send.kind, item, None, data)
            await service.record(conn, change, audit_data=data)
        log.info("supervision item %s: %s (%s) sent to %d people", item.id, send.kind, send.key, len(change.sent))
        await service.announce(change)
        return True

"""Reminders before the due date and escalations after it fire once per threshold, also across a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from hub import keys
from hub.clock import ManualClock
from hub.settings import Settings
from tests.supervision.conftest import LEAD, LEAD_COLLEAGUE, SUPERVISOR, SvHub, start_sv


def at_local(day: int, hour: int = 9) -> datetime:
    """A moment in March 2026 in the city (UTC+8)."""
    return datetime(2026, 3, day, hour - 8, 0, tzinfo=UTC) if hour >= 8 else datetime(2026, 3, day - 1, hour + 16,
                                                                                       tzinfo=UTC)


def move(clock: ManualClock, when: datetime) -> None:
    clock.advance((when - clock.now()).total_seconds())


async def kinds_for(sv: SvHub, person: str, *, unread: bool = False) -> list[str]:
    query = "limit=200&unread=true" if unread else "limit=200"
    response = await sv.client.get(f"/api/v1/supervision/notifications?{query}", headers=sv.auth(person))
    notes = (await response.json())["notifications"]
    return sorted(n["kind"] + ":" + str(n["data"].get("threshold", "")) for n in notes
                  if n["kind"] in ("reminder", "escalation"))


async def test_each_threshold_fires_once_and_survives_a_restart(sv: SvHub, aiohttp_client: Any,
                                                                settings: Settings) -> None:
    # Due Thursday 12 March: overdue from Friday 13 March 00:00 in the city.
    scheduler = sv.app[keys.REMINDERS]
    # Passes are driven by hand here; the background loop is tested on its own below.
    await scheduler.stop()
    item_id = (await sv.decide(due_in=10))["item"]["id"]
    await sv.act(item_id, LEAD, "accept")
    events = await sv.app[keys.BUS].subscribe("supervision.items")
    assert await scheduler.run_once() == 0

    move(sv.clock, at_local(9, 23))
    assert await scheduler.run_once() == 0
    move(sv.clock, at_local(10, 1))
    assert await scheduler.run_once() == 1
    assert await scheduler.run_once() == 0
    assert await kinds_for(sv, LEAD) == ["reminder:remind:3"]
    assert await kinds_for(sv, LEAD_COLLEAGUE) == ["reminder:remind:3"]
    assert await kinds_for(sv, SUPERVISOR) == []

    move(sv.clock, at_local(12, 9))
    assert await scheduler.run_once() == 1
    move(sv.clock, at_local(13, 0))
    assert await scheduler.run_once() == 1
    assert await scheduler.run_once() == 0
    assert await kinds_for(sv, SUPERVISOR) == ["escalation:escalate:0"]
    assert await kinds_for(sv, LEAD) == ["escalation:escalate:0", "reminder:remind:1", "reminder:remind:3"]

    bus_events: list[str] = []
    while len(bus_events) < 3:
        message = await asyncio.wait_for(events.get(), 5)
        assert message is not None
        if message["event"] in ("item.reminder", "item.escalation"):
            bus_events.append(message["data"]["threshold"])
    events.close()
    assert bus_events == ["remind:3", "remind:1", "escalate:0"]

    # A restart: a new hub on the same database does not send anything twice.
    await sv.client.close()
    clock = ManualClock(sv.clock.now())
    restarted = await start_sv(aiohttp_client, settings, clock, sv.meetings, sv.minutes)
    sv2 = SvHub(restarted, clock, sv.meetings, sv.minutes)
    scheduler = sv2.app[keys.REMINDERS]
    await scheduler.stop()
    assert await scheduler.run_once() == 0
    # Down for a week: only the latest threshold passed is sent, the one before is recorded as skipped.
    move(clock, at_local(21, 9))
    assert await scheduler.run_once() == 1
    assert await scheduler.run_once() == 0
    assert await kinds_for(sv2, SUPERVISOR) == ["escalation:escalate:0", "escalation:escalate:7"]
    item = await sv2.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv2.auth(LEAD))
    data = await item.json()
    assert data["item"]["overdue"] is True
    assert [f["data"]["threshold"] for f in data["timeline"] if f["kind"] in ("reminder", "escalation")] == [
        "remind:3", "remind:1", "escalate:0", "escalate:7"]


async def test_extension_rearms_and_closing_stops_reminders(sv: SvHub) -> None:
    scheduler = sv.app[keys.REMINDERS]
    await scheduler.stop()
    item_id = (await sv.decide(due_in=1))["item"]["id"]
    # Due tomorrow: less than three days before the deadline (the end of tomorrow), so the 3-day reminder goes.
    assert await scheduler.run_once() == 1
    assert await kinds_for(sv, LEAD) == ["reminder:remind:3"]
    await sv.act(item_id, LEAD, "accept")
    await sv.act(item_id, LEAD, "request_extension", text="需要协调", due_date="2026-03-20")
    await sv.act(item_id, SUPERVISOR, "grant_extension")
    # The new due date (20 March) arms the thresholds again.
    move(sv.clock, at_local(18, 9))
    assert await scheduler.run_once() == 1
    assert await kinds_for(sv, LEAD) == ["reminder:remind:3", "reminder:remind:3"]
    await sv.act(item_id, LEAD, "submit", text="完成")
    move(sv.clock, at_local(28, 9))
    assert await scheduler.run_once() == 0
    assert await kinds_for(sv, SUPERVISOR) == []
    # closed: its reminders no longer ask for anyone's attention (still in the full list, no longer unread)
    assert await kinds_for(sv, LEAD, unread=True) == ["reminder:remind:3", "reminder:remind:3"]
    status, body = await sv.act(item_id, SUPERVISOR, "close", text="验收通过")
    assert status == 200, body
    assert await kinds_for(sv, LEAD, unread=True) == []
    assert await kinds_for(sv, LEAD) == ["reminder:remind:3", "reminder:remind:3"]


@pytest.fixture
def sv_settings(settings: Settings) -> Settings:
    return settings.replace(supervision={"scheduler_interval": 0.05})


async def test_the_background_loop_sends_on_its_own(sv: SvHub) -> None:
    await sv.decide(due_in=5)
    move(sv.clock, at_local(7, 9))
    for _ in range(100):
        if await kinds_for(sv, LEAD):
            break
        await asyncio.sleep(0.05)
    assert await kinds_for(sv, LEAD) == ["reminder:remind:1"]
    await asyncio.sleep(0.3)
    assert await kinds_for(sv, LEAD) == ["reminder:remind:1"]

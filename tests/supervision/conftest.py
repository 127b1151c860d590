"""Supervision fixtures: a hub on a controlled clock, with in-test meetings and minutes behind the seams.

The meetings and documents domains plug into supervision through MeetingGate and MinutesWriter; until they are
wired, these small in-test implementations stand in for them (a dependency seam, not a mock of a database).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub import keys
from hub.app import create_app
from hub.auth.tokens import TokenCodec
from hub.clock import ManualClock
from hub.notifications import tables as notification_tables
from hub.settings import Settings
from hub.supervision import tables
from hub.supervision.model import Decision, Item, MeetingInfo
from tests.browser.conftest import browser  # noqa: F401 - the shared Chromium fixture
from tests.conftest import Hub, _truncate

# 09:00 in the city (UTC+8) on Monday 2 March 2026.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CHAIR, SECRETARY, PARTICIPANT = "gov-01", "gov-office-03", "drc-01"
LEAD, LEAD_UNIT = "pub-util-04", "pub-util"
LEAD_COLLEAGUE = "pub-util-05"
SUPERVISOR = "supervision-01"
OUTSIDER = "edu-01"


class Meetings:
    """An in-test MeetingGate: meetings with their people's roles."""

    def __init__(self) -> None:
        self.meetings: dict[str, MeetingInfo] = {}
        self.roles: dict[tuple[str, str], str] = {}

    def add(self, meeting_id: str, title: str = "市政府常务会议", minutes: str | None = "doc-minutes-1") -> None:
        self.meetings[meeting_id] = MeetingInfo(meeting_id, title, False, minutes, CHAIR)
        self.roles.update({(meeting_id, CHAIR): "chair", (meeting_id, SECRETARY): "secretary",
                           (meeting_id, PARTICIPANT): "participant"})

    def close(self, meeting_id: str) -> None:
        self.meetings[meeting_id] = dataclasses.replace(self.meetings[meeting_id], closed_for_edits=True)

    async def meeting(self, meeting_id: str) -> MeetingInfo | None:
        return self.meetings.get(meeting_id)

    async def role_of(self, meeting_id: str, person_id: str) -> str | None:
        return self.roles.get((meeting_id, person_id))

    async def chair_of(self, meeting_id: str) -> str | None:
        found = self.meetings.get(meeting_id)
        return found.chair_id if found else None


class Minutes:
    """An in-test MinutesWriter: the Decisions section of each minutes document, as lines."""

    def __init__(self) -> None:
        self.sections: dict[str, list[str]] = {}

    async def append_decision(self, meeting: MeetingInfo, decision: Decision, item: Item, lines: list[str]) -> None:
        assert meeting.minutes_doc_id is not None
        self.sections.setdefault(meeting.minutes_doc_id, ["决定事项 Decisions"]).extend(lines)


@dataclass
class SvHub:
    hub: Hub
    clock: ManualClock
    meetings: Meetings
    minutes: Minutes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def client(self) -> TestClient:
        return self.hub.client

    @property
    def app(self) -> web.Application:
        return self.hub.app

    def auth(self, person_id: str) -> dict[str, str]:
        """Headers of a request as this person (a token on the hub's clock, long enough for the clock's moves)."""
        person = self.hub.people[person_id]
        codec = TokenCodec(self.app[keys.SETTINGS], self.clock)
        token, _ = codec.issue(sub=person.id, org=person.org_unit_id, roles=[r.value for r in person.roles],
                               ttl=5 * 365 * 86400)
        return {"Authorization": f"Bearer {token}"}

    def today(self) -> date:
        return self.app[keys.SUPERVISION].today()

    async def decide(self, meeting_id: str = "m1", *, as_person: str = SECRETARY, due_in: int = 10,
                     **changes: Any) -> dict[str, Any]:
        """Record a decision through the API; returns the response body (asserting 201)."""
        body = {"text": "推进老旧小区供热管网改造，年底前完成", "lead_unit": LEAD_UNIT, "responsible": LEAD,
                "coop_units": ["finance", "housing"], "due_date": (self.today() + timedelta(days=due_in)).isoformat(),
                "priority": "high", **changes}
        response = await self.client.post(f"/api/v1/meetings/{meeting_id}/decisions", json=body,
                                          headers=self.auth(as_person))
        data = await response.json()
        assert response.status == 201, data
        return dict(data)

    async def act(self, item_id: str, person: str, action: str, **body: Any) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(f"/api/v1/supervision/items/{item_id}/actions",
                                          json={"action": action, **body}, headers=self.auth(person))
        return response.status, await response.json()


async def start_sv(aiohttp_client: Any, settings: Settings, clock: ManualClock, meetings: Meetings,
                   minutes: Minutes) -> Hub:
    app = create_app(settings, clock=clock)
    app[keys.MEETING_GATE] = meetings
    app[keys.MINUTES_WRITER] = minutes
    client = await aiohttp_client(app)
    hub = Hub(client=client, app=app)
    await hub.load_people()
    return hub


@pytest.fixture
def sv_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture
async def sv(aiohttp_client: Any, sv_settings: Settings) -> AsyncIterator[SvHub]:
    """A hub on a manual clock with meeting m1 (chair gov-01, secretary gov-office-03) and its minutes."""
    clock = ManualClock(START)
    meetings, minutes = Meetings(), Minutes()
    meetings.add("m1")
    hub = await start_sv(aiohttp_client, sv_settings, clock, meetings, minutes)
    yield SvHub(hub, clock, meetings, minutes)
    if hub.app[keys.DB].dialect == "postgresql":
        await _truncate(hub.app)


async def stored_state(sv: SvHub, item_id: str) -> dict[str, Any]:
    """Everything the database holds of an item and of supervision's logs, read straight from the tables: what a
    refused request must leave exactly as it was."""

    def rows(result: Any) -> list[dict[str, Any]]:
        return [dict(row._mapping) for row in result]

    async with sv.app[keys.DB].connect() as conn:
        return {
            "item": rows(await conn.execute(sa.select(tables.items).where(tables.items.c.id == item_id))),
            "followups": rows(await conn.execute(
                sa.select(tables.followups).where(tables.followups.c.item_id == item_id)
                .order_by(tables.followups.c.id))),
            "attachments": rows(await conn.execute(
                sa.select(tables.attachments).where(tables.attachments.c.item_id == item_id)
                .order_by(tables.attachments.c.id))),
            "audit": rows(await conn.execute(sa.select(tables.audit).order_by(tables.audit.c.seq))),
            "notifications": rows(await conn.execute(
                sa.select(notification_tables.notifications).order_by(notification_tables.notifications.c.id))),
            # Which deliveries exist (their attempts move on by themselves, in the sender).
            "webhooks": rows(await conn.execute(
                sa.select(tables.webhook_deliveries.c.id, tables.webhook_deliveries.c.event,
                          tables.webhook_deliveries.c.body).order_by(tables.webhook_deliveries.c.id))),
            "rollup": rows(await conn.execute(
                sa.select(tables.rollup).order_by(tables.rollup.c.unit_id, tables.rollup.c.status))),
        }

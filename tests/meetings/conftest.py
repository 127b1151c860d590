"""Meeting fixtures: a hub, meetings created through the REST API, meeting clients over /ws."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from signaling.client import MeetingClient
from signaling.media_client import MediaClient
from signaling.ws_client import SignalingClient
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.browser import chromium, meeting_bundle  # noqa: F401 - fixtures of the browser tests

CHAIR = "p-xie"


def ws_url(hub: Hub) -> str:
    return str(hub.client.make_url("/ws"))


async def create_meeting(hub: Hub, organizer: str = CHAIR, **fields: Any) -> dict[str, Any]:
    """A meeting scheduled through the API (starting now, an hour long)."""
    now = datetime.now(UTC)
    body = {
        "title": "城市供水保障专题会",
        "chair": organizer,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "invited_units": ["pub-util"],
        "invited_people": [],
        "lobby": True,
        **fields,
    }
    response = await hub.client.post("/api/v1/meetings", json=body, headers=hub.auth(organizer))
    assert response.status == 201, await response.text()
    return dict(await response.json())


@pytest.fixture
async def media_hub(aiohttp_client: Any, tmp_path: Path) -> Hub:
    """A hub on SQLite and the in-process bus, with short media timeouts (media tests need one backend)."""
    settings = make_settings(tmp_path, meetings={"inactivity_timeout": 3.0, "speaker_interval": 0.2})
    return await start_hub(aiohttp_client, settings)


@pytest.fixture
async def signaling(hub: Hub) -> AsyncIterator[Callable[[str], Awaitable[SignalingClient]]]:
    """Open /ws connections as directory people; all closed afterwards."""
    opened: list[SignalingClient] = []

    async def connect(person: str) -> SignalingClient:
        client = SignalingClient(ws_url(hub), token=hub.token(person))
        await client.connect()
        opened.append(client)
        return client

    yield connect
    for client in opened:
        await client.close()


@pytest.fixture
async def meeting_clients() -> AsyncIterator[Callable[..., MeetingClient]]:
    """MeetingClients with synthetic media; all closed afterwards."""
    made: list[MeetingClient] = []

    def make(hub: Hub, person: str, meeting_id: str, **media: Any) -> MeetingClient:
        client = MeetingClient(ws_url(hub), hub.token(person), meeting_id, MediaClient(person, **media))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()

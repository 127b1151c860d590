"""Fixtures for the video phone: a hub with a short ring time, and phone devices on /ws."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from hub import keys
from hub.settings import Settings
from signaling.ws_client import SignalingClient
from tests.browser.conftest import browser, browser_guard, start_live_hub  # noqa: F401 - shared browser fixtures
from tests.calls.browser import bundle, live  # noqa: F401 - the phone page's fixtures
from tests.conftest import Hub, _truncate, start_hub

RING_TIMEOUT = 1.5
RECONNECT_GRACE = 1.0

Phone = Callable[..., Awaitable[SignalingClient]]


@pytest.fixture
async def calls_hub(aiohttp_client: Any, settings: Settings) -> AsyncIterator[Hub]:
    """A hub on the parametrised backend whose calls ring for RING_TIMEOUT seconds."""
    running = await start_hub(aiohttp_client, settings.replace(
        calls={"ring_timeout": RING_TIMEOUT, "reconnect_grace": RECONNECT_GRACE}))
    yield running
    if running.app[keys.DB].dialect == "postgresql":
        await _truncate(running.app)


@pytest.fixture
async def phone(calls_hub: Hub) -> AsyncIterator[Phone]:
    """phone(person, device="browser") -> a registered phone device of that person; all closed afterwards."""
    opened: list[SignalingClient] = []

    async def open_phone(person: str, device: str = "browser", register: bool = True) -> SignalingClient:
        client = SignalingClient(str(calls_hub.client.make_url("/ws")), token=calls_hub.token(person))
        await client.connect()
        opened.append(client)
        if register:
            client.registration = await client.request("call.register", device=device)  # type: ignore[attr-defined]
        return client

    yield open_phone
    for client in opened:
        await client.close()

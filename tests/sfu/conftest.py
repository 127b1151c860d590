"""Real aiortc peers against the SFU, in one process, over loopback host candidates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from signaling.media_client import MediaClient
from signaling.sfu import Sfu, SfuConfig, SfuEvent, SfuPeer
from tests.browser.conftest import browser  # noqa: F401 - the shared Chromium fixture


class Participant:
    """A media client wired to its SfuPeer by direct calls (what the WebSocket layer does in production)."""

    def __init__(self, sfu: Sfu, room_id: str, client: MediaClient) -> None:
        self.sfu = sfu
        self.room_id = room_id
        self.client = client
        self.peer: SfuPeer | None = None
        self.offers_answered = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def _on_offer(self, sdp: str) -> None:
        # like a signaling channel: deliver asynchronously
        task = asyncio.ensure_future(self._answer(sdp))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, sdp: str) -> None:
        if self.client.closed:
            return
        answer = await self.client.handle_offer(sdp)
        assert self.peer is not None
        await self.peer.handle_answer(answer)
        self.offers_answered += 1

    async def join(self) -> Participant:
        self.peer = await self.sfu.join(self.room_id, self.client.name, self._on_offer)
        offer = await self.client.create_offer()
        answer = await self.peer.handle_offer(offer, self.client.sources())
        await self.client.handle_answer(answer)
        return self


async def wait_for(predicate: Callable[[], bool], limit: float = 15.0, what: str = "condition") -> None:
    """Poll `predicate` until true; fail the test with `what` after `limit` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def sfu_events() -> list[SfuEvent]:
    return []


@pytest.fixture
async def sfu(sfu_events: list[SfuEvent]) -> AsyncIterator[Sfu]:
    hub = Sfu(
        SfuConfig(negotiation_timeout=10.0, inactivity_timeout=3.0, speaker_interval=0.2), sfu_events.append
    )
    await hub.start()
    yield hub
    await hub.stop()


@pytest.fixture
async def participants(sfu: Sfu) -> AsyncIterator[Callable[..., Coroutine[Any, Any, Participant]]]:
    created: list[Participant] = []

    async def make(name: str, room_id: str = "room-1", **kwargs: Any) -> Participant:
        participant = Participant(sfu, room_id, MediaClient(name, **kwargs))
        created.append(participant)
        return await participant.join()

    yield make
    for participant in created:
        await participant.client.close()

"""The same bus tests on MemoryBus and on RedisBus (a random key prefix on the shared Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hub.bus import MemoryBus, RedisBus
from hub.bus.base import Bus
from tests.services import REDIS_URL, ThrowawayRedis, redis_available


def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    made: Bus
    if request.param == "memory":
        made = MemoryBus(node_id="n1")
    else:
        redis_available()
        made = RedisBus(REDIS_URL, prefix=prefix(), node_id="n1")
    await made.start()
    assert made.ready
    yield made
    await made.stop()


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def until(predicate: object, what: str, seconds: float = 20) -> None:
    """Wait for a condition the system reaches by itself (reconnects), failing with `what` if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)

"""Redis going away and coming back, on a redis-server of the test's own (never the shared one)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.bus import RedisBus
from hub.errors import Unavailable
from tests.bus.conftest import prefix, until
from tests.conftest import make_settings, start_hub
from tests.services import ThrowawayRedis


async def test_bus_reports_down_then_reconnects_and_delivers(throwaway_redis: ThrowawayRedis) -> None:
    shared = prefix()
    a = RedisBus(throwaway_redis.url, prefix=shared, node_id="a")
    b = RedisBus(throwaway_redis.url, prefix=shared, node_id="b")
    await a.start()
    await b.start()
    try:
        on_b = await b.subscribe("c")
        await a.publish("c", {"n": 1})
        assert await asyncio.wait_for(on_b.get(), 10) == {"n": 1}

        throwaway_redis.stop()
        await until(lambda: not a.ready and not b.ready, "both nodes notice Redis is gone")
        # Redis-backed state refuses clearly; local delivery goes on for the people on this node.
        with pytest.raises(Unavailable) as refused:
            await a.set_key("k", {"v": 1}, ttl=30)
        assert refused.value.status == 503 and refused.value.code == "bus_unavailable"
        with pytest.raises(Unavailable):
            await a.presence_members("room")
        on_a = await a.subscribe("local")
        await a.publish("local", {"still": "here"})
        assert await asyncio.wait_for(on_a.get(), 10) == {"still": "here"}

        throwaway_redis.start()
        await until(lambda: a.ready and b.ready, "both nodes reconnect")
        assert a.reconnects >= 1 and b.reconnects >= 1
        # b's subscription from before the outage was restored; a channel subscribed during it works too.
        await a.publish("c", {"n": 2})
        assert await asyncio.wait_for(on_b.get(), 10) == {"n": 2}
        on_local_b = await b.subscribe("local")
        await a.publish("local", {"after": True})
        assert await asyncio.wait_for(on_local_b.get(), 10) == {"after": True}
        assert await a.set_key("k", {"v": 2}, ttl=30, only_new=True)
        assert await b.get_key("k") == {"v": 2}
    finally:
        await a.stop()
        await b.stop()


async def test_bus_starts_while_redis_is_down(tmp_path: Path) -> None:
    server = ThrowawayRedis(tmp_path)
    bus = RedisBus(server.url, prefix=prefix(), node_id="late")
    await bus.start()
    try:
        assert not bus.ready
        server.start()
        await until(lambda: bus.ready, "the bus connects once Redis starts")
        assert await bus.set_key("k", {"v": 1}, ttl=30)
    finally:
        await bus.stop()
        server.stop()


async def test_readyz_reports_the_bus_down_while_redis_is_away(
    aiohttp_client: Any, tmp_path: Path, throwaway_redis: ThrowawayRedis
) -> None:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, redis_url=throwaway_redis.url))
    ready = await hub.client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["bus"] == "up"
    bus = hub.app[keys.BUS]
    throwaway_redis.stop()
    await until(lambda: not bus.ready, "the hub's bus notices Redis is gone")
    down = await hub.client.get("/readyz")
    body = await down.json()
    assert down.status == 503
    assert body["ready"] is False and body["bus"] == "down" and body["database"] == "up"
    assert (await hub.client.get("/healthz")).status == 200
    throwaway_redis.start()
    await until(lambda: bus.ready, "the hub's bus reconnects")
    back = await hub.client.get("/readyz")
    assert back.status == 200 and (await back.json())["bus"] == "up"


async def test_redis_back_without_its_data_is_noticed_and_the_first_command_works(
    throwaway_redis: ThrowawayRedis,
) -> None:
    shared = prefix()
    a = RedisBus(throwaway_redis.url, prefix=shared, node_id="a")
    b = RedisBus(throwaway_redis.url, prefix=shared, node_id="b")
    seen: list[tuple[str, bool]] = []

    def record(node: str) -> Any:
        async def hook(lost: bool) -> None:
            seen.append((node, lost))
        return hook

    a.on_connect(record("a"))
    b.on_connect(record("b"))
    await a.start()
    await b.start()
    try:
        first = a.epoch
        assert first and b.epoch == first and seen == [("a", False), ("b", False)]
        await a.set_key("k", {"v": 1}, ttl=30)  # a pooled connection from before the restart
        assert not await a.resync()

        throwaway_redis.stop()
        await until(lambda: not a.ready and not b.ready, "both nodes notice Redis is gone")
        throwaway_redis.start()
        # at once, on the old pooled connection: no bus_unavailable, and the key is gone with the data
        assert await a.get_key("k") is None
        await until(lambda: a.ready and b.ready, "both nodes reconnect")
        assert ("a", True) in seen and ("b", True) in seen
        assert a.epoch == b.epoch != first
        assert not await a.resync() and not await b.resync()

        # emptied without a restart (FLUSHALL): nothing reconnects, resync() finds out
        await a.client.flushall()
        assert await b.resync() is True
        assert seen[-1] == ("b", True) and b.epoch != a.epoch
        assert await a.resync() is True and a.epoch == b.epoch
    finally:
        await a.stop()
        await b.stop()


async def test_renewing_the_epoch_runs_the_connect_hooks_only_when_data_was_lost(
    throwaway_redis: ThrowawayRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.bus import redis as redis_bus

    bus = RedisBus(throwaway_redis.url, prefix=prefix(), node_id="renewing")
    runs: list[bool] = []

    async def hook(lost: bool) -> None:
        runs.append(lost)

    bus.on_connect(hook)
    await bus.start()
    try:
        start_epoch, start_runs = bus.epoch, len(runs)
        monkeypatch.setattr(redis_bus, "EPOCH_RENEW", 0.2)
        renewed = bus._epoch_renewed
        await until(lambda: bus._epoch_renewed > renewed + 0.5, "several renewals while connected")
        # the connection stayed up: nothing was missed, the hooks (document catch-up, call sweep pause) stay quiet
        assert len(runs) == start_runs and bus.epoch == start_epoch
        await bus.client.flushall()
        await until(lambda: runs[start_runs:] == [True], "the next renewal notices the lost data")
        assert bus.epoch != start_epoch
    finally:
        await bus.stop()

"""Slowloris: a connection that never finishes its request head is closed after `server.idle_timeout`, while
complete requests and open WebSockets go on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from hub.app import app_runner, create_app
from tests.conftest import make_settings

IDLE = 1.0


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[int]:
    """The hub served the way `cityhub serve` serves it, with a short idle timeout; its port."""
    app = create_app(make_settings(tmp_path, server={"idle_timeout": IDLE}))
    runner = app_runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert runner.addresses
    yield int(runner.addresses[0][1])
    await runner.cleanup()


async def closed_after(reader: asyncio.StreamReader, within: float) -> float:
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), within) == b""  # EOF: the hub hung up
    return time.monotonic() - started


async def test_half_sent_request_heads_are_cut_off(served: int) -> None:
    connections = [await asyncio.open_connection("127.0.0.1", served) for _ in range(50)]
    for index, (_, writer) in enumerate(connections):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" if index % 2 else b"GE")  # and never the rest
        await writer.drain()
    # meanwhile the hub serves everybody else
    async with ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{served}/healthz") as response:
            assert response.status == 200
    waited = await asyncio.gather(*(closed_after(reader, IDLE * 5) for reader, _ in connections))
    assert max(waited) < IDLE * 4
    for _, writer in connections:
        writer.close()


async def test_a_silent_connection_and_one_slow_byte_at_a_time_are_cut_off(served: int) -> None:
    silent, quiet = await asyncio.open_connection("127.0.0.1", served)
    slow_reader, slow = await asyncio.open_connection("127.0.0.1", served)

    async def drip() -> None:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            slow.write(bytes([byte]))
            await asyncio.sleep(IDLE / 4)

    dripping = asyncio.create_task(drip())
    await closed_after(silent, IDLE * 5)
    await closed_after(slow_reader, IDLE * 5)
    dripping.cancel()
    for writer in (quiet, slow):
        writer.close()

"""Changes that only the database knows of (made by another process whose bus reaches no one) still close the
open sockets they concern, on SQLite and PostgreSQL: the change log is the guarantee, the bus only the fast path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from hub import keys
from hub.auth.changes import AccessChange, AccessChanges
from hub.auth.service import AuthService
from hub.bus import MemoryBus
from hub.clock import Clock
from hub.directory.service import DirectoryService
from tests.conftest import Hub
from tests.sockets import close_code

WITHIN = 5.0


@pytest.fixture
async def elsewhere(hub: Hub) -> AsyncIterator[tuple[DirectoryService, AuthService]]:
    """The directory and auth services of another process: same database, an in-process bus of its own."""
    bus = MemoryBus("elsewhere")
    await bus.start()
    clock = Clock()
    directory = DirectoryService(hub.app[keys.DB], bus, clock)
    yield directory, AuthService(hub.app[keys.AUTH].codec, directory, hub.app[keys.DB], bus, clock)
    await bus.stop()


async def signaling(hub: Hub, person: str) -> tuple[aiohttp.ClientWebSocketResponse, str]:
    token, claims = hub.app[keys.AUTH].issue_for(hub.people[person])
    ws = await hub.client.ws_connect("/ws")
    await ws.receive_json(timeout=10)
    await ws.send_json({"id": 1, "type": "auth", "token": token})
    while (message := await ws.receive_json(timeout=10)).get("type") != "result":
        pass
    assert message["success"] is True
    return ws, claims.jti


async def test_revocation_known_only_to_the_database_closes_the_socket(hub: Hub, elsewhere: Any) -> None:
    _, auth = elsewhere
    ws, jti = await signaling(hub, "p-xie")
    assert await auth.revoke(jti, by="elsewhere") is True
    assert await close_code(ws, WITHIN) == 4003


async def test_deactivation_known_only_to_the_database_closes_the_socket(hub: Hub, elsewhere: Any) -> None:
    directory, _ = elsewhere
    ws, _ = await signaling(hub, "p-xie")
    other, _ = await signaling(hub, next(p for p in hub.people if p != "p-xie" and hub.people[p].active))
    await directory.set_active("p-xie", False)
    assert await close_code(ws, WITHIN) == 4003
    await other.send_json({"id": 2, "type": "ping"})
    assert (await other.receive_json(timeout=5))["success"] is True


async def test_the_log_is_read_in_order_from_where_a_node_started(hub: Hub, elsewhere: Any) -> None:
    directory, auth = elsewhere
    await auth.revoke("before-start")
    feed = AccessChanges(hub.app[keys.DB], MemoryBus("reader"), interval=3600)
    await feed.start()
    seen: list[AccessChange] = []

    async def note(change: AccessChange) -> None:
        seen.append(change)

    feed.listen(note)
    try:
        await auth.revoke("j1")
        await directory.set_active("p-xie", False)
        await auth.revoke("j1")  # already revoked: nothing new
        assert await feed.poll() == 2
        assert seen == [AccessChange(revoked=("j1",), people=("p-xie",))]
        assert await feed.poll() == 0
    finally:
        await feed.stop()

"""Two hub nodes on one PostgreSQL and one Redis: a call placed on one node rings and is answered on the other."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from signaling.ws_client import SignalingClient, SignalingError
from tests.conftest import Hub, _truncate, make_settings, start_hub
from tests.services import REDIS_URL, redis_available


@pytest.fixture
async def two_nodes(aiohttp_client: Any, tmp_path: Path, pg_url: str) -> AsyncIterator[tuple[Hub, Hub]]:
    redis_available()
    base = make_settings(tmp_path, pg_url, REDIS_URL, calls={"ring_timeout": 3.0})
    first = await start_hub(aiohttp_client, base.replace(server={"node_id": "node-a"}))
    second = await start_hub(aiohttp_client, base.replace(server={"node_id": "node-b"}))
    yield first, second
    await _truncate(first.app)


async def device(hub: Hub, person: str) -> SignalingClient:
    client = SignalingClient(str(hub.client.make_url("/ws")), token=hub.token(person))
    await client.connect()
    await client.request("call.register")
    return client


async def test_call_across_nodes_rings_answers_relays_and_busy(two_nodes: tuple[Hub, Hub]) -> None:
    node_a, node_b = two_nodes
    caller = await device(node_a, "p-xie")
    tab_on_a = await device(node_a, "gov-office-03")
    tab_on_b = await device(node_b, "gov-office-03")
    other = await device(node_b, "drc-01")
    try:
        devices = await node_b.app[keys.CALLS].devices("gov-office-03")
        assert sorted(v["node"] for v in devices.values()) == ["node-a", "node-b"]
        call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
        await tab_on_a.event("call.incoming")
        await tab_on_b.event("call.incoming")
        await tab_on_b.request("call.answer", call_id=call_id)
        assert (await tab_on_a.event("call.ringing_stopped"))["reason"] == "answered_elsewhere"
        assert (await caller.event("call.answered"))["call"]["answered_by"] == "gov-office-03"
        await caller.request("call.signal", call_id=call_id, description={"type": "offer", "sdp": "v=0"})
        assert (await tab_on_b.event("call.signal"))["description"]["sdp"] == "v=0"
        # the line is taken in the shared database: a call placed on the other node is busy
        busy = await other.request("call.dial", person="gov-office-03")
        assert busy["call"]["outcome"] == "busy"
        with pytest.raises(SignalingError) as late:
            await tab_on_a.request("call.answer", call_id=call_id)
        assert late.value.code == "answered_elsewhere"
        await tab_on_b.request("call.hangup", call_id=call_id)
        assert (await caller.event("call.ended"))["call"]["outcome"] == "answered"
    finally:
        for client in (caller, tab_on_a, tab_on_b, other):
            await client.close()


async def test_ring_timeout_fires_even_when_the_callee_is_on_another_node(two_nodes: tuple[Hub, Hub]) -> None:
    node_a, node_b = two_nodes
    caller = await device(node_a, "p-xie")
    callee = await device(node_b, "gov-office-03")
    try:
        await caller.request("call.dial", person="gov-office-03")
        await callee.event("call.incoming")
        assert (await callee.event("call.ringing_stopped", within=8))["reason"] == "missed"
        assert (await callee.event("call.missed"))["count"] == 1
    finally:
        await caller.close()
        await callee.close()

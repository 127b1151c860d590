"""/ws under abuse: deeply nested JSON is an error reply and the socket stays; an id too large to count is refused
before it is remembered; binary frames count against the rate limit like any other."""

from __future__ import annotations

import asyncio
import json

from signaling.socket import CloseCode
from signaling.ws_client import SignalingClient
from tests.conftest import Hub


async def connect(hub: Hub) -> SignalingClient:
    client = SignalingClient(str(hub.client.make_url("/ws")), token=hub.token("p-xie"))
    await client.connect()
    return client


async def test_deep_json_is_an_error_reply_and_the_socket_stays(hub: Hub) -> None:
    client = await connect(hub)
    try:
        await client.send_raw("[" * 100_000 + "]" * 100_000)
        assert (await client.event("error"))["code"] == "malformed_json"
        await client.send_raw(json.dumps({"id": 1, "type": "ping", "x": json.loads("[" * 40 + "]" * 40)}))
        assert (await client.event("error"))["code"] == "malformed_json"
        assert await client.request("ping") == {} and not client.closed.is_set()
    finally:
        await client.close()


async def test_an_id_too_large_is_not_remembered(hub: Hub) -> None:
    client = await connect(hub)
    try:
        await client.send_raw(json.dumps({"id": 10**23, "type": "ping"}))
        assert (await client.event("error"))["code"] == "invalid_message"
        await client.send_raw(json.dumps({"id": 2**53, "type": "ping"}))
        assert (await client.event("error"))["code"] == "invalid_message"
        await client.send_raw(json.dumps({"id": 5, "type": "ping"}))
        assert (await client.event("raw_result"))["success"] is True  # not "id_reused"
    finally:
        await client.close()


async def test_a_binary_flood_is_cut_off(hub: Hub) -> None:
    client = await connect(hub)
    try:
        for _ in range(2000):
            if client.closed.is_set():
                break
            await client.send_raw(b"\x00" * 16)
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_code == CloseCode.POLICY
    finally:
        await client.close()
    assert (await hub.client.get("/healthz")).status == 200

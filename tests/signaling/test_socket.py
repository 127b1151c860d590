"""The /ws envelope: auth (cookie, token, timeout), Origin, dispatch errors, limits, revocation, shutdown."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hub import keys
from signaling.protocol import event_message
from signaling.session import Session
from signaling.socket import CloseCode
from signaling.ws_client import SignalingClient, SignalingError
from tests.conftest import Hub, make_settings, start_hub


def ws_url(hub: Hub) -> str:
    return str(hub.client.make_url("/ws"))


async def connect(hub: Hub, person: str | None = "p-xie", **kwargs: object) -> SignalingClient:
    client = SignalingClient(ws_url(hub), token=hub.token(person) if person else None, **kwargs)  # type: ignore[arg-type]
    await client.connect()
    return client


async def test_token_auth_then_ping(hub: Hub) -> None:
    client = await connect(hub)
    try:
        assert client.hello["authenticated"] is True
        assert client.hello["me"]["person"]["id"] == "p-xie"
        assert await client.request("ping") == {}
    finally:
        await client.close()


async def test_cookie_auth_at_upgrade(hub: Hub) -> None:
    session = await hub.client.post("/api/v1/auth/session", json={"token": hub.token("p-xie")})
    assert session.status == 200
    cookie = session.cookies["cityhub_session"].value
    client = SignalingClient(ws_url(hub), headers={"Cookie": f"cityhub_session={cookie}"})
    await client.connect()
    try:
        assert client.hello["authenticated"] is True
    finally:
        await client.close()


async def test_requests_before_auth_are_refused(hub: Hub) -> None:
    client = await connect(hub, person=None)
    try:
        assert client.hello["authenticated"] is False
        with pytest.raises(SignalingError) as refused:
            await client.request("meeting.join", meeting_id="x")
        assert refused.value.code == "auth_required"
        assert await client.request("ping") == {}
    finally:
        await client.close()


async def test_bad_token_is_refused_with_its_code(hub: Hub) -> None:
    client = await connect(hub, person=None)
    try:
        with pytest.raises(SignalingError) as refused:
            await client.request("auth", token="not-a-jwt")
        assert refused.value.code == "token_malformed"
    finally:
        await client.close()


async def test_auth_timeout_closes(aiohttp_client: Any, tmp_path: Path) -> None:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, signaling={"auth_timeout": 0.3}))
    client = SignalingClient(ws_url(hub))
    await client.connect()
    try:
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_code == CloseCode.AUTH_FAILED
    finally:
        await client.close()


async def test_foreign_origin_is_refused(hub: Hub) -> None:
    response = await hub.client.get(
        "/ws", headers={"Origin": "http://evil.example", "Upgrade": "websocket", "Connection": "Upgrade",
                        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    )
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "origin_refused"


async def test_same_origin_is_accepted(hub: Hub) -> None:
    origin = f"http://{hub.client.host}:{hub.client.port}"
    client = await connect(hub, headers={"Origin": origin})
    try:
        assert client.hello["authenticated"] is True
    finally:
        await client.close()


async def test_malformed_and_unknown_messages_get_errors_and_the_socket_stays(hub: Hub) -> None:
    client = await connect(hub)
    try:
        await client.send_raw("{nope")
        assert (await client.event("error"))["code"] == "malformed_json"
        await client.send_raw("[1, 2]")
        assert (await client.event("error"))["code"] == "invalid_message"
        await client.send_raw(json.dumps({"type": "ping"}))
        assert (await client.event("error"))["code"] == "invalid_message"
        await client.send_raw(b"\x00\x01")
        assert (await client.event("error"))["code"] == "binary_not_supported"
        with pytest.raises(SignalingError) as unknown:
            await client.request("no.such.type")
        assert unknown.value.code == "unknown_type"
        with pytest.raises(SignalingError) as extra:
            await client.request("ping", surprise=1)
        assert extra.value.code == "invalid_message" and extra.value.data["field"] == "surprise"
        for looks_false in (0, "false"):  # the JSON types the protocol gives, as REST bodies
            with pytest.raises(SignalingError) as vague:
                await client.request("moderator.lock", meeting_id="m-1", locked=looks_false)
            assert vague.value.code == "invalid_message" and vague.value.data["field"] == "locked"
        assert await client.request("ping") == {}
    finally:
        await client.close()


async def test_reused_id_is_refused(hub: Hub) -> None:
    client = await connect(hub)
    try:
        await client.send_raw(json.dumps({"id": 100, "type": "ping"}))
        first = await client.event("raw_result")
        assert first["id"] == 100 and first["success"] is True
        await client.send_raw(json.dumps({"id": 100, "type": "ping"}))
        second = await client.event("raw_result")
        assert second["id"] == 100 and second["error"]["code"] == "id_reused"
        await client.send_raw(json.dumps({"id": 99, "type": "ping"}))
        assert (await client.event("raw_result"))["error"]["code"] == "id_reused"
        await client.send_raw(json.dumps({"id": 101, "type": "ping"}))
        assert (await client.event("raw_result"))["success"] is True
    finally:
        await client.close()


async def test_oversized_frame_closes_with_1009(hub: Hub) -> None:
    client = await connect(hub)
    try:
        await client.send_raw(json.dumps({"id": 1, "type": "ping", "pad": "x" * 300_000}))
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_code == CloseCode.TOO_BIG
    finally:
        await client.close()
    assert (await hub.client.get("/healthz")).status == 200


async def test_flooding_closes_with_policy_violation(hub: Hub) -> None:
    client = await connect(hub)
    try:
        for _ in range(400):
            if client.closed.is_set():
                break
            await client.send_raw(json.dumps({"id": 10_000 + _, "type": "ping"}))
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_code == CloseCode.POLICY
    finally:
        await client.close()


async def test_revoked_token_closes_the_open_socket(hub: Hub) -> None:
    client = await connect(hub)
    try:
        jti = hub.app[keys.SIGNALING].sessions_of("p-xie")[0].principal.jti  # type: ignore[union-attr]
        await hub.app[keys.AUTH].revoke(jti, by="test")
        event = await client.event("session.revoked")
        assert event["reason"] == "token_revoked"
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_code == CloseCode.REVOKED
    finally:
        await client.close()


async def test_deactivated_person_is_disconnected(hub: Hub) -> None:
    client = await connect(hub)
    other = await connect(hub, person="gov-office-03")
    try:
        await hub.app[keys.DIRECTORY].set_active("p-xie", False)
        event = await client.event("session.revoked")
        assert event["reason"] == "person_inactive"
        await asyncio.wait_for(client.closed.wait(), 5)
        assert client.close_code == CloseCode.REVOKED
        assert await other.request("ping") == {}
    finally:
        await client.close()
        await other.close()


def test_held_events_go_out_in_order_when_the_last_hold_ends() -> None:
    sent: list[dict[str, Any]] = []
    socket = type("Socket", (), {"send": lambda self, message: sent.append(message)})()
    session = Session(web.Application(), socket, bus=None, peer="test")  # type: ignore[arg-type]
    session.send_event("a", {})
    session.hold_events()  # a request being handled
    session.send_event("b", {})
    session.hold_events()  # a lobby waiter let in meanwhile
    session.send(event_message("admitted", {}))  # the answer itself is not held
    session.send_event("c", {})
    session.release_events()
    assert [m["event"] for m in sent] == ["a", "admitted"]
    session.release_events()
    assert [m["event"] for m in sent] == ["a", "admitted", "b", "c"]
    session.send_event("d", {})
    assert sent[-1]["event"] == "d"

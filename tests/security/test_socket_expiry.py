"""A socket lives as long as its token: closed at expiry (+ leeway) with the documented code, kept open by an
in-band renewal, and a renewal for someone who lost access is refused and closes it (issue #11, item 3)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from hub import keys
from hub.directory import store as directory_store
from hub.docs.sync_protocol import renewal_message
from hub.settings import Settings
from tests.conftest import Hub, _truncate, start_hub

LEEWAY = 1
PERSON = "p-xie"


@pytest.fixture
async def hub(aiohttp_client: Any, settings: Settings) -> Any:
    """A hub on both backends whose sockets are closed one second after their token's expiry."""
    running = await start_hub(aiohttp_client, settings.replace(jwt={"leeway": LEEWAY}))
    yield running
    if running.app[keys.DB].dialect == "postgresql":
        await _truncate(running.app)


async def signaling(hub: Hub, token: str | None) -> aiohttp.ClientWebSocketResponse:
    """A /ws authenticated with a bearer token, or (None) by the client's session cookie as a browser is."""
    ws = await hub.client.ws_connect("/ws")
    hello = await ws.receive_json(timeout=10)
    assert hello["event"] == "hello" and hello["data"]["authenticated"] is (token is None)
    if token is not None:
        await ws.send_json({"id": 1, "type": "auth", "token": token})
        assert (await reply(ws, 1))["success"] is True
    return ws


async def reply(ws: aiohttp.ClientWebSocketResponse, request_id: int) -> dict[str, Any]:
    """The result of a request (events before it are skipped)."""
    while True:
        message = await ws.receive_json(timeout=10)
        if message.get("type") == "result" and message.get("id") == request_id:
            return dict(message)


async def document_socket(hub: Hub, token: str) -> aiohttp.ClientWebSocketResponse:
    """A /docs/{id}/ws of a new document the token's person created."""
    bearer = {"Authorization": f"Bearer {token}"}
    response = await hub.client.post("/api/v1/docs", json={"title": "议程"}, headers=bearer)
    assert response.status == 201, await response.text()
    doc_id = (await response.json())["id"]
    return await hub.client.ws_connect(f"/docs/{doc_id}/ws", headers=bearer)


async def closed(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> tuple[int | None, list[str]]:
    """Read until the server closes (or `seconds` are up: None); the close code and the /ws events seen."""
    events: list[str] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await ws.receive()
                # the code the server sent, not the client's own (1006 when the server had gone before it replied)
                if message.type == aiohttp.WSMsgType.CLOSE:
                    return int(message.data), events
                if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    return ws.close_code, events
                if message.type == aiohttp.WSMsgType.TEXT and '"event"' in message.data:
                    events.append(message.json().get("event"))
    except TimeoutError:
        return None, events


def ttl_token(hub: Hub, seconds: int) -> tuple[str, float]:
    """A token of PERSON living `seconds`, and when its socket must be closed by (expiry + leeway + slack)."""
    token, claims = hub.app[keys.AUTH].issue_for(hub.people[PERSON], ttl=seconds)
    return token, claims.exp + LEEWAY + 1.5


async def test_ws_is_closed_with_4001_at_expiry_plus_leeway(hub: Hub) -> None:
    token, deadline = ttl_token(hub, 2)
    ws = await signaling(hub, token)
    code, events = await closed(ws, 15)
    assert code == 4001 and "session.expired" in events
    assert time.time() <= deadline, "closed too late"
    # and not before its time: the token was good for 2 s plus the leeway
    assert time.time() >= deadline - 1.5 - 0.5


async def test_ws_renewed_in_band_outlives_its_first_token(hub: Hub) -> None:
    token, deadline = ttl_token(hub, 2)
    ws = await signaling(hub, token)
    fresh, claims = hub.app[keys.AUTH].issue_for(hub.people[PERSON], ttl=60)
    await ws.send_json({"id": 2, "type": "auth.renew", "token": fresh})
    answer = await reply(ws, 2)
    assert answer["success"] is True and answer["result"]["expires_at"] == claims.exp
    await asyncio.sleep(max(0.0, deadline - time.time()) + 0.5)
    await ws.send_json({"id": 3, "type": "ping"})
    assert (await reply(ws, 3))["success"] is True, "the renewed socket must still be open"
    await ws.close()


async def test_ws_renewal_refusals(hub: Hub) -> None:
    token, _ = ttl_token(hub, 60)
    ws = await signaling(hub, token)
    # a token of someone else renews nothing, and the socket stays (it was not the person who lost access)
    other = next(pid for pid, p in hub.people.items() if pid != PERSON and p.active)
    await ws.send_json({"id": 2, "type": "auth.renew", "token": hub.token(other)})
    assert (await reply(ws, 2))["error"]["code"] == "renewal_other_person"
    await ws.send_json({"id": 3, "type": "auth.renew", "token": "not-a-token"})
    assert (await reply(ws, 3))["error"]["code"] == "token_malformed"
    # deactivated in the database behind the node's back (no change announced): the renewal asks the directory
    async with hub.app[keys.DB].begin() as conn:
        await directory_store.set_active(conn, PERSON, False, hub.app[keys.CLOCK].now())
    await ws.send_json({"id": 4, "type": "auth.renew", "token": hub.token(PERSON)})
    assert (await reply(ws, 4))["error"]["code"] == "person_inactive"
    code, events = await closed(ws, 5)
    assert code == 4003 and "session.revoked" in events


async def test_document_socket_is_closed_with_4401_at_expiry_plus_leeway(hub: Hub) -> None:
    token, deadline = ttl_token(hub, 3)
    doc = await document_socket(hub, token)
    code, _ = await closed(doc, 15)
    assert code == 4401 and time.time() <= deadline


async def test_document_socket_renewed_in_band_outlives_its_first_token(hub: Hub) -> None:
    token, deadline = ttl_token(hub, 3)
    doc = await document_socket(hub, token)
    await doc.send_bytes(renewal_message(hub.token(PERSON, ttl=60)))
    code, _ = await closed(doc, max(0.0, deadline - time.time()) + 1)
    assert code is None, "the renewed document socket must still be open"
    await doc.close()


async def test_document_socket_renewal_for_a_deactivated_person_closes_it(hub: Hub) -> None:
    token, _ = ttl_token(hub, 60)
    doc = await document_socket(hub, token)
    async with hub.app[keys.DB].begin() as conn:
        await directory_store.set_active(conn, PERSON, False, hub.app[keys.CLOCK].now())
    await doc.send_bytes(renewal_message(hub.token(PERSON, ttl=60)))
    code, _ = await closed(doc, 5)
    assert code == 4401


async def test_session_renewal_over_rest(hub: Hub) -> None:
    session = await hub.client.post("/api/v1/auth/session", headers=hub.auth(PERSON))
    assert session.status == 200
    renewed = await hub.client.post("/api/v1/auth/session/renew")
    body = await renewed.json()
    assert renewed.status == 200, body
    assert body["person"]["id"] == PERSON and body["expires_at"] > time.time() + 3600
    assert hub.app[keys.SETTINGS].server.cookie_name in renewed.cookies
    # the renewal token renews a socket and opens nothing itself
    as_bearer = await hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['renewal_token']}"})
    assert as_bearer.status == 401 and (await as_bearer.json())["error"]["code"] == "token_kind_refused"
    ws = await signaling(hub, None)
    await ws.send_json({"id": 2, "type": "auth.renew", "token": body["renewal_token"]})
    assert (await reply(ws, 2))["result"]["expires_at"] == body["expires_at"]
    # signing out revokes the renewed session: the socket renewed with it goes too
    assert (await hub.client.delete("/api/v1/auth/session")).status == 200
    code, _ = await closed(ws, 5)
    assert code == 4003
    # an access token is no session to renew; a deactivated person's session is not renewed
    refused = await hub.client.post("/api/v1/auth/session/renew", headers=hub.auth(PERSON))
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "no_session"
    assert (await hub.client.post("/api/v1/auth/session", headers=hub.auth(PERSON))).status == 200
    async with hub.app[keys.DB].begin() as conn:
        await directory_store.set_active(conn, PERSON, False, hub.app[keys.CLOCK].now())
    refused = await hub.client.post("/api/v1/auth/session/renew")
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "person_inactive"

"""Every bad token is refused on every door: REST, the signaling socket /ws and the document socket
/docs/{id}/ws, each with the refusal's own code, and the hub keeps serving (what held when the hub was attacked,
kept holding)."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.auth.conftest import AsymHub, asym_hub  # noqa: F401 - the fixture
from tests.auth.jwtkit import bad_tokens, claims, sign
from tests.meetings.conftest import create_meeting


async def ws_refusal(hub: Any, token: str) -> str:
    """The error code /ws answers an `auth` message carrying this token with."""
    async with hub.client.session.ws_connect(hub.client.make_url("/ws")) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["event"] == "hello" and hello["data"]["authenticated"] is False
        await ws.send_json({"id": 1, "type": "auth", "token": token})
        while True:
            message = await ws.receive_json(timeout=10)
            if message.get("type") == "result":
                assert message["success"] is False
                return str(message["error"]["code"])


async def test_bad_tokens_are_refused_on_rest_ws_and_document_sockets(asym_hub: AsymHub) -> None:  # noqa: F811
    hub = asym_hub.hub
    good = sign(claims(), asym_hub.key.private_pem, asym_hub.algorithm, "k1")
    meeting = await create_meeting(hub)
    doc_url = hub.client.make_url(f"/docs/{meeting['minutes_doc_id']}/ws")
    for name, (token, code) in bad_tokens(asym_hub.key, asym_hub.algorithm, other=asym_hub.other).items():
        bearer = {"Authorization": f"Bearer {token}"}
        response = await hub.client.get("/api/v1/meetings", headers=bearer)
        assert response.status == 401 and (await response.json())["error"]["code"] == code, name
        assert await ws_refusal(hub, token) == code, name
        try:
            async with hub.client.session.ws_connect(doc_url, headers=bearer):
                raise AssertionError(f"{name}: the document socket opened")
        except aiohttp.WSServerHandshakeError as refused:
            assert refused.status == 401, name
    # and the good token still opens every door
    assert (await hub.client.get("/api/v1/meetings", headers={"Authorization": f"Bearer {good}"})).status == 200
    async with hub.client.session.ws_connect(doc_url, headers={"Authorization": f"Bearer {good}"}) as ws:
        assert not ws.closed

"""TURN REST credentials: what coturn (use-auth-secret) accepts, handed out per call, and when they expire."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

from hub.calls.ice import ice_servers, turn_credentials, verify_turn_credentials
from hub.settings import IceSettings
from tests.conftest import Hub, make_settings, start_hub

SECRET = "north-harbour-turn-secret"


def coturn_check(secret: str, username: str, password: str, now: float) -> bool:
    """coturn's own check, written out independently: HMAC-SHA1 over 'expiry:user', base64, expiry not passed."""
    expiry = int(username.split(":", 1)[0])
    expected = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return expiry >= now and hmac.compare_digest(expected, password)


def test_credentials_verify_like_coturn_and_expire() -> None:
    now = 1_800_000_000.0
    username, password = turn_credentials(SECRET, "p-xie", 600, now)
    assert username == "1800000600:p-xie"
    assert coturn_check(SECRET, username, password, now + 599)
    assert verify_turn_credentials(SECRET, username, password, now + 599)
    # expired, another secret, tampered user or expiry: refused
    assert not coturn_check(SECRET, username, password, now + 601)
    assert not verify_turn_credentials(SECRET, username, password, now + 601)
    assert not verify_turn_credentials("other-secret", username, password, now)
    assert not verify_turn_credentials(SECRET, "1800000600:gov-01", password, now)
    assert not verify_turn_credentials(SECRET, "1900000000:p-xie", password, now)
    assert not verify_turn_credentials(SECRET, "p-xie", password, now)


def test_ice_servers_keep_stun_plain_and_give_turn_fresh_credentials() -> None:
    settings = IceSettings(servers=("stun:turn.city.example:3478", "turn:turn.city.example:3478?transport=udp"),
                           turn_secret=SECRET, turn_ttl=300)
    servers = ice_servers(settings, "gov-01", 1_000.0)
    assert servers[0] == {"urls": ["stun:turn.city.example:3478"]}
    assert servers[1]["username"] == "1300:gov-01" and servers[1]["credential"] != SECRET
    # no secret: TURN is left out rather than handed out with a static password
    assert ice_servers(IceSettings(servers=settings.servers), "gov-01", 1_000.0) == [servers[0]]


async def test_each_call_hands_each_side_its_own_credentials(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, ice={"servers": ("turn:127.0.0.1:3478",), "turn_secret": SECRET,
                                            "turn_ttl": 120})
    hub: Hub = await start_hub(aiohttp_client, settings)
    from signaling.ws_client import SignalingClient

    clients = []
    try:
        for person in ("p-xie", "gov-office-03"):
            client = SignalingClient(str(hub.client.make_url("/ws")), token=hub.token(person))
            await client.connect()
            await client.request("call.register")
            clients.append(client)
        caller, callee = clients
        dialled = await caller.request("call.dial", person="gov-office-03")
        await callee.event("call.incoming")
        answered = await callee.request("call.answer", call_id=dialled["call"]["id"])
        mine, theirs = dialled["ice_servers"][0], answered["ice_servers"][0]
        assert mine["username"].endswith(":p-xie") and theirs["username"].endswith(":gov-office-03")
        for server in (mine, theirs):
            assert server["urls"] == ["turn:127.0.0.1:3478"]
            assert coturn_check(SECRET, server["username"], server["credential"], time.time())
            assert not coturn_check(SECRET, server["username"], server["credential"], time.time() + 121)
    finally:
        for client in clients:
            await client.close()



"""Authorization over HTTP: every bad token refused with 401, its own code and a log line; the directory decides."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import ClientResponse

from hub import keys
from hub.auth.service import REVOKED_CHANNEL
from hub.bus import RedisBus
from hub.bus.base import Subscription
from hub.directory.service import CHANGED_CHANNEL
from tests.auth.conftest import AsymHub
from tests.auth.jwtkit import bad_tokens, claims, make_keypair, sign
from tests.conftest import Hub, start_hub

ADMIN = "bigdata-04"
CHAIR = "p-xie"


async def error_of(response: ClientResponse, status: int) -> str:
    body = await response.json()
    assert response.status == status, body
    assert set(body["error"]) >= {"code", "message"}
    return str(body["error"]["code"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def next_message(subscription: Subscription) -> dict[str, object]:
    message = await asyncio.wait_for(subscription.get(), 10)
    assert message is not None
    return message


@asynccontextmanager
async def other_node(hub: Hub) -> AsyncIterator[RedisBus | None]:
    """A second node on the same Redis (None on the in-process bus): proves a message left this node."""
    bus = hub.app[keys.BUS]
    if not isinstance(bus, RedisBus):
        yield None
        return
    other = RedisBus(bus.url, prefix=bus.prefix, node_id=f"other-{uuid.uuid4().hex[:6]}")
    await other.start()
    try:
        yield other
    finally:
        await other.stop()


async def test_every_bad_token_is_refused_with_a_code_and_a_log_line(
    asym_hub: AsymHub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = asym_hub.hub
    cases = bad_tokens(asym_hub.key, asym_hub.algorithm, other=asym_hub.other)
    codes = set()
    for name, (token, code) in cases.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="hub.auth.service"):
            response = await hub.client.get("/api/v1/me", headers=bearer(token))
            assert await error_of(response, 401) == code, name
        refusals = [r for r in caplog.records if r.name == "hub.auth.service" and code in r.getMessage()]
        assert refusals, f"{name}: no log line for {code}"
        codes.add(code)
    assert len(codes) == len(cases) - 1  # the two bad-signature variants share a code
    # The hub keeps serving, and a good token from the same issuer still works.
    good = sign(claims(), asym_hub.key.private_pem, asym_hub.algorithm, "k1")
    me = await hub.client.get("/api/v1/me", headers=bearer(good))
    assert me.status == 200
    metrics = await (await hub.client.get("/metrics")).text()
    assert 'cityhub_auth_refusals_total{code="token_unsigned"} 1.0' in metrics


async def test_deactivated_person_is_refused(asym_hub: AsymHub, caplog: pytest.LogCaptureFixture) -> None:
    hub = asym_hub.hub
    token = sign(claims(), asym_hub.key.private_pem, asym_hub.algorithm, "k1")
    assert (await hub.client.get("/api/v1/me", headers=bearer(token))).status == 200
    await hub.app[keys.DIRECTORY].set_active(CHAIR, False)
    with caplog.at_level(logging.WARNING, logger="hub.auth.service"):
        assert await error_of(await hub.client.get("/api/v1/me", headers=bearer(token)), 401) == "person_inactive"
    assert any("person_inactive" in r.getMessage() for r in caplog.records)


async def test_me_shows_the_person_unit_and_effective_roles(hub: Hub) -> None:
    response = await hub.client.get("/api/v1/me", headers=hub.auth(CHAIR))
    body = await response.json()
    assert response.status == 200
    assert body["person"]["id"] == CHAIR and body["person"]["name"] == "谢继成"
    assert body["org_unit"]["id"] == "pub-util" and body["org_unit"]["name"] == "市公用事业局"
    assert body["roles"] == ["chair", "official"]


async def test_no_credentials_and_bad_header_are_401(hub: Hub) -> None:
    assert await error_of(await hub.client.get("/api/v1/me"), 401) == "authentication_required"
    basic = await hub.client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert await error_of(basic, 401) == "bad_authorization_header"
    empty = await hub.client.get("/api/v1/me", headers={"Authorization": "Bearer "})
    assert await error_of(empty, 401) == "bad_authorization_header"


async def test_role_not_granted_by_the_directory_is_dropped(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    codec = hub.app[keys.AUTH].codec
    # p-xie is an official and a chair; the token also claims admin and supervisor.
    token, _ = codec.issue(sub=CHAIR, org="pub-util", roles=["official", "chair", "admin", "supervisor"])
    with caplog.at_level(logging.WARNING, logger="hub.auth.service"):
        me = await hub.client.get("/api/v1/me", headers=bearer(token))
    assert (await me.json())["roles"] == ["chair", "official"]
    assert any("admin" in r.getMessage() and "dropped" in r.getMessage() for r in caplog.records)
    # Not honoured: the admin-only endpoint refuses.
    refused = await hub.client.post("/api/v1/admin/tokens/revoke", json={"jti": "x" * 32}, headers=bearer(token))
    assert await error_of(refused, 403) == "admin_required"


async def test_a_token_claiming_fewer_roles_gets_fewer(hub: Hub) -> None:
    token, _ = hub.app[keys.AUTH].codec.issue(sub=CHAIR, org="pub-util", roles=["official"])
    assert (await (await hub.client.get("/api/v1/me", headers=bearer(token))).json())["roles"] == ["official"]


async def test_admin_revokes_a_token_on_every_node(hub: Hub) -> None:
    victim, claims_ = hub.app[keys.AUTH].issue_for(hub.people[CHAIR])
    assert (await hub.client.get("/api/v1/me", headers=bearer(victim))).status == 200
    async with other_node(hub) as remote:
        local_sub = await hub.app[keys.BUS].subscribe(REVOKED_CHANNEL)
        remote_sub = await remote.subscribe(REVOKED_CHANNEL) if remote else None
        response = await hub.client.post(
            "/api/v1/admin/tokens/revoke", json={"jti": claims_.jti}, headers=hub.auth(ADMIN)
        )
        assert response.status == 200
        assert await response.json() == {"jti": claims_.jti, "revoked": True, "already": False}
        assert await next_message(local_sub) == {"jti": claims_.jti}
        if remote_sub is not None:
            assert await next_message(remote_sub) == {"jti": claims_.jti}
        local_sub.close()
    refused = await hub.client.get("/api/v1/me", headers=bearer(victim))
    assert await error_of(refused, 401) == "token_revoked"
    again = await hub.client.post("/api/v1/admin/tokens/revoke", json={"jti": claims_.jti}, headers=hub.auth(ADMIN))
    assert (await again.json())["already"] is True


async def test_revoke_is_refused_to_non_admins_and_bad_bodies(hub: Hub) -> None:
    victim, claims_ = hub.app[keys.AUTH].issue_for(hub.people[ADMIN])
    for person in (CHAIR, "supervision-01", "shinan-office-term"):
        response = await hub.client.post(
            "/api/v1/admin/tokens/revoke", json={"jti": claims_.jti}, headers=hub.auth(person)
        )
        assert await error_of(response, 403) == "admin_required", person
    anonymous = await hub.client.post("/api/v1/admin/tokens/revoke", json={"jti": claims_.jti})
    assert await error_of(anonymous, 401) == "authentication_required"
    for body in ({}, {"jti": ""}, {"jti": "x" * 65}, {"jti": 5}):
        response = await hub.client.post("/api/v1/admin/tokens/revoke", json=body, headers=hub.auth(ADMIN))
        assert await error_of(response, 400) == "invalid_body", body
        assert (await response.json())["error"]["field"] == "jti"
    # None of that revoked anything.
    assert (await hub.client.get("/api/v1/me", headers=bearer(victim))).status == 200


def _cookie(response: ClientResponse, name: str) -> str:
    header = next(h for h in response.headers.getall("Set-Cookie") if h.startswith(f"{name}="))
    return header


async def test_session_cookie_exchange_use_and_end(hub: Hub) -> None:
    name = hub.app[keys.SETTINGS].server.cookie_name
    created = await hub.client.post("/api/v1/auth/session", headers=hub.auth(CHAIR))
    assert created.status == 200, await created.text()
    header = _cookie(created, name)
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")}
    assert "httponly" in attributes and attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/"
    value = header.split(";")[0].split("=", 1)[1]
    hub.client.session.cookie_jar.clear()
    cookie = {"Cookie": f"{name}={value}"}
    me = await hub.client.get("/api/v1/me", headers=cookie)
    assert me.status == 200 and (await me.json())["person"]["id"] == CHAIR
    # A session cookie is not exchanged for another one.
    again = await hub.client.post("/api/v1/auth/session", headers=bearer(value))
    assert await error_of(again, 400) == "session_token"
    ended = await hub.client.delete("/api/v1/auth/session", headers=cookie)
    assert ended.status == 200
    assert _cookie(ended, name).startswith(f'{name}=""') or "Max-Age=0" in _cookie(ended, name)
    hub.client.session.cookie_jar.clear()
    assert await error_of(await hub.client.get("/api/v1/me", headers=cookie), 401) == "token_revoked"


async def test_session_from_a_body_token_and_refusals(hub: Hub) -> None:
    created = await hub.client.post("/api/v1/auth/session", json={"token": hub.token("supervision-01")})
    assert created.status == 200 and (await created.json())["person"]["id"] == "supervision-01"
    hub.client.session.cookie_jar.clear()
    bad = await hub.client.post("/api/v1/auth/session", json={"token": "not.a.jwt"})
    assert await error_of(bad, 401) == "token_malformed"
    assert "Set-Cookie" not in bad.headers
    assert await error_of(await hub.client.post("/api/v1/auth/session", json={}), 400) == "invalid_body"
    # Ending a session needs a session: a bearer access token is not one.
    no_session = await hub.client.delete("/api/v1/auth/session", headers=hub.auth(CHAIR))
    assert await error_of(no_session, 401) == "no_session"
    assert await error_of(await hub.client.delete("/api/v1/auth/session"), 401) == "authentication_required"


async def test_directory_change_is_published_and_refuses_the_person(hub: Hub) -> None:
    token = hub.token("pub-util-02")
    async with other_node(hub) as remote:
        local_sub = await hub.app[keys.BUS].subscribe(CHANGED_CHANNEL)
        remote_sub = await remote.subscribe(CHANGED_CHANNEL) if remote else None
        response = await hub.client.put(
            "/api/v1/directory/people/pub-util-02/active", json={"active": False}, headers=hub.auth(ADMIN)
        )
        assert response.status == 200 and (await response.json())["active"] is False
        assert await next_message(local_sub) == {"people": ["pub-util-02"]}
        if remote_sub is not None:
            assert await next_message(remote_sub) == {"people": ["pub-util-02"]}
        local_sub.close()
    assert await error_of(await hub.client.get("/api/v1/me", headers=bearer(token)), 401) == "person_inactive"


async def test_only_admins_change_the_directory(hub: Hub) -> None:
    refused = await hub.client.put(
        "/api/v1/directory/people/pub-util-02/active", json={"active": False}, headers=hub.auth(CHAIR)
    )
    assert await error_of(refused, 403) == "admin_required"
    unknown = await hub.client.put(
        "/api/v1/directory/people/p-nobody/active", json={"active": False}, headers=hub.auth(ADMIN)
    )
    assert await error_of(unknown, 404) == "person_not_found"
    # only true or false: a 0 or "false" is refused, not read as a deactivation
    for looks_false in (0, "false"):
        vague = await hub.client.put(
            "/api/v1/directory/people/pub-util-02/active", json={"active": looks_false}, headers=hub.auth(ADMIN)
        )
        assert await error_of(vague, 400) == "invalid_body"
    assert (await hub.client.get("/api/v1/me", headers=hub.auth("pub-util-02"))).status == 200
    # nor does an admin lock themselves out (Schemathesis, given ids, did)
    themselves = await hub.client.put(
        f"/api/v1/directory/people/{ADMIN}/active", json={"active": False}, headers=hub.auth(ADMIN)
    )
    assert await error_of(themselves, 409) == "cannot_deactivate_self"
    assert (await hub.client.get("/api/v1/me", headers=hub.auth(ADMIN))).status == 200


async def test_key_rotation_over_http(aiohttp_client: object, tmp_path: Path) -> None:
    from tests.conftest import make_settings

    old = make_keypair(tmp_path / "keys", "EdDSA", "2025")
    new = make_keypair(tmp_path / "keys", "EdDSA", "2026")
    settings = make_settings(
        tmp_path, jwt={"algorithm": "EdDSA", "private_key_file": str(new.private_file), "kid": "2026",
                       "public_key_files": (f"2025={old.public_file}",)},
    )
    hub = await start_hub(aiohttp_client, settings)
    from_old = sign(claims(), old.private_pem, "EdDSA", "2025")
    assert (await hub.client.get("/api/v1/me", headers=bearer(from_old))).status == 200
    assert (await hub.client.get("/api/v1/me", headers=hub.auth(CHAIR))).status == 200
    removed = sign(claims(), old.private_pem, "EdDSA", "2024")
    assert await error_of(await hub.client.get("/api/v1/me", headers=bearer(removed)), 401) == "token_unknown_kid"

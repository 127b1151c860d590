"""Cross-site request forgery: a browser sends the session cookie along with requests another site triggers, so
unsafe requests from any origin but the hub's own are refused, whatever they carry (SameSite is not enough: a
sibling subdomain is the same site)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub import keys
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.conftest import create_meeting

EVIL = {"Origin": "https://evil.example"}
SIBLING = {"Origin": "https://evil.city.example"}  # same site as hub.city.example, another origin


async def signed_in(hub: Hub, person: str = "p-xie") -> None:
    assert (await hub.client.post("/api/v1/auth/session", json={"token": hub.token(person)})).status == 200


async def meetings_of(hub: Hub) -> int:
    return len((await (await hub.client.get("/api/v1/meetings?when=all")).json())["items"])


async def test_cookie_requests_from_another_origin_are_refused_and_change_nothing(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    await signed_in(hub)
    before = await meetings_of(hub)
    body = '{"title": "伪造", "chair": "p-xie", "starts_at": "2031-01-01T09:00:00+08:00", ' \
           '"ends_at": "2031-01-01T10:00:00+08:00"}'
    for headers in (EVIL, SIBLING, {"Origin": "null"}, {"Referer": "https://evil.example/page"}):
        response = await hub.client.post("/api/v1/meetings", data=body,
                                         headers={**headers, "Content-Type": "text/plain"})
        assert response.status == 403, headers
        assert (await response.json())["error"]["code"] == "origin_refused"
        response = await hub.client.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "改"}, headers=headers)
        assert response.status == 403
        assert (await hub.client.post("/logout", headers=headers, allow_redirects=False)).status == 403
    assert await meetings_of(hub) == before
    assert (await (await hub.client.get(f"/api/v1/meetings/{meeting['id']}")).json())["title"] == meeting["title"]
    # the session outlived the forged sign-out
    assert (await hub.client.get("/api/v1/meetings")).status == 200


async def test_login_csrf_is_refused(hub: Hub) -> None:
    for path, form in (("/login", {"person": "p-xie"}), ("/auth/handoff", {"token": hub.token("p-xie")})):
        response = await hub.client.post(path, data=form, headers=EVIL, allow_redirects=False)
        assert response.status == 403, path
        assert not hub.client.session.cookie_jar.filter_cookies(hub.client.make_url("/"))


async def test_the_hubs_own_pages_and_token_clients_go_through(hub: Hub) -> None:
    own = {"Origin": str(hub.client.make_url("/")).rstrip("/")}
    response = await hub.client.post("/login", data={"person": "p-xie"}, headers=own, allow_redirects=False)
    assert response.status == 303
    meeting = await create_meeting(hub)  # a bearer token and no Origin: a script or the CLI
    response = await hub.client.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "改"}, headers=own)
    assert response.status == 200
    referer = {"Referer": str(hub.client.make_url(f"/meetings/{meeting['id']}"))}
    assert (await hub.client.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "再改"},
                                   headers=referer)).status == 200


async def test_the_city_portal_may_hand_off(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, server={"public_url": "https://hub.city.example",
                                               "allowed_origins": ("https://portal.city.example",)})
    hub = await start_hub(aiohttp_client, settings)
    form = {"token": hub.token("p-xie"), "next": "/meetings"}
    portal = await hub.client.post("/auth/handoff", data=form, headers={"Origin": "https://portal.city.example"},
                                   allow_redirects=False)
    assert portal.status == 303 and portal.headers["Location"] == "/meetings"
    public = await hub.client.post("/auth/handoff", data=form, headers={"Origin": "https://hub.city.example"},
                                   allow_redirects=False)
    assert public.status == 303
    sibling = await hub.client.post("/auth/handoff", data=form, headers=SIBLING, allow_redirects=False)
    assert sibling.status == 403
    assert hub.app[keys.SETTINGS].server.allowed_origins == ("https://portal.city.example",)

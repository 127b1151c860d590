"""No open redirect: every endpoint that takes `next` follows only paths of this site.

The payloads are the known tricks (protocol-relative, backslashes, tabs and newlines browsers strip, encoded
forms, `javascript:`, userinfo, invisible characters); each is checked the way a browser would read the Location
it produces: tabs and newlines removed, leading controls and spaces stripped, backslashes read as slashes.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest

from tests.conftest import Hub

ORIGIN = "http://hub.city.example"

PAYLOADS = [
    "//evil.example", "///evil.example", "////evil.example", "https://evil.example", "http:evil.example",
    "https:/evil.example", "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "https:\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "\t//evil.example", " //evil.example",
    "\x00//evil.example", "/\x0b/evil.example", "/%09/evil.example", "/%0a/evil.example", "/%5cevil.example",
    "%2f%2fevil.example", "//%09/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", "http://hub.city.example@evil.example", "//evil.example\\@hub",
    "//evil.example/%2e%2e", "ftp://evil.example", "//evil。example", "/\u3000/evil.example",
    "/\u200b/evil.example", "/\u2028/evil.example", "\u202e//evil.example", "/ \t//evil.example",
    "//evil.example:443/x?y#z",
]
GOOD = {
    "/directory?q=x&page=2": "/directory?q=x&page=2",
    "/meetings/0123456789abcdef#chat": "/meetings/0123456789abcdef#chat",
    "/docs/会议纪要": "/docs/%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81",
    "/@evil.example": "/@evil.example",  # a path on this site, however it reads
}


def browser_target(location: str) -> str:
    """Where a browser goes for this Location, resolved against the hub's origin (WHATWG URL parsing)."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                                          "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b"
                                                          "\x1c\x1d\x1e\x1f ")
    return urljoin(ORIGIN + "/", cleaned.replace("\\", "/"))


def assert_same_site(location: str, payload: str) -> None:
    target = urlsplit(browser_target(location))
    assert (target.scheme, target.netloc) == ("http", "hub.city.example"), (payload, location)
    assert location.startswith("/") and not location.startswith("//"), (payload, location)


@pytest.fixture
def origin() -> dict[str, str]:
    return {"Origin": ORIGIN}


async def test_the_language_switch_follows_only_this_sites_paths(hub: Hub) -> None:
    for payload in PAYLOADS:
        response = await hub.client.get(f"/lang/en?next={quote(payload, safe='')}", allow_redirects=False)
        assert response.status == 303
        assert_same_site(response.headers["Location"], payload)
    for given, kept in GOOD.items():
        response = await hub.client.get(f"/lang/en?next={quote(given, safe='')}", allow_redirects=False)
        assert response.headers["Location"] == kept


async def test_sign_in_and_the_portal_handoff_follow_only_this_sites_paths(hub: Hub) -> None:
    headers = {"Origin": str(hub.client.make_url("/")).rstrip("/")}
    for payload in [*PAYLOADS, *GOOD]:
        for path, form in (("/login", {"person": "p-xie"}), ("/auth/handoff", {"token": hub.token("p-xie")})):
            response = await hub.client.post(path, data={**form, "next": payload}, headers=headers,
                                             allow_redirects=False)
            assert response.status == 303, (path, payload, await response.text())
            location = response.headers["Location"]
            assert_same_site(location, payload)
            if payload in GOOD:
                assert location == GOOD[payload]


async def test_the_sign_in_pages_carry_only_this_sites_paths(hub: Hub) -> None:
    for payload in PAYLOADS:
        query = f"next={quote(payload, safe='')}"
        # /signin sends a demo hub's visitors on to /login, with `next` cleaned
        response = await hub.client.get(f"/signin?{query}", allow_redirects=False)
        assert response.status == 302
        assert_same_site(parse_qs(urlsplit(response.headers["Location"]).query)["next"][0], payload)
        # /login keeps it in its form
        page = await (await hub.client.get(f"/login?{query}")).text()
        kept = re.search(r'name="next" value="([^"]*)"', page)
        assert kept is not None, payload
        assert_same_site(html.unescape(kept[1]), payload)

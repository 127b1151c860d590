"""The phone page in headless Chromium, on the shared browser fixtures (tests/browser/conftest.py).

`live.phone("p-xie")` is a signed-in tab on /phone, registered on the hub as a phone device; `live.open(person,
path)` a signed-in tab on any page; every tab only reaches the hub (outside requests and console errors fail the
test at teardown).
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page

from hub import keys
from signaling.ws_client import SignalingClient
from tests.browser.conftest import BrowserGuard, LiveHub, StartLiveHub, new_context
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "static" / "dist"
SHOTS = ROOT / "test-artifacts" / "phone"
# Long enough to click through a test, short enough that nothing waits long for a missed call.
RING_TIMEOUT = 6.0


@dataclass
class PhoneHub:
    """A live hub and the tabs opened on it."""

    hub: LiveHub
    browser: Browser
    guard: BrowserGuard
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    clients: list[SignalingClient] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.hub.url

    async def token(self, person_id: str) -> str:
        person = await self.hub.app[keys.DIRECTORY].person(person_id)
        return self.hub.app[keys.AUTH].issue_for(person)[0]

    async def open(self, person_id: str, path: str, *, locale: str = "zh_CN", width: int = 1280,
                   context: BrowserContext | None = None) -> Page:
        """A signed-in tab on a page (a new context, unless given, is a new person's cookies)."""
        if context is None:
            context = await new_context(self.browser, self.hub, self.guard, locale=locale.replace("_", "-"),
                                        width=width, height=860 if width > 600 else 800)
            self.contexts.append(context)
            await sign_in(context, self.url, await self.token(person_id))
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{person_id}: {exc}"))
        await page.goto(f"{self.url}{path}")
        return page

    async def phone(self, person_id: str, *, locale: str = "zh_CN", width: int = 1280,
                    context: BrowserContext | None = None) -> Page:
        """A signed-in tab on /phone, registered as a phone device."""
        page = await self.open(person_id, "/phone", locale=locale, width=width, context=context)
        await page.wait_for_function(PHONE_REGISTERED)
        return page

    async def client(self, person_id: str) -> SignalingClient:
        """A /ws client of a person outside any browser (closed after the test)."""
        client = SignalingClient(self.url.replace("http", "ws", 1) + "/ws", token=await self.token(person_id))
        await client.connect()
        self.clients.append(client)
        return client

    async def meeting(self, chair: str, *people: str) -> str:
        """A meeting starting now, without a lobby, with these people invited; its id."""
        now = datetime.now(UTC)
        body = {"title": "防汛工作碰头会", "chair": chair, "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(), "invited_people": list(people), "lobby": False}
        async with aiohttp.ClientSession() as http:
            response = await http.post(f"{self.url}/api/v1/meetings", json=body,
                                       headers={"Authorization": f"Bearer {await self.token(chair)}"})
            assert response.status == 201, await response.text()
            return str((await response.json())["id"])


async def dial_extension(page: Page, extension: str) -> None:
    """Dial an extension on the phone page's pad."""
    await page.fill("[data-test=dial-number]", extension)
    await page.click("[data-test=dial-call]")


PHONE_REGISTERED = "() => window.cityhubPhone && window.cityhubPhone.deviceId"


async def sign_in(context: BrowserContext, url: str, token: str) -> None:
    """Give a browser context the session cookie of the hub at ``url`` for a token (as the login page does)."""
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{url}/api/v1/auth/session", json={"token": token})
        assert response.status == 200, await response.text()
        cookie = response.cookies["cityhub_session"].value
    await context.add_cookies([{"name": "cityhub_session", "value": cookie, "url": url}])


async def open_phone(context: BrowserContext, url: str, person_id: str, errors: list[str]) -> Page:
    """A new tab on /phone of the hub at ``url``, once it is registered as a phone device; page errors go to errors."""
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{person_id}: {exc}"))
    await page.goto(f"{url}/phone")
    await page.wait_for_function(PHONE_REGISTERED)
    return page


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The built phone bundle; built here when node_modules is there but dist/ is not."""
    if not (DIST / "phone.js").exists() and (ROOT / "node_modules").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True, capture_output=True, timeout=120)
    if not (DIST / "phone.js").exists():
        pytest.fail("web/static/dist/phone.js is missing: run `npm ci && npm run build`")
    return DIST


@pytest.fixture
async def live(start_live_hub: StartLiveHub, browser: Browser, browser_guard: BrowserGuard, tmp_path: Path,
               bundle: Path) -> AsyncIterator[PhoneHub]:
    """A live hub (SQLite, in-process bus) whose calls ring for RING_TIMEOUT seconds."""
    hub = await start_live_hub(make_settings(tmp_path / "phone", calls={"ring_timeout": RING_TIMEOUT}))
    phones = PhoneHub(hub, browser, browser_guard)
    yield phones
    for client in phones.clients:
        await client.close()
    for context in phones.contexts:
        await context.close()
    assert not browser_guard.outside, f"requests outside the hub: {browser_guard.outside}"
    assert not phones.errors, phones.errors


async def frames_decoded(page: Page) -> int:
    """Video frames this tab decoded from the other end of its current call."""
    return int(await page.evaluate(
        "async () => { const c = window.cityhubPhone.call; return c && c.peer ? await c.peer.framesDecoded() : 0 }"))


async def wait_frames(page: Page, at_least: int = 5, within_ms: int = 30_000) -> None:
    """Until the tab decoded some video frames of the other end (and the video element has their size)."""
    await page.wait_for_function(
        """async (n) => { const c = window.cityhubPhone.call
           if (!c || !c.peer) return false
           const v = document.querySelector('[data-test=remote-video]')
           return (await c.peer.framesDecoded()) >= n && v.videoWidth > 0 }""",
        arg=at_least, timeout=within_ms, polling=250)


async def shot(page: Page, name: str) -> None:
    """A screenshot for a human to look at (test-artifacts/ is git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))

"""Headless Chromium against a hub on a real port, for the phone page: sign people in, open /phone, read state."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from hub import keys
from hub.app import create_app
from hub.settings import Settings
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "static" / "dist"
SHOTS = ROOT / "test-artifacts" / "phone"
# Long enough to click through a test, short enough that the missed-call test does not wait long.
RING_TIMEOUT = 6.0
CHROMIUM_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 "--disable-background-networking", "--disable-quic", "--no-sandbox",
                 "--autoplay-policy=no-user-gesture-required"]


@dataclass
class LiveHub:
    url: str
    app: web.Application
    pages: list[Page] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def token(self, person_id: str) -> str:
        person = await self.app[keys.DIRECTORY].person(person_id)
        return self.app[keys.AUTH].issue_for(person)[0]

    async def phone(self, browser: Browser, person_id: str, *, locale: str = "zh_CN", width: int = 1280,
                    context: BrowserContext | None = None) -> Page:
        """A signed-in tab on /phone, registered on the hub (a new context = a new person's cookies)."""
        if context is None:
            context = await browser.new_context(viewport={"width": width, "height": 860 if width > 600 else 800})
            async with aiohttp.ClientSession() as http:
                response = await http.post(f"{self.url}/api/v1/auth/session",
                                           json={"token": await self.token(person_id)})
                assert response.status == 200, await response.text()
                cookie = response.cookies["cityhub_session"].value
            await context.add_cookies([
                {"name": "cityhub_session", "value": cookie, "url": self.url},
                {"name": "cityhub_lang", "value": locale, "url": self.url},
            ])
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{person_id}: {exc}"))
        await page.goto(f"{self.url}/phone")
        await page.wait_for_function("() => window.cityhubPhone && window.cityhubPhone.deviceId")
        self.pages.append(page)
        return page


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The built phone bundle; built here when node_modules is there but dist/ is not."""
    if not (DIST / "phone.js").exists() and (ROOT / "node_modules").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True, capture_output=True)
    if not (DIST / "phone.js").exists():
        pytest.fail("web/static/dist/phone.js is missing: run `npm ci && npm run build`")
    return DIST


async def start_live_hub(settings: Settings) -> tuple[LiveHub, web.AppRunner]:
    """A hub serving on 127.0.0.1 at a free port (bound first, so public_url names the real port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    app = create_app(settings.replace(server={"public_url": url, "port": port}))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return LiveHub(url=url, app=app), runner


@pytest.fixture
async def live(tmp_path: Path, bundle: Path) -> AsyncIterator[LiveHub]:
    """A live hub (SQLite, in-process bus) whose calls ring for RING_TIMEOUT seconds."""
    hub, runner = await start_live_hub(make_settings(tmp_path, calls={"ring_timeout": RING_TIMEOUT}))
    yield hub
    for page in hub.pages:
        if not page.is_closed():
            await page.context.close()
    await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def frames_decoded(page: Page) -> int:
    """Video frames this tab decoded from the other end of its current call."""
    return int(await page.evaluate(
        "async () => { const c = window.cityhubPhone.call; return c && c.peer ? await c.peer.framesDecoded() : 0 }"))


async def wait_frames(page: Page, at_least: int = 5, within_ms: int = 20_000) -> None:
    """Until the tab decoded some video frames of the other end (and the video element shows them)."""
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

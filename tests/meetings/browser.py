"""Meeting tests in the browser: one Chromium (tests/browser/chromium.py) that plays media without a click, one
context (cookie) per person, each with a fake camera and microphone."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser.chromium import launched
from tests.conftest import Hub

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "static" / "dist"

# Frames decoded by each remote tile on screen that carries a video (gallery tiles without one do not count).
REMOTE_FRAMES = """() => [...document.querySelectorAll('.tile:not(.local):not([hidden]) video')]
  .filter((v) => v.srcObject && v.srcObject.getVideoTracks().length)
  .map((v) => v.getVideoPlaybackQuality().totalVideoFrames)"""


@pytest.fixture(scope="session")
def meeting_bundle() -> Path:
    """The built meeting bundle; built here when node_modules is installed but dist/ is missing."""
    if not (DIST / "meeting.js").exists() and (ROOT / "node_modules").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True, capture_output=True)
    if not (DIST / "meeting.js").exists():
        pytest.fail("web/static/dist/meeting.js is missing: run `npm ci && npm run build`")
    return DIST


@pytest.fixture
async def chromium(meeting_bundle: Path) -> AsyncIterator[Browser]:
    async with launched("--autoplay-policy=no-user-gesture-required") as browser:
        yield browser


class People:
    """Browser pages signed in as directory people; every page's script errors are collected."""

    def __init__(self, browser: Browser, hub: Hub) -> None:
        self.browser = browser
        self.hub = hub
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def url(self, path: str) -> str:
        return str(self.hub.client.make_url(path))

    async def page(self, person: str, path: str, *, locale: str = "zh_CN", width: int = 1280,
                   height: int = 800) -> Page:
        context = await self.browser.new_context(viewport={"width": width, "height": height})
        self.contexts.append(context)
        await context.add_cookies([{"name": "cityhub_lang", "value": locale, "url": self.url("/")}])
        response = await context.request.post(self.url("/api/v1/auth/session"), data={"token": self.hub.token(person)})
        assert response.ok, await response.text()
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{person}: {exc}"))
        page.on("dialog", lambda dialog: dialog.accept())
        await page.goto(self.url(path))
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@contextlib.asynccontextmanager
async def people_on(browser: Browser, hub: Hub) -> AsyncIterator[People]:
    """People on a hub for one test; closed afterwards, and no page may have thrown a script error."""
    crowd = People(browser, hub)
    yield crowd
    await crowd.close()
    assert crowd.errors == []


async def join(page: Page) -> None:
    """Click the one big Join button and wait to be in."""
    await page.wait_for_selector('[data-test="join"]:not([disabled])')
    await page.click('[data-test="join"]')
    await page.wait_for_selector('.meeting[data-phase="in"]', timeout=15_000)


async def remote_videos_playing(page: Page, count: int, within: float = 20_000) -> list[int]:
    """Wait until `count` remote tiles each decoded frames, and their counts advance; returns the counts."""
    await page.wait_for_function(
        f"() => {{ const f = ({REMOTE_FRAMES})(); return f.length === {count} && f.every((n) => n > 3) }}",
        timeout=within,
    )
    first: list[int] = await page.evaluate(REMOTE_FRAMES)
    await page.wait_for_function(
        f"(before) => {{ const f = ({REMOTE_FRAMES})(); return f.length === before.length"
        " && f.every((n, i) => n > before[i] + 5) }",
        arg=first, timeout=within,
    )
    return list(await page.evaluate(REMOTE_FRAMES))


def person_ids(page_state: Any) -> set[str]:
    return {p["person_id"] for p in page_state}

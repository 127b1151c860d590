"""A running hub on a real port and a headless Chromium: reusable by every page's browser tests.

Use `live_hub` (demo directory, SQLite, in-process bus) and `page`; override `live_hub_settings` in a test
module (or call `start_live_hub`) for other settings; `await live_hub.sign_in(page, "p-xie")` signs in a demo person.
Requests to any host but the hub are blocked and recorded (`browser_guard.outside`): the city network is closed.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Route

from hub.app import create_app
from hub.settings import Settings
from tests.browser.chromium import launched
from tests.conftest import make_settings

pytestmark = pytest.mark.browser


@dataclass
class LiveHub:
    """A hub serving HTTP on 127.0.0.1 at a free port."""

    url: str
    app: web.Application
    settings: Settings

    async def sign_in(self, page: Page, person_id: str, next_path: str = "/") -> None:
        """Sign in on the demo page as a demo person and wait for the page it leads to."""
        await page.goto(f"{self.url}/login?next={next_path}")
        await page.select_option("[data-test=person-select]", person_id)
        async with page.expect_navigation():
            await page.click("[data-test=sign-in]")


StartLiveHub = Callable[..., Awaitable[LiveHub]]


class Served(Protocol):
    """Anything serving the hub at a URL: a LiveHub, or a `cityhub serve` node of tests/cluster."""

    @property
    def url(self) -> str: ...


@pytest.fixture
async def start_live_hub(tmp_path: Path) -> AsyncIterator[StartLiveHub]:
    """`await start_live_hub(settings=None, **sections)`: a hub on a free port, stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(settings: Settings | None = None, **sections: dict[str, Any]) -> LiveHub:
        # Bind first, so public_url (Origin checks, links) names the real port; no race for the port.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        base = settings or make_settings(tmp_path / f"hub{len(runners)}", **sections)
        configured = base.replace(server={"public_url": url, "port": port, "host": "127.0.0.1"})
        app = create_app(configured)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        await web.SockSite(runner, sock).start()
        return LiveHub(url=url, app=app, settings=configured)

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
def live_hub_settings(tmp_path: Path) -> Settings:
    """The settings of `live_hub`: override this fixture in a module for other ones."""
    return make_settings(tmp_path / "live")


@pytest.fixture
async def live_hub(start_live_hub: StartLiveHub, live_hub_settings: Settings) -> LiveHub:
    return await start_live_hub(live_hub_settings)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launched() as chromium:
        yield chromium


@dataclass
class BrowserGuard:
    """What a page did that a closed city network must not see: outside requests, console errors."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser_guard() -> BrowserGuard:
    return BrowserGuard()


async def new_context(
    browser: Browser, live_hub: Served, guard: BrowserGuard, *, locale: str = "zh-CN", width: int = 1280,
    height: int = 900,
) -> BrowserContext:
    """A browser context that only reaches the hub and records console errors."""
    context = await browser.new_context(
        locale=locale, viewport={"width": width, "height": height}, extra_http_headers={"Accept-Language": locale}
    )
    hub_host = urlsplit(live_hub.url).netloc

    async def only_the_hub(route: Route) -> None:
        target = urlsplit(route.request.url)
        if target.scheme in ("http", "https", "ws", "wss") and target.netloc != hub_host:
            guard.outside.append(route.request.url)
            await route.abort()
        else:
            await route.continue_()

    await context.route("**/*", only_the_hub)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            guard.errors.append(message.text)

    context.on("console", on_console)
    return context


@pytest.fixture
async def page(browser: Browser, live_hub: LiveHub, browser_guard: BrowserGuard) -> AsyncIterator[Page]:
    """A Chinese-language page (the default) in a fresh context; fails the test on outside requests."""
    context = await new_context(browser, live_hub, browser_guard)
    yield await context.new_page()
    await context.close()
    assert not browser_guard.outside, f"requests outside the hub: {browser_guard.outside}"

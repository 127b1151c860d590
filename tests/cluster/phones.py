"""Phone tabs in headless Chromium signed in on a chosen `cityhub serve` node of a Cluster (tests/cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser.conftest import BrowserGuard, new_context
from tests.calls.browser import frames_decoded, open_phone, sign_in
from tests.cluster.nodes import Cluster, Node


@dataclass
class NodePhones:
    """The phone tabs a test opened, each on the node it was told to use."""

    cluster: Cluster
    browser: Browser
    guard: BrowserGuard
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def phone(self, node: Node, person_id: str, *, locale: str = "zh_CN") -> Page:
        """A tab on node's /phone, signed in as person_id, registered there as a phone device."""
        context = await new_context(self.browser, node, self.guard, locale=locale.replace("_", "-"))
        self.contexts.append(context)
        await sign_in(context, node.url, self.cluster.token(person_id))
        return await open_phone(context, node.url, person_id, self.errors)


@pytest.fixture
async def phones(cluster: Cluster, browser: Browser, browser_guard: BrowserGuard,
                 bundle: Path) -> AsyncIterator[NodePhones]:
    """Phone tabs on cluster nodes; at teardown no tab reached outside its node or raised a page error."""
    made = NodePhones(cluster, browser, browser_guard)
    yield made
    for context in made.contexts:
        await context.close()
    assert not browser_guard.outside, f"requests outside the hub: {browser_guard.outside}"
    assert not made.errors, made.errors


async def remote_video_playing(page: Page, *, frames: int = 10, within_ms: int = 15_000) -> None:
    """The tab's remote video element is playing the other end: not paused, sized, and its frames move on."""
    start = await page.evaluate(
        """() => { const v = document.querySelector('[data-test=remote-video]')
           return { shown: v.getVideoPlaybackQuality().totalVideoFrames, time: v.currentTime } }""")
    decoded = await frames_decoded(page)
    await page.wait_for_function(
        """async ([start, decoded, n]) => {
           const v = document.querySelector('[data-test=remote-video]')
           const c = window.cityhubPhone.call
           if (!c || !c.peer || v.paused || v.videoWidth === 0 || v.readyState < 2) return false
           return v.getVideoPlaybackQuality().totalVideoFrames >= start.shown + n && v.currentTime > start.time
             && (await c.peer.framesDecoded()) >= decoded + n }""",
        arg=[start, decoded, frames], timeout=within_ms, polling=250)

"""Notifications in the browser (issue #12): an invitation pops up live on whatever page the official is on (here
a document), the navigation badge counts it on every open page, following it opens the meeting and the badge of
the person's other pages goes down at once. Screenshots of the notice and the list page, zh and en, 390 and 1366
px wide, go to test-artifacts/notifications for a human to look at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from hub import keys
from tests.browser.conftest import BrowserGuard, LiveHub, new_context

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "notifications"


async def schedule(live_hub: LiveHub, title: str) -> dict[str, Any]:
    person = await live_hub.app[keys.DIRECTORY].person("p-xie")
    bearer = {"Authorization": f"Bearer {live_hub.app[keys.AUTH].issue_for(person)[0]}"}
    start = datetime.now(UTC) + timedelta(hours=2)
    body = {"title": title, "chair": "p-xie", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(), "invited_units": ["pub-util"]}
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{live_hub.url}/api/v1/meetings", json=body, headers=bearer)
        assert response.status == 201
        return dict(await response.json())


async def badge(page: Page) -> str:
    shown = page.locator("[data-test=nav-badge-notifications]")
    return "" if await shown.is_hidden() else await shown.inner_text()


async def test_an_invitation_pops_up_on_a_document_page_and_reading_it_clears_every_badge(
    browser: Browser, live_hub: LiveHub, browser_guard: BrowserGuard,
) -> None:
    context = await new_context(browser, live_hub, browser_guard)
    docs = await context.new_page()
    await live_hub.sign_in(docs, "pub-util-04", "/docs")
    other = await context.new_page()
    await other.goto(f"{live_hub.url}/notifications")
    for page in (docs, other):
        await page.wait_for_function("() => window.cityhubNotices && window.cityhubNotices.unread === 0", polling=100)
    meeting = await schedule(live_hub, "全市防汛调度视频会")

    pop = docs.locator("[data-test=notice-pop]")
    await expect(pop).to_contain_text("会议邀请")
    await expect(pop).to_contain_text("全市防汛调度视频会")
    await expect(docs.locator("[data-test=nav-badge-notifications]")).to_have_text("1")
    await expect(other.locator("[data-test=nav-badge-notifications]")).to_have_text("1")
    link = docs.locator("[data-test=nav-badge-notifications]").locator("xpath=..")
    assert "1" in (await link.get_attribute("aria-label") or "")

    async with docs.expect_navigation():
        await pop.locator("a").click()
    assert docs.url.endswith(f"/meetings/{meeting['id']}")
    # read: the other page's badge goes at once, without a reload
    await expect(other.locator("[data-test=nav-badge-notifications]")).to_be_hidden()
    assert await badge(docs) == ""
    await other.reload()
    await expect(other.locator("[data-test=notice]")).to_have_count(1)
    await expect(other.locator(".notice.unread")).to_have_count(0)
    await context.close()
    assert not browser_guard.errors, browser_guard.errors


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_screenshots_of_the_notice_and_the_list(browser: Browser, live_hub: LiveHub,
                                                      browser_guard: BrowserGuard, locale: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await schedule(live_hub, "市政府常务会议")
    for width in (390, 1366):
        context = await new_context(browser, live_hub, browser_guard, locale=locale, width=width, height=800)
        page = await context.new_page()
        await live_hub.sign_in(page, "pub-util-04", "/supervision")
        await page.wait_for_function("() => window.cityhubNotices && window.cityhubNotices.unread >= 1", polling=100)
        await schedule(live_hub, "城市供水保障专题会（第三次）")
        await expect(page.locator("[data-test=notice-pop]")).to_be_visible()
        await page.screenshot(path=str(SHOTS / f"notice-{locale}-{width}.png"))
        await page.goto(f"{live_hub.url}/notifications")
        await expect(page.locator("[data-test=notice]").first).to_be_visible()
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{width}px: {overflow}px too wide"
        await page.screenshot(path=str(SHOTS / f"list-{locale}-{width}.png"), full_page=True)
        await context.close()
    assert not browser_guard.errors, browser_guard.errors

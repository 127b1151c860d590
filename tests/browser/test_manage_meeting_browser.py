"""A meeting managed from its page (issue #12): the chair reschedules it and then cancels it there; an invitee
working on another page hears of both at once. Screenshots of the management part go to
test-artifacts/manage for a human to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import BrowserGuard, LiveHub, new_context
from tests.browser.test_notifications_browser import schedule

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "manage"


async def test_rescheduled_and_cancelled_from_its_page(browser: Browser, live_hub: LiveHub,
                                                       browser_guard: BrowserGuard) -> None:
    meeting = await schedule(live_hub, "全市安全生产调度会")
    chair_context = await new_context(browser, live_hub, browser_guard)
    chair = await chair_context.new_page()
    await live_hub.sign_in(chair, "p-xie", f"/meetings/{meeting['id']}")
    invitee_context = await new_context(browser, live_hub, browser_guard)
    invitee = await invitee_context.new_page()
    await live_hub.sign_in(invitee, "pub-util-04", "/docs")
    await invitee.wait_for_function("() => window.cityhubNotices && window.cityhubNotices.unread === 1", polling=100)

    await chair.click('[data-test="manage"] > summary')
    await chair.fill("#m-date", "2031-06-01")
    await chair.fill("#m-start", "15:30")
    async with chair.expect_navigation():
        await chair.click('[data-test="edit-form"] [data-test="m-submit"]')
    await expect(chair.locator('[data-test="saved"]')).to_be_visible()
    await expect(chair.locator(".meeting-head")).to_contain_text("2031-06-01 15:30")
    pop = invitee.locator('[data-test="notice-pop"][data-kind="meeting.changed"]')
    await expect(pop).to_contain_text("全市安全生产调度会")
    await expect(pop).to_contain_text("会议变更")

    await chair.click('[data-test="manage"] > summary')
    await chair.click('[data-test="cancel-open"]')
    async with chair.expect_navigation():
        await chair.click('[data-test="cancel-confirm"]')
    await expect(chair.locator('[data-test="record-status"]')).to_contain_text("本次会议已取消")
    await expect(invitee.locator('[data-test="notice-pop"][data-kind="meeting.cancelled"]')).to_be_visible()
    await chair_context.close()
    await invitee_context.close()
    assert not browser_guard.errors, browser_guard.errors


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_screenshots_of_the_management(browser: Browser, live_hub: LiveHub, browser_guard: BrowserGuard,
                                             locale: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    meeting = await schedule(live_hub, "城市供水保障专题会")
    for width in (390, 1366):
        context = await new_context(browser, live_hub, browser_guard, locale=locale, width=width, height=900)
        page = await context.new_page()
        await live_hub.sign_in(page, "p-xie", f"/meetings/{meeting['id']}")
        await page.click('[data-test="manage"] > summary')
        await page.click('[data-test="cancel-open"]')
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{width}px: {overflow}px too wide"
        await page.screenshot(path=str(SHOTS / f"manage-{locale}-{width}.png"), full_page=True)
        await context.close()
    assert not browser_guard.errors, browser_guard.errors

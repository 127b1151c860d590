"""Choosing invitees by typing (issue #12): the meeting form's pickers find people and units by name or pinyin
initials (`zsz` finds 周淑珍, `sgy` 市公用事业局), keyboard or mouse; the meeting created has exactly them; a
chosen one is taken away with its chip. Screenshots in test-artifacts/picker."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from hub import keys
from tests.browser.conftest import BrowserGuard, LiveHub, new_context

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "picker"


async def pick(page: Page, name: str, typed: str, label: str) -> None:
    picker = page.locator(f'[data-test="picker-{name}"]')
    await picker.locator("input").fill(typed)
    option = picker.locator(".picker-option").first
    await expect(option).to_contain_text(label)
    await picker.locator("input").press("Enter")
    await expect(picker.locator(".picker-chip", has_text=label)).to_be_visible()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_invitees_chosen_by_pinyin(browser: Browser, live_hub: LiveHub, browser_guard: BrowserGuard,
                                         locale: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = await new_context(browser, live_hub, browser_guard, locale=locale, width=1366)
    page = await context.new_page()
    await live_hub.sign_in(page, "p-xie", "/meetings")
    await page.fill('[data-test="m-title"]', "排水防涝协调会")
    await expect(page.locator('[data-test="picker-people"] input')).to_be_visible()
    assert await page.locator("#m-people").is_hidden()
    await pick(page, "people", "zsz", "周淑珍")
    await pick(page, "people", "jiangp", "蒋平")
    await pick(page, "units", "sgy", "市公用事业局")
    await pick(page, "secretary", "jp", "蒋平")
    # the second person is taken away again with the chip's ×
    await page.locator('[data-test="picker-people"] .picker-chip', has_text="蒋平").locator("button").click()
    await expect(page.locator('[data-test="picker-people"] .picker-chip')).to_have_count(1)
    # nothing matches: it says so
    await page.locator('[data-test="picker-units"] input').fill("zzzzqqq")
    await expect(page.locator('[data-test="picker-units"] .picker-none')).to_be_visible()
    await page.locator('[data-test="picker-units"] input').fill("")
    await page.screenshot(path=str(SHOTS / f"form-{locale}-1366.png"), full_page=True)
    async with page.expect_navigation():
        await page.click('[data-test="create-form"] [data-test="m-submit"]')
    meeting_id = page.url.rsplit("/", 1)[-1]
    meeting = await live_hub.app[keys.MEETINGS].find(meeting_id)
    assert meeting is not None
    assert meeting.invited_people == ("pub-util-04",) and meeting.secretary_id == "gov-office-03"
    assert meeting.invited_units == ("pub-util",) and meeting.chair_id == "p-xie"
    await context.close()
    assert not browser_guard.errors, browser_guard.errors


async def test_the_picker_on_a_phone(browser: Browser, live_hub: LiveHub, browser_guard: BrowserGuard) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = await new_context(browser, live_hub, browser_guard, width=390, height=844)
    page = await context.new_page()
    await live_hub.sign_in(page, "p-xie", "/meetings")
    await page.locator('[data-test="picker-people"] input').fill("x")
    await expect(page.locator('[data-test="picker-people"] .picker-option').first).to_be_visible()
    await page.locator('[data-test="picker-people"]').scroll_into_view_if_needed()
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await page.screenshot(path=str(SHOTS / "list-zh-CN-390.png"))
    await context.close()
    assert not browser_guard.errors, browser_guard.errors

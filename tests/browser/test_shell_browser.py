"""In Chromium: sign in on the demo page, search the directory, switch language; screenshots of the shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import BrowserGuard, LiveHub, StartLiveHub, new_context

pytestmark = pytest.mark.browser


@pytest.fixture
def shots() -> Path:
    """Where the screenshots go, for a human to look at."""
    folder = Path("/tmp/shots")
    folder.mkdir(exist_ok=True)
    return folder


async def test_sign_in_search_and_switch_language(page: Page, live_hub: LiveHub, browser_guard: BrowserGuard) -> None:
    await page.goto(f"{live_hub.url}/")
    # Signed out: the demo sign-in page, in Chinese.
    assert "/login" in page.url
    await expect(page.locator("h1")).to_have_text("登录演示系统")
    await page.select_option("[data-test=person-select]", "p-xie")
    async with page.expect_navigation():
        await page.click("[data-test=sign-in]")
    await expect(page.locator("h1")).to_have_text("谢继成，您好")
    await expect(page.locator(".whoami")).to_contain_text("市公用事业局")

    await page.click("nav.mainnav >> text=通讯录")
    await page.fill("[data-test=directory-q]", "孔刚")
    async with page.expect_navigation():
        await page.click("[data-test=directory-search]")
    results = page.locator("[data-test=directory-results] tbody tr")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("孔刚")
    await expect(page.locator("[data-test=directory-total]")).to_have_text("共 1 人")

    async with page.expect_navigation():
        await page.click("[data-test=lang-en]")
    # The same search, now in English; the language sticks across pages.
    assert "q=" in page.url
    await expect(page.locator("[data-test=directory-total]")).to_have_text("1 person")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("h1")).to_have_text("Directory")
    await page.goto(f"{live_hub.url}/")
    await expect(page.locator("h1")).to_have_text("Good day, 谢继成")
    async with page.expect_navigation():
        await page.click("[data-test=lang-zh]")
    await expect(page.locator("h1")).to_have_text("谢继成，您好")
    assert not browser_guard.errors, browser_guard.errors


async def test_session_cookie_is_not_readable_by_scripts(page: Page, live_hub: LiveHub) -> None:
    await live_hub.sign_in(page, "supervision-01")
    assert "cityhub_session" not in await page.evaluate("document.cookie")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["cityhub_session"]["httpOnly"] and cookies["cityhub_session"]["sameSite"] == "Strict"
    async with page.expect_navigation():
        await page.click("text=退出登录")
    assert "/login" in page.url
    await page.goto(f"{live_hub.url}/directory")
    assert "/login" in page.url


async def test_a_bad_search_shows_no_one(page: Page, live_hub: LiveHub) -> None:
    await live_hub.sign_in(page, "shinan-office-term", "/directory")
    await page.fill("[data-test=directory-q]", "<b>无此人</b>")
    async with page.expect_navigation():
        await page.click("[data-test=directory-search]")
    await expect(page.locator("[data-test=directory-results] td.empty")).to_have_text("没有符合条件的人员。")
    await expect(page.locator("[data-test=directory-results] b")).to_have_count(0)


@pytest.mark.parametrize("width", [390, 1280])
async def test_shell_fits_the_screen_in_both_languages(
    browser: Browser, live_hub: LiveHub, browser_guard: BrowserGuard, width: int, shots: Path
) -> None:
    for locale, tag in (("zh-CN", "zh"), ("en", "en")):
        context = await new_context(browser, live_hub, browser_guard, locale=locale, width=width, height=800)
        page = await context.new_page()
        await page.goto(f"{live_hub.url}/login")
        await page.screenshot(path=str(shots / f"login-{tag}-{width}.png"))
        await live_hub.sign_in(page, "p-xie")
        await page.screenshot(path=str(shots / f"home-{tag}-{width}.png"))
        await page.goto(f"{live_hub.url}/directory")
        await page.screenshot(path=str(shots / f"directory-{tag}-{width}.png"))
        for path in ("/login", "/", "/directory"):
            await page.goto(f"{live_hub.url}{path}")
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} in {tag} at {width}px is {overflow}px wider than the screen"
        await context.close()
    assert not browser_guard.outside and not browser_guard.errors


async def test_outside_demo_mode_the_browser_is_sent_to_the_portal_help(
    browser: Browser, start_live_hub: StartLiveHub, browser_guard: BrowserGuard
) -> None:
    hub = await start_live_hub(server={"demo": False})
    context = await new_context(browser, hub, browser_guard)
    page = await context.new_page()
    await page.goto(f"{hub.url}/directory")
    assert "/signin" in page.url
    await expect(page.locator("h1")).to_have_text("请通过市政务门户登录")
    response = await page.goto(f"{hub.url}/login")
    assert response is not None and response.status == 404
    await expect(page.locator("h1")).to_have_text("页面不存在")
    await context.close()
    # The 401 and 404 pages themselves show up as console errors; nothing else may.
    assert not browser_guard.outside
    assert all("Failed to load resource" in e for e in browser_guard.errors), browser_guard.errors

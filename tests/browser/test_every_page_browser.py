"""Every page of the hub in Chromium, in Chinese and English, on a phone (390 px) and a desk (1366 px): the
browser console stays clean (no CSP refusals, no script errors) and nothing is wider than a phone's screen."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from hub import keys
from tests.browser.conftest import BrowserGuard, LiveHub, new_context

pytestmark = pytest.mark.browser

CHAIR = "p-xie"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"


async def api(live_hub: LiveHub, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    person = await live_hub.app[keys.DIRECTORY].person(CHAIR)
    token, _ = live_hub.app[keys.AUTH].issue_for(person)
    async with aiohttp.ClientSession() as http:
        response = await http.request(method, f"{live_hub.url}{path}", json=body,
                                      headers={"Authorization": f"Bearer {token}"})
        assert response.status in (200, 201), await response.text()
        return dict(await response.json())


async def every_page(live_hub: LiveHub) -> list[str]:
    """The pages, with a meeting (and its decision's supervision item) and a document with a version to show."""
    now = datetime.now(UTC)
    meeting = await api(live_hub, "POST", "/api/v1/meetings", {
        "title": "全市防汛工作视频会议", "chair": CHAIR, "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(), "invited_units": ["gov-office"], "lobby": False,
        "description": "一、汛情通报\n二、部署下一阶段工作"})
    due = (now + timedelta(days=10)).date().isoformat()
    decided = await api(live_hub, "POST", f"/api/v1/meetings/{meeting['id']}/decisions", {
        "text": "加固城区排水管网", "lead_unit": "pub-util", "responsible": "pub-util-04", "due_date": due})
    # an ended meeting's page is its record: minutes, decisions, attendance
    meetings = live_hub.app[keys.MEETINGS]
    ended = await api(live_hub, "POST", "/api/v1/meetings", {
        "title": "城区排水专题会", "chair": CHAIR, "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(), "invited_units": ["pub-util"]})
    await meetings.mark_live(ended["id"])
    await api(live_hub, "POST", f"/api/v1/meetings/{ended['id']}/decisions", {
        "text": "年底前完成城区排水管网改造", "lead_unit": "pub-util", "responsible": "pub-util-04", "due_date": due})
    chair = await live_hub.app[keys.AUTH].authenticate(live_hub.app[keys.AUTH].issue_for(
        await live_hub.app[keys.DIRECTORY].person(CHAIR))[0])
    await meetings.end(chair, ended["id"])
    doc = await api(live_hub, "POST", "/api/v1/docs", {"title": "防汛工作汇报"})
    version = await api(live_hub, "POST", f"/api/v1/docs/{doc['id']}/versions", {"name": "初稿"})
    return [
        "/", "/meetings", f"/meetings/{meeting['id']}", f"/meetings/{meeting['id']}/attendance",
        f"/meetings/{ended['id']}",
        "/directory", "/directory?q=%E8%B0%A2", "/docs", f"/docs/{doc['id']}",
        f"/docs/{doc['id']}/versions/{version['id']}", "/supervision", "/supervision/units/pub-util",
        f"/supervision/items/{decided['item']['id']}", "/phone", "/notifications",
        "/supervision/appraisal", "/search?q=xjc",
    ]


async def visit(page: Page, url: str) -> dict[str, int]:
    await page.goto(url)
    await page.wait_for_load_state("load")
    await page.wait_for_timeout(300)  # scripts that render after load (editors, the meeting preview)
    return dict(await page.evaluate(
        "() => ({ width: document.documentElement.scrollWidth, viewport: window.innerWidth })"))


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_every_page_is_clean_and_fits(browser: Browser, live_hub: LiveHub, browser_guard: BrowserGuard,
                                           locale: str) -> None:
    paths = await every_page(live_hub)
    ended_id = paths[4].rsplit("/", 1)[-1]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page_errors: list[str] = []
    for width in (390, 1366):
        context = await new_context(browser, live_hub, browser_guard, locale=locale, width=width,
                                    height=800 if width < 600 else 860)
        page = await context.new_page()
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        await live_hub.sign_in(page, CHAIR)
        for path in ["/signin", *paths]:
            size = await visit(page, f"{live_hub.url}{path}")
            assert not browser_guard.errors, f"{path} at {width} px, {locale}: {browser_guard.errors}"
            assert not page_errors, f"{path} at {width} px, {locale}: {page_errors}"
            assert size["width"] <= size["viewport"], f"{path} is {size['width'] - size['viewport']} px too wide " \
                f"at {width} px ({locale})"
            # for a human to look at (test-artifacts/ is git-ignored)
            named = path.split("?")[0].replace(f"/meetings/{ended_id}", "/meetings/record")
            slug = re.sub(r"[^a-z0-9]+", "-", re.sub(r"[0-9a-f]{16,}", "id", named)).strip("-") or "home"
            await page.screenshot(path=str(SHOTS / f"{slug}-{locale}-{width}.png"))
        await context.close()
    assert not browser_guard.outside

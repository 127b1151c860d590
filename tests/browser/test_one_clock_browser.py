"""One clock (issue #12): times on pages and in the browser code are the city's (server.timezone), whatever the
official's computer says. The hub runs on Berlin time here and the browser on New York time: both must show
Berlin time, to the minute, for the same moments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from hub import keys
from hub.settings import Settings
from tests.browser.conftest import LiveHub
from tests.conftest import make_settings

pytestmark = pytest.mark.browser

CITY = "Europe/Berlin"


@pytest.fixture
def live_hub_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "live", server={"timezone": CITY})


def city(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(CITY)).strftime("%Y-%m-%d %H:%M")


async def test_pages_and_scripts_show_the_citys_time(browser: Browser, live_hub: LiveHub) -> None:
    person = await live_hub.app[keys.DIRECTORY].person("p-xie")
    bearer = {"Authorization": f"Bearer {live_hub.app[keys.AUTH].issue_for(person)[0]}"}
    async with aiohttp.ClientSession() as http:
        doc = await (await http.post(f"{live_hub.url}/api/v1/docs", json={"title": "值班表"}, headers=bearer)).json()
        version = await (await http.post(f"{live_hub.url}/api/v1/docs/{doc['id']}/versions", json={"name": "定稿"},
                                         headers=bearer)).json()
    context = await browser.new_context(timezone_id="America/New_York", locale="en-US")
    page = await context.new_page()
    await live_hub.sign_in(page, "p-xie", "/docs")
    # rendered by the server
    await expect(page.locator("[data-test=docs-mine] time")).to_have_text(city(doc["updated_at"]))
    # rendered by the browser (the document page's versions)
    await page.goto(f"{live_hub.url}/docs/{doc['id']}")
    shown = page.locator(f"[data-version-id='{version['id']}'] .doc-version-head small")
    await expect(shown).to_be_visible()
    # en-US writes it 12/05/2026, 16:12: the same day and minute, in any order
    day, clock = city(version["created_at"]).split(" ")
    year, month, date = day.split("-")
    text = await shown.inner_text()
    assert clock in text and all(part in text for part in (year, month, date)), (text, city(version["created_at"]))
    assert await page.evaluate("document.documentElement.dataset.timezone") == CITY
    await context.close()

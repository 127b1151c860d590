"""The gallery in headless Chromium: pages of 4/9/16/25 tiles, paging moves the receive slots to the new page's
participants, the chair's polling (轮巡) turns the pages by itself, and the main venue is marked and first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.conftest import make_settings, start_hub
from tests.meetings.browser import People, join
from tests.meetings.conftest import create_meeting

pytestmark = [pytest.mark.browser, pytest.mark.media]

PEOPLE = ["pub-util-02", "pub-util-03", "pub-util-04", "pub-util-05", "shibei-office-term", "shinan-office-term"]
# the remote tiles on screen, in the order they are laid out (CSS order)
SHOWN = """() => [...document.querySelectorAll('.tile:not(.local):not([hidden])')]
  .sort((a, b) => Number(a.style.order) - Number(b.style.order)).map((t) => t.dataset.key)"""
WITH_VIDEO = """() => [...document.querySelectorAll('.tile:not(.local):not([hidden]) video')]
  .filter((v) => v.srcObject && v.srcObject.getVideoTracks().length).map((v) => v.closest('.tile').dataset.key)"""


async def shown(page: Page) -> list[str]:
    return list(await page.evaluate(SHOWN))


async def page_videos(page: Page, keys: list[str]) -> None:
    """Every tile of the page carries a video (its slot points at it) and decodes."""
    await page.wait_for_function(
        f"(keys) => {{ const v = ({WITH_VIDEO})(); return keys.every((k) => v.includes(k)) }}",
        arg=keys, timeout=20_000)


async def test_pages_polling_and_the_main_venue(chromium: Browser, aiohttp_client: Any, tmp_path: Path,
                                                meeting_clients: Any) -> None:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, meetings={"last_n": 4, "audio_n": 2}))
    crowd = People(chromium, hub)
    try:
        meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office", "shibei-office"])
        chair = await crowd.page("p-xie", f"/meetings/{meeting['id']}")
        await join(chair)
        clients = [meeting_clients(hub, person, meeting["id"], width=160, height=120) for person in PEOPLE]
        for client in clients:
            await client.join()
        ids = [str(c.participant_id) for c in clients]
        await chair.select_option('[data-test="page-size"]', "4")
        await chair.wait_for_function("() => window.cityhubMeeting.gallery.pages === 2")
        first = await shown(chair)
        assert first == ids[:4]
        assert await chair.inner_text('[data-test="page-info"]') == "第 1 / 2 页"
        await page_videos(chair, first)

        # the next page: its two participants' videos come, the first page's are no longer received
        await chair.click('[data-test="page-next"]')
        assert await shown(chair) == ids[4:]
        await page_videos(chair, ids[4:])
        page_state = await chair.evaluate("() => window.cityhubMeeting.gallery")
        assert page_state["visible"] == ids[4:] and page_state["page"] == 1

        # a page of 9 holds everybody
        await chair.select_option('[data-test="page-size"]', "9")
        assert await shown(chair) == ids and await chair.inner_text('[data-test="page-info"]') == "第 1 / 1 页"

        # polling: the chair's own view turns the pages by itself, and stops when told
        await chair.select_option('[data-test="page-size"]', "4")
        await chair.evaluate("() => { const s = document.querySelector('#poll-seconds'); "
                             "s.append(new Option('1 s', '1')); s.value = '1' }")
        await chair.click('[data-test="poll"]')
        assert await chair.get_attribute('[data-test="poll"]', "aria-pressed") == "true"
        start = await chair.evaluate("() => window.cityhubMeeting.gallery.page")
        await chair.wait_for_function("(start) => window.cityhubMeeting.gallery.page !== start", arg=start,
                                      timeout=5_000)
        await chair.wait_for_function("(start) => window.cityhubMeeting.gallery.page === start", arg=start,
                                      timeout=5_000)
        await chair.click('[data-test="poll"]')
        assert await chair.inner_text('[data-test="poll"]') == "开始轮巡"
        stopped = await chair.evaluate("() => window.cityhubMeeting.gallery.page")
        await chair.wait_for_timeout(2_500)
        assert await chair.evaluate("() => window.cityhubMeeting.gallery.page") == stopped

        # the chair, on the second page, makes the terminal's district the main venue: its tile is marked, first
        # on the first page, and the gallery turns to it
        if await chair.evaluate("() => window.cityhubMeeting.gallery.page") != 1:
            await chair.click('[data-test="page-next"]')
        if await chair.is_visible('[data-test="panel-toggle"]'):
            await chair.click('[data-test="panel-toggle"]')
        await chair.click('[data-test="main-shinan-office-term"]')
        venue_tile = f'[data-test="tile"][data-key="{ids[5]}"]'
        await chair.wait_for_selector(f"{venue_tile}.main-venue")
        assert await chair.evaluate("() => window.cityhubMeeting.gallery.page") == 0
        assert (await shown(chair))[0] == ids[5]
        assert await chair.inner_text(f"{venue_tile} .tile-main") == "主会场"
        await chair.screenshot(path=str(tmp_path / "gallery-zh-wide.png"))
    finally:
        await crowd.close()
    assert crowd.errors == []

"""Conference controls on the meeting page: the chair calls on a venue, everybody sees it large with a banner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.conftest import make_settings, start_hub
from tests.meetings.browser import People, join, remote_videos_playing
from tests.meetings.conftest import create_meeting
from tests.meetings.test_meeting_stage import VENUE

pytestmark = [pytest.mark.browser, pytest.mark.media]


async def test_the_chair_calls_on_a_venue_and_mutes_everybody(
    chromium: Browser, aiohttp_client: Any, tmp_path: Path, meeting_clients: Any
) -> None:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, meetings={"inactivity_timeout": 4.0}))
    crowd = People(chromium, hub)
    try:
        meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office"])
        chair = await crowd.page("p-xie", f"/meetings/{meeting['id']}")
        member = await crowd.page("pub-util-04", f"/meetings/{meeting['id']}", locale="en", width=390, height=844)
        await join(chair)
        await join(member)
        venue = meeting_clients(hub, VENUE, meeting["id"], width=160, height=120)
        await venue.join()
        await remote_videos_playing(chair, 2)
        # a venue's tile carries its unit's name
        await chair.wait_for_selector(f'[data-test="tile"][data-key="{venue.participant_id}"]')
        tile = chair.locator(f'[data-test="tile"][data-key="{venue.participant_id}"]')
        assert "市南区政府办公室" in await tile.inner_text() and "分会场" in await tile.inner_text()
        assert await member.locator('[data-test="spotlight-p-xie"]').count() == 0  # not the chair's tools

        await chair.click(f'[data-test="spotlight-{VENUE}"]')
        for page, text in ((chair, "点名：市南区政府办公室"), (member, "Called on: 市南区政府办公室")):
            banner = page.locator('[data-test="stage-banner"]')
            await banner.wait_for(state="visible")
            assert await banner.inner_text() == text
            await page.wait_for_selector(f'[data-key="{venue.participant_id}"].spotlight')
        await venue.wait(lambda: venue.stage["spotlight"] is not None, what="the venue told")
        await chair.screenshot(path=str(tmp_path / "roll-call-zh-wide.png"))
        await member.screenshot(path=str(tmp_path / "roll-call-en-narrow.png"))

        await chair.click('[data-test="mute-all"]')
        await member.wait_for_selector('[data-test="mute"][aria-pressed="true"]')
        await venue.wait(lambda: "moderator.muted" in venue.event_names(), what="the venue muted")

        await chair.click('[data-test="clear-spotlight"]')
        await member.locator('[data-test="stage-banner"]').wait_for(state="hidden")
        assert await chair.locator(".tile.spotlight").count() == 0
    finally:
        await crowd.close()
    assert crowd.errors == []


async def test_a_page_asks_to_speak_and_the_chair_gives_the_floor(
    chromium: Browser, aiohttp_client: Any, tmp_path: Path
) -> None:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, meetings={"inactivity_timeout": 4.0}))
    crowd = People(chromium, hub)
    try:
        meeting = await create_meeting(hub)
        chair = await crowd.page("p-xie", f"/meetings/{meeting['id']}", width=390, height=844)
        member = await crowd.page("pub-util-04", f"/meetings/{meeting['id']}", locale="en")
        await join(chair)
        await join(member)
        assert not await chair.locator('[data-test="floor"]').is_visible()  # the chair asks nobody
        await member.click('[data-test="mute"]')  # muted, as venues sit until called on
        await member.click('[data-test="floor"]')
        await member.wait_for_selector('[data-test="floor"][aria-pressed="true"]')
        assert await member.inner_text('[data-test="floor"]') == "Cancel request"
        await chair.click('[data-test="panel-toggle"]')
        grant = chair.locator('[data-test="grant-pub-util-04"]')
        await grant.wait_for(state="visible")
        await chair.screenshot(path=str(tmp_path / "floor-zh-narrow.png"))
        await grant.click()
        await member.wait_for_selector('[data-test="floor"][aria-pressed="false"]')
        banner = member.locator('[data-test="stage-banner"]')
        await banner.wait_for(state="visible")
        assert await banner.inner_text() == "Called on: 周淑珍 · 市公用事业局"
        # given the floor: the microphone is on again, and the chair's queue is empty
        await member.wait_for_selector('[data-test="mute"][aria-pressed="false"]')
        await chair.wait_for_selector('[data-test="floor-list"] >> text=暂无发言申请。')
        await member.screenshot(path=str(tmp_path / "floor-en-wide.png"))
    finally:
        await crowd.close()
    assert crowd.errors == []

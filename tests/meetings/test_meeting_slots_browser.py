"""Receive slots in headless Chromium: the page shows whom its slots carry, follows a switch, and stops sending
its camera while nobody receives it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from hub import keys
from tests.conftest import make_settings, start_hub
from tests.meetings.browser import People, join, remote_videos_playing
from tests.meetings.conftest import create_meeting

pytestmark = [pytest.mark.browser, pytest.mark.media]

SENDER_ACTIVE = """() => window.cityhubMeeting.media.pc.getTransceivers()
  .filter((t) => t.sender.track && t.sender.track.kind === 'video')
  .map((t) => t.sender.getParameters().encodings.every((e) => e.active))"""


async def test_a_page_follows_its_slots_and_pauses_an_unwatched_camera(
    chromium: Browser, aiohttp_client: Any, tmp_path: Path, meeting_clients: Any
) -> None:
    hub = await start_hub(aiohttp_client, make_settings(
        tmp_path, meetings={"last_n": 1, "audio_n": 1, "inactivity_timeout": 4.0}))
    crowd = People(chromium, hub)
    try:
        meeting = await create_meeting(hub)
        page = await crowd.page("p-xie", f"/meetings/{meeting['id']}")
        await join(page)
        b, c = [meeting_clients(hub, person, meeting["id"], width=160, height=120)
                for person in ("pub-util-02", "pub-util-03")]
        await b.join()
        await c.join()
        me = await page.evaluate("() => window.cityhubMeeting.participantId")
        await remote_videos_playing(page, 1)  # one video slot: one remote tile, whoever it shows

        # the page asks for c: its one slot moves to c's tile, and c's video plays there
        await page.evaluate("([meeting, who]) => window.cityhubMeeting.signaling.request('media.view', "
                            "{ meeting_id: meeting, visible: [who] })", [meeting["id"], c.participant_id])
        await page.wait_for_function(f"""() => {{
          const video = (key) => document.querySelector(`[data-test="tile"][data-key="${{key}}"] video`).srcObject
          return video('{c.participant_id}').getVideoTracks().length === 1
            && video('{b.participant_id}').getVideoTracks().length === 0 }}""")
        await remote_videos_playing(page, 1)
        # b keeps its tile in the gallery, without a video: the page's own, b's and c's
        assert await page.locator('[data-test="tile"]').count() == 3

        # b and c look at each other: nobody receives the page's camera, the browser stops encoding it
        await b.request("media.view", visible=[c.participant_id])
        await c.request("media.view", visible=[b.participant_id])
        await page.wait_for_function("() => window.cityhubMeeting.media.paused.camera === true", timeout=10_000)
        assert await page.evaluate(SENDER_ACTIVE) == [False]
        # b wants the page's video again: it is sent, and b decodes it
        await b.request("media.view", visible=[me])
        await page.wait_for_function("() => window.cityhubMeeting.media.paused.camera === false", timeout=10_000)
        assert await page.evaluate(SENDER_ACTIVE) == [True]
        await b.wait(lambda: b.slot_of(me) is not None, what="the page in b's slot")
        slot = b.slot_of(me)
        assert slot is not None
        frames = b.media.frames()[slot]
        await b.wait(lambda: b.media.frames()[slot] > frames + 10, within=15, what="the page's camera at b")
    finally:
        await crowd.close()
    assert crowd.errors == []


FRAMES = """() => [...document.querySelectorAll('.tile:not(.local) video')]
  .filter((v) => v.srcObject && v.srcObject.getVideoTracks().length)
  .map((v) => v.getVideoPlaybackQuality().totalVideoFrames)"""


async def test_a_small_tile_plays_a_browsers_base_layer_smoothly(
    chromium: Browser, aiohttp_client: Any, tmp_path: Path
) -> None:
    """Every tile small (full_rate_tiles 0): each page gets the other's camera at its base temporal layer only,
    which Chromium decodes without asking for key frames again and again."""
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, meetings={"last_n": 4, "full_rate_tiles": 0}))
    crowd = People(chromium, hub)
    try:
        meeting = await create_meeting(hub)
        pages = [await crowd.page(person, f"/meetings/{meeting['id']}") for person in ("p-xie", "pub-util-04")]
        for page in pages:
            await join(page)
        for page in pages:
            await remote_videos_playing(page, 1)
        room = hub.app[keys.MEETING_ROOMS].rooms[meeting["id"]].sfu_room
        assert room is not None
        requests = sum(f.stats.keyframe_requests_received for f in room.forwarders.values())
        before = [(await page.evaluate(FRAMES))[0] for page in pages]
        await asyncio.sleep(4)
        after = [(await page.evaluate(FRAMES))[0] for page in pages]
        cameras = [f for f in room.forwarders.values() if f.info.kind == "video"]
        assert all(f.temporal_layers == 3 and f.stats.packets_thinned > 0 for f in cameras)
        for first, last in zip(before, after, strict=True):
            # the base layer of a 30 frames/s camera: about 7.5 frames/s, never the whole rate
            assert 4 * 4 <= last - first <= 4 * 15, (first, last)
        assert sum(f.stats.keyframe_requests_received for f in room.forwarders.values()) - requests <= 2
    finally:
        await crowd.close()
    assert crowd.errors == []

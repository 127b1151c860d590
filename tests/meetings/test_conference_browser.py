"""The city-wide conference in headless Chromium: three officials' pages and 20 light venues (meeting-room
terminals playing a clip, signaling/light_venue.py) in one meeting with last_n 4. Each page plays at most 4 remote
videos; after a roll call every page shows the called venue's video advancing within 2 s; a paged gallery
receives its new page's videos; a venue asks for the floor, the chair gives it, and everybody hears the venue."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from hub import keys
from hub.app import DEMO_DIRECTORY
from hub.directory.importer import load_file
from signaling.light_venue import LightMedia, VenueClient
from signaling.venue_clip import load_clip
from tests.conftest import make_settings, start_hub
from tests.meetings.browser import People, join
from tests.meetings.conftest import create_meeting, ws_url
from tests.meetings.test_meeting_stage import spotlight

pytestmark = [pytest.mark.browser, pytest.mark.media]

OFFICIALS = ["p-xie", "pub-util-04", "pub-util-05"]
VIDEOS = """() => [...document.querySelectorAll('.tile:not(.local):not([hidden]) video')]
  .filter((v) => v.srcObject && v.srcObject.getVideoTracks().length)
  .map((v) => [v.closest('.tile').dataset.key, v.getVideoPlaybackQuality().totalVideoFrames])"""


def terminals(count: int) -> list[tuple[str, str]]:
    """The first `count` meeting-room terminals of the demo directory: (person id, org unit id)."""
    people = load_file(DEMO_DIRECTORY).people
    found = [(str(p["id"]), str(p["org_unit"])) for p in people if "terminal" in p.get("roles", [])]
    assert len(found) >= count
    return found[:count]


async def videos(page: Page) -> dict[str, int]:
    return {key: frames for key, frames in await page.evaluate(VIDEOS)}


async def advancing(page: Page, key: str, within_ms: float) -> None:
    """The tile `key` shows a video whose decoded frames advance, within the time given."""
    await page.wait_for_function(
        f"""() => {{ const v = document.querySelector('[data-test="tile"][data-key="{key}"] video')
          if (!v || !v.srcObject || !v.srcObject.getVideoTracks().length) return false
          const n = v.getVideoPlaybackQuality().totalVideoFrames
          window.__seen = window.__seen || {{}}
          const first = window.__seen['{key}'] ??= n
          return n > first + 3 }}""", timeout=within_ms, polling=50)


async def test_three_pages_and_twenty_venues(chromium: Browser, aiohttp_client: Any, tmp_path: Path) -> None:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, meetings={"last_n": 4, "audio_n": 2}))
    venues = terminals(20)
    meeting = await create_meeting(hub, invited_units=["pub-util", *{unit for _, unit in venues}])
    clip = load_clip(160, 120, 15, 150_000, cache=tmp_path / "clip.json")
    clients = [VenueClient(ws_url(hub), hub.token(person), meeting["id"], LightMedia(person, clip))
               for person, _ in venues]
    crowd = People(chromium, hub)
    try:
        pages = [await crowd.page(person, f"/meetings/{meeting['id']}") for person in OFFICIALS]
        for page in pages:
            await join(page)
        for client in clients:
            await client.join()
        ids = {person: str(c.participant_id) for (person, _), c in zip(venues, clients, strict=True)}
        # every page receives videos, never more than its 4 slots
        for page in pages:
            await page.wait_for_function(f"() => ({VIDEOS})().length >= 3", timeout=30_000)
            assert len(await videos(page)) <= 4

        # roll call of a venue on nobody's first page: every page shows it within 2 s
        called_person, _ = venues[-1]
        called = ids[called_person]
        ordered = time.monotonic()
        assert (await spotlight(hub, meeting["id"], called_person)).status == 200
        await asyncio.gather(*(advancing(page, called, 2_000) for page in pages))
        seen_after = time.monotonic() - ordered
        assert seen_after < 2.0, seen_after
        for page in pages:
            assert len(await videos(page)) <= 4

        # a member pages through the gallery: the next page's videos come
        member = pages[1]
        await member.select_option('[data-test="page-size"]', "4")
        await member.click('[data-test="page-next"]')
        shown = await member.evaluate("() => window.cityhubMeeting.gallery.visible")
        assert len(shown) == 4 and called not in shown
        for key in shown[:3]:  # the spotlight takes one of the 4 slots
            await advancing(member, key, 15_000)

        # a venue asks for the floor; the chair gives it; everybody receives its microphone
        asker_person, _ = venues[3]
        asker = clients[3]
        await asker.request("floor.request")
        chair = pages[0]
        if await chair.is_visible('[data-test="panel-toggle"]'):
            await chair.click('[data-test="panel-toggle"]')
        await chair.click(f'[data-test="grant-{asker_person}"]')
        room = hub.app[keys.MEETING_ROOMS].rooms[meeting["id"]]
        assert room.sfu_room is not None
        await advancing(chair, ids[asker_person], 5_000)
        officials = [str(await page.evaluate("() => window.cityhubMeeting.participantId")) for page in pages]
        # the pages' cameras go out in three temporal layers, as the venues' do (small tiles get the base one)
        cameras = [f for f in room.sfu_room.forwarders.values()
                   if f.info.participant_id in officials and f.info.kind == "video"]
        assert len(cameras) == 3 and all(f.temporal_layers == 3 for f in cameras)
        for participant_id in officials:
            peer = room.sfu_room.peers[participant_id]
            assert peer.slots is not None
            heard = {c.track.participant_id for c in peer.slots.contents() if c.track and c.kind == "audio"}
            assert ids[asker_person] in heard
    finally:
        await crowd.close()
        for client in clients:
            await client.close()
    assert crowd.errors == []

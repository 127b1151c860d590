"""Two browsers in a recorded meeting: the chair records from the meeting page, both pages show it, a decision
taken at second 10 links to that moment, the per-track files and the archive hold what was sent (PyAV), and the
archive plays in Chromium from the decision's "▶ 00:00:10"."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from playwright.async_api import Browser, Page

from hub import keys
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.browser import join, people_on, remote_videos_playing
from tests.meetings.conftest import CHAIR, create_meeting
from tests.recordings.test_recording_media import streams_of, until_status

pytestmark = [pytest.mark.browser, pytest.mark.media]

MEMBER = "pub-util-04"
# for a human to look at (test-artifacts/ is git-ignored)
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "recordings"


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def recording_shown(page: Page, shown: bool) -> None:
    await page.locator('[data-test="recording-badge"]').wait_for(state="visible" if shown else "hidden")
    assert await page.locator('[data-test="recording-mark"]').is_visible() is shown


async def test_a_meeting_recorded_from_the_meeting_page_plays_back(
    chromium: Browser, aiohttp_client: Any, tmp_path: Path
) -> None:
    hub: Hub = await start_hub(aiohttp_client, make_settings(
        tmp_path, meetings={"inactivity_timeout": 4.0}, recordings={"archive_width": 640, "archive_height": 360}))
    async with people_on(chromium, hub) as crowd:
        meeting = await create_meeting(hub, invited_people=[MEMBER])
        chair = await crowd.page(CHAIR, f"/meetings/{meeting['id']}")
        member = await crowd.page(MEMBER, f"/meetings/{meeting['id']}", locale="en", width=390, height=844)
        # everybody hears it too: the chime's notes, counted as the page makes them
        await member.evaluate("""() => { window.notes = []; const make = AudioContext.prototype.createOscillator;
            AudioContext.prototype.createOscillator = function () { const o = make.call(this);
              const start = o.start.bind(o); o.start = (at) => { window.notes.push(o.frequency.value); start(at) };
              return o } }""")
        await join(chair)
        await join(member)
        await remote_videos_playing(chair, 1)
        assert not await member.locator('[data-test="record"]').is_visible()  # the chair's control

        await chair.click('[data-test="record"]')
        started = time.monotonic()
        for page in (chair, member):
            await recording_shown(page, True)
        assert "This meeting is being recorded." in await member.locator('[data-test="chat-log"]').inner_text()
        assert await member.evaluate("window.notes") == [523, 659, 784]  # rising: recording
        assert await chair.get_attribute('[data-test="record"]', "aria-pressed") == "true"
        await shot(chair, "meeting-recording-zh-wide")
        await shot(member, "meeting-recording-en-narrow")

        await asyncio.sleep(10 - (time.monotonic() - started))
        due = (hub.app[keys.SUPERVISION].today() + timedelta(days=7)).isoformat()
        decided = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/decisions", headers=hub.auth(CHAIR),
                                        json={"text": "三日内上报供水抢修方案", "lead_unit": "pub-util",
                                              "responsible": MEMBER, "due_date": due})
        assert decided.status == 201, await decided.text()
        item_id = (await decided.json())["item"]["id"]
        await asyncio.sleep(20 - (time.monotonic() - started))
        await chair.click('[data-test="record"]')
        for page in (chair, member):
            await recording_shown(page, False)
        assert await member.evaluate("window.notes") == [523, 659, 784, 784, 659, 523]  # and falling: stopped

        listed = await hub.client.get(f"/api/v1/meetings/{meeting['id']}/recordings", headers=hub.auth(CHAIR))
        (recording,) = (await listed.json())["items"]
        ready = await until_status(hub, recording["id"], "ready", within=90)
        assert 19.0 <= ready["duration"] <= 22.0
        folder = hub.app[keys.RECORDINGS].folder(
            (await hub.app[keys.RECORDINGS].get(await hub.app[keys.AUTH].authenticate(hub.token(CHAIR)),
                                                recording["id"]))[0])
        assert sorted(t["kind"] for t in ready["tracks"]) == ["audio", "audio", "video", "video"]
        files = sorted((folder / "tracks").glob("*.webm"))
        assert len(files) == 4
        for file in files:
            codecs, seconds = streams_of(file)
            assert codecs in (["vp8"], ["opus"])
            # every track from its first frame, a moment after the start, to the stop
            assert ready["duration"] - 2.0 <= seconds <= ready["duration"] + 0.5, (file.name, seconds)
        with av.open(str(folder / "archive.webm")) as archive:
            assert [s.codec_context.name for s in archive.streams] == ["vp8", "opus"]
        _, seconds = streams_of(folder / "archive.webm")
        assert abs(seconds - ready["duration"]) <= 1.0

        item = await hub.client.get(f"/api/v1/supervision/items/{item_id}", headers=hub.auth(CHAIR))
        moment = (await item.json())["recording"]
        assert moment["recording_id"] == recording["id"] and abs(moment["offset"] - 10.0) <= 1.0

        # the item page's "▶ 00:00:10" opens the playback at that moment, and the archive plays
        await chair.goto(crowd.url(f"/supervision/items/{item_id}"))
        link = chair.locator('[data-test="decision-moment"]')
        assert (await link.inner_text()).startswith("▶ 00:00:1") or (await link.inner_text()).startswith("▶ 00:00:09")
        await link.click()
        await chair.wait_for_selector('[data-test="player"]')
        await chair.wait_for_function("() => { const v = document.querySelector('video'); return v.currentTime >= 10.5"
                                      " && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 5 }",
                                      timeout=20_000)
        assert await chair.locator('[data-test="moment"]').count() == 1
        await shot(chair, "playback-zh-wide")
        await member.goto(crowd.url(f"/recordings/{recording['id']}"))
        await member.wait_for_selector('[data-test="player"]')
        assert await member.locator('[data-test="download"]').count() == 0  # watching, not keeping a copy
        await member.click('[data-test="moment"]')
        await member.wait_for_function("() => document.querySelector('video').currentTime > 9", timeout=20_000)
        await shot(member, "playback-en-narrow")

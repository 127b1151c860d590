"""The light venue (signaling/light_venue.py) the conference benchmark is made of: it counts what arrives per
receive slot without decoding, stops its camera when the hub says nobody receives it, and starts again with a
key frame."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from signaling.light_venue import LightMedia, VenueClient
from signaling.venue_clip import load_clip
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.conftest import create_meeting, ws_url

pytestmark = pytest.mark.media

PEOPLE = ["p-xie", "pub-util-02", "pub-util-03"]


@pytest.fixture
async def venues(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[tuple[Hub, list[VenueClient]]]:
    settings = make_settings(tmp_path, meetings={"last_n": 1, "audio_n": 1, "inactivity_timeout": 3.0})
    hub = await start_hub(aiohttp_client, settings)
    meeting = await create_meeting(hub)
    clip = load_clip(160, 120, 15, 150_000, cache=tmp_path / "clip.json")
    clients = [VenueClient(ws_url(hub), hub.token(p), meeting["id"], LightMedia(p, clip)) for p in PEOPLE]
    yield hub, clients
    for client in clients:
        await client.close()


async def test_a_light_venue_counts_per_slot_and_honours_pause(venues: tuple[Hub, list[VenueClient]]) -> None:
    hub, (a, b, c) = venues
    for client in (a, b, c):
        assert (await client.join())["status"] == "joined"
    for client in (a, b, c):
        await client.wait(lambda cl=client: cl.media.first_video_at() is not None, within=20,  # type: ignore[misc]
                          what="a first video key frame")
        # one video slot and 1 + 2 audio slots, counted apart; nothing was decoded
        assert set(client.media.counters) == {"video-0", "audio-0", "audio-1", "audio-2"} == set(client.slots)
        assert client.media.counters["video-0"].keyframes >= 1

    # a and c look at b, b looks at a: nobody receives c's camera, and c stops sending it
    await a.request("media.view", visible=[b.participant_id])
    await c.request("media.view", visible=[b.participant_id])
    await b.request("media.view", visible=[a.participant_id])
    await c.wait(lambda: c.media.video_paused, within=10, what="c told to pause its camera")
    await asyncio.sleep(0.3)
    sent = c.media.snapshot()["sent"]
    await asyncio.sleep(0.5)
    after = c.media.snapshot()["sent"]
    assert after["video"] == sent["video"] and after["audio"] > sent["audio"]  # the microphone goes on
    room = hub.app[keys.MEETING_ROOMS].sfu.rooms[a.meeting_id]
    assert all(f.paused for f in room.forwarders.values() if f.info.participant_id == c.participant_id
               and f.info.kind == "video")

    # a asks for c: c sends again, starting with a key frame, and a's slot counts c's frames
    asked = time.monotonic()
    await a.request("media.view", visible=[c.participant_id])
    await a.wait(lambda: a.switch_delay(str(c.participant_id), asked) is not None, within=10,
                 what="c's first key frame in a's slot")
    assert not c.media.video_paused and c.media.snapshot()["sent"]["video"] > after["video"]
    frames = a.media.frames("video")["video-0"]
    await a.wait(lambda: a.media.frames("video")["video-0"] > frames + 10, within=10, what="c's frames at a")
    assert a.media.counters["video-0"].keyframes >= 2  # b's, then c's
    assert a.media.counters["video-0"].upper_frames > 0  # one tile is a large one: every temporal layer

    # the hub asked for Opus DTX: muted by the chair, c's microphone sends a packet every 400 ms, not 50 a second
    assert c.media.dtx
    microphone = next(f for f in room.forwarders.values()
                      if f.info.participant_id == c.participant_id and f.info.kind == "audio")
    await a.request("moderator.mute", participant_id=c.participant_id, kind="audio")
    await c.wait(lambda: c.media.muted, within=10, what="c muted")
    await asyncio.sleep(0.3)
    received = microphone.stats.packets_received
    await asyncio.sleep(2.0)
    assert 2 <= microphone.stats.packets_received - received <= 7


async def test_a_small_tile_receives_the_base_layer_only(aiohttp_client: Any, tmp_path: Path) -> None:
    """With full_rate_tiles 0 every tile is small: a venue's slot gets the other's base temporal layer (a
    quarter of its frames, none of the upper layers) as a stream without gaps."""
    settings = make_settings(tmp_path, meetings={"last_n": 1, "audio_n": 1, "full_rate_tiles": 0})
    hub = await start_hub(aiohttp_client, settings)
    meeting = await create_meeting(hub)
    clip = load_clip(160, 120, 15, 150_000, cache=tmp_path / "clip.json")
    a, b = [VenueClient(ws_url(hub), hub.token(p), meeting["id"], LightMedia(p, clip)) for p in PEOPLE[:2]]
    try:
        for client in (a, b):
            assert (await client.join())["status"] == "joined"
        await a.wait(lambda: a.media.counters.get("video-0") is not None
                     and a.media.counters["video-0"].frames >= 6, within=20, what="b's frames at a")
        counter = a.media.counters["video-0"]
        sent_before, frames_before, lost_before = b.media.snapshot()["sent"]["video"], counter.frames, counter.lost
        await asyncio.sleep(2)
        assert counter.upper_frames == 0 and counter.lost == lost_before
        received = counter.frames - frames_before
        assert 0.15 * 2 * clip.fps <= received <= 0.4 * 2 * clip.fps  # about a quarter of 15 frames/s
        assert b.media.snapshot()["sent"]["video"] > sent_before
        room = hub.app[keys.MEETING_ROOMS].sfu.rooms[a.meeting_id]
        assert sum(f.stats.packets_thinned for f in room.forwarders.values()) > 0
    finally:
        for client in (a, b):
            await client.close()

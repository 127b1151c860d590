"""Receive slots through the hub: at most meetings.last_n videos each, slots told to their subscriber (media.slots),
the tiles a page shows (media.view) honoured, and no renegotiation when someone joins."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from signaling.client import MeetingClient
from signaling.ws_client import SignalingError
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.conftest import create_meeting

pytestmark = pytest.mark.media

PEOPLE = ["p-xie", "pub-util-02", "pub-util-03", "pub-util-04"]


@pytest.fixture
async def slot_hub(aiohttp_client: Any, tmp_path: Path) -> Hub:
    settings = make_settings(tmp_path, meetings={"last_n": 2, "audio_n": 1, "inactivity_timeout": 3.0,
                                                 "speaker_interval": 0.2})
    return await start_hub(aiohttp_client, settings)


async def refused(client: MeetingClient, type_: str, **fields: Any) -> SignalingError:
    with pytest.raises(SignalingError) as caught:
        await client.request(type_, **fields)
    return caught.value


def offers(client: MeetingClient) -> int:
    return client.event_names().count("sdp.offer")


async def test_each_participant_receives_at_most_last_n_videos(slot_hub: Hub, meeting_clients: Any) -> None:
    meeting = await create_meeting(slot_hub)
    clients = [meeting_clients(slot_hub, person, meeting["id"], width=160, height=120) for person in PEOPLE]
    for client in clients:
        assert (await client.join())["status"] == "joined"
    for client in clients:
        await client.wait(lambda c=client: len(c.decoded("video")) == 2  # type: ignore[misc]
                          and min(c.decoded("video").values()) >= 5, within=20, what="two of three cameras")
        # two video slots and 1 + 2 audio slots: the SDP does not grow with the room
        assert set(client.media.received) == {"video-0", "video-1", "audio-0", "audio-1", "audio-2"}
        assert set(client.slots) == set(client.media.received)
        assert len(client.publishers()) >= 2 and client.participant_id not in client.publishers()

    # the page shows a tile whose video the first does not receive: its slots follow, the video decodes
    first = clients[0]
    last = next(c for c in clients[1:] if first.slot_of(str(c.participant_id)) is None)
    await first.request("media.view", visible=[last.participant_id])
    await first.wait(lambda: first.slot_of(str(last.participant_id)) is not None, what="the visible tile's video")
    slot = first.slot_of(str(last.participant_id))
    assert slot is not None
    before = first.media.frames()[slot]
    await first.wait(lambda: first.media.frames()[slot] > before + 10, within=10, what="its frames advancing")
    # a phone-sized page: one video
    await first.request("media.view", visible=[last.participant_id], last_n=1)
    await first.wait(lambda: sum(t is not None for s, t in first.slots.items() if s.startswith("video")) == 1,
                     what="one video slot in use")

    # a fifth joining costs the others no renegotiation
    seen = [offers(c) for c in clients]
    late = meeting_clients(slot_hub, "pub-util-05", meeting["id"], width=160, height=120)
    await late.join()
    await late.wait(lambda: len(late.decoded("video")) == 2, within=20, what="the late joiner's two videos")
    assert [offers(c) for c in clients] == seen


async def test_bad_views_are_refused_and_change_nothing(slot_hub: Hub, meeting_clients: Any) -> None:
    meeting = await create_meeting(slot_hub)
    chair = meeting_clients(slot_hub, "p-xie", meeting["id"], width=160, height=120)
    other = meeting_clients(slot_hub, "pub-util-02", meeting["id"], width=160, height=120)
    await chair.join()
    await other.join()
    # both of the other's tracks in their slots (its microphone may come a moment after its camera)
    await chair.wait(lambda: all(chair.slot_of(str(other.participant_id), kind) for kind in ("video", "audio")),
                     within=20, what="the other")
    slots = dict(chair.slots)
    assert (await refused(chair, "media.view", visible=["nobody-here"])).code == "participant_not_found"
    assert (await refused(chair, "media.view", visible=[f"p{i}" for i in range(10_000)])).code == "invalid_message"
    assert (await refused(chair, "media.view", visible=[other.participant_id] * 2)).code == "invalid_message"
    assert (await refused(chair, "media.view", visible=[], last_n=-1)).code == "invalid_message"
    stranger = meeting_clients(slot_hub, "pub-util-03", meeting["id"])
    await stranger.connect()
    assert (await refused(stranger, "media.view", visible=[])).code == "not_joined"
    # the connection stays, the slots are as they were
    assert await chair.signaling.request("ping") == {}
    assert chair.slots == slots and chair.status == "joined"


async def test_a_video_nobody_receives_is_paused_and_resumes_with_a_key_frame(
    aiohttp_client: Any, tmp_path: Path, meeting_clients: Any
) -> None:
    settings = make_settings(tmp_path, meetings={"last_n": 1, "audio_n": 1, "inactivity_timeout": 3.0})
    hub = await start_hub(aiohttp_client, settings)
    meeting = await create_meeting(hub)
    a, b, c = [meeting_clients(hub, p, meeting["id"], width=160, height=120) for p in PEOPLE[:3]]
    for client in (a, b, c):
        await client.join()
    for client in (a, b, c):
        await client.wait(lambda cl=client: len(cl.slots) == 4, within=20, what="slots")  # type: ignore[misc]
    # a and c look at b, b looks at a: nobody receives c's camera
    await a.request("media.view", visible=[b.participant_id])
    await c.request("media.view", visible=[b.participant_id])
    await b.request("media.view", visible=[a.participant_id])
    await c.wait(lambda: c.media.paused("camera"), within=10, what="c told to pause its camera")
    room = hub.app[keys.MEETING_ROOMS].sfu.rooms[meeting["id"]]
    camera = next(f for f in room.forwarders.values()
                  if f.info.participant_id == c.participant_id and f.info.kind == "video")
    assert camera.paused
    await asyncio.sleep(0.5)  # packets on their way when it paused
    flat = camera.stats.packets_received
    await asyncio.sleep(1.0)
    assert camera.stats.packets_received == flat  # the hub receives nothing of it
    assert not a.media.paused("camera") and not b.media.paused("camera")

    # a wants to see c: c sends again, and a's slot shows c's video from a key frame on
    await a.request("media.view", visible=[c.participant_id])
    await c.wait(lambda: not c.media.paused("camera"), within=10, what="c told to send again")
    await a.wait(lambda: a.slot_of(str(c.participant_id)) is not None, what="c in a's slot")
    slot = a.slot_of(str(c.participant_id))
    assert slot is not None
    frames = a.media.frames()[slot]
    await a.wait(lambda: a.media.frames()[slot] > frames + 10, within=10, what="c's video decoding at a")
    assert camera.stats.packets_received > flat and not camera.paused
    assert camera.stats.keyframe_requests_sent > 0

"""Receive slots with real aiortc peers: a fixed set of m-lines per subscriber, re-pointed without renegotiation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from signaling.media_client import MediaClient
from signaling.sfu import Sfu, SfuConfig, SfuEvent, SlotsChanged
from signaling.sfu.selection import View
from tests.sfu.conftest import Participant, wait_for

pytestmark = pytest.mark.media

LAST_N, AUDIO_N = 2, 1


@pytest.fixture
async def slotted(sfu_events: list[SfuEvent]) -> AsyncIterator[Sfu]:
    hub = Sfu(SfuConfig(negotiation_timeout=10.0, inactivity_timeout=3.0, speaker_interval=0.2, last_n=LAST_N,
                        audio_n=AUDIO_N), sfu_events.append)
    await hub.start()
    yield hub
    await hub.stop()


@pytest.fixture
async def members(slotted: Sfu) -> AsyncIterator[Callable[..., Coroutine[Any, Any, Participant]]]:
    created: list[Participant] = []

    async def make(name: str, **kwargs: Any) -> Participant:
        participant = Participant(slotted, "room-1", MediaClient(name, width=160, height=120, **kwargs))
        created.append(participant)
        return await participant.join()

    yield make
    for participant in created:
        await participant.client.close()


def shown(events: list[SfuEvent], subscriber: str) -> dict[str, str | None]:
    """The latest slot contents told to `subscriber`: slot id -> publisher."""
    latest = [e for e in events if isinstance(e, SlotsChanged) and e.participant_id == subscriber][-1]
    return {c.slot_id: c.track.participant_id if c.track else None for c in latest.slots}


def video_shown(events: list[SfuEvent], subscriber: str) -> set[str | None]:
    return {who for slot, who in shown(events, subscriber).items() if slot.startswith("video")}


async def test_a_subscriber_gets_a_fixed_set_of_slots_whatever_the_room_size(
    slotted: Sfu, sfu_events: list[SfuEvent], members
) -> None:
    publishers = [await members(name) for name in ("alice", "bob", "carol", "dave")]
    viewer = await members("vic", video=False, audio=False)
    # two video slots and 1 + 2 audio slots, all decoding, though four cameras and microphones are published
    await wait_for(lambda: len(viewer.client.received) == LAST_N + AUDIO_N + 2, what="vic's five slots")
    await wait_for(lambda: len(viewer.client.frames("video")) == 2
                   and min(viewer.client.frames("video").values()) > 5, what="vic decoding two slots")
    assert set(viewer.client.received) == {"video-0", "video-1", "audio-0", "audio-1", "audio-2"}
    assert len(video_shown(sfu_events, "vic") - {None}) == 2
    offers = viewer.offers_answered

    # roll call: dave is shown to everyone; the slot that switches goes on decoding
    slotted.rooms["room-1"].set_spotlight("dave")
    await wait_for(lambda: "dave" in video_shown(sfu_events, "vic"), what="dave in vic's slots")
    dave_slot = next(s for s, who in shown(sfu_events, "vic").items() if who == "dave")
    before = viewer.client.frames("video")[dave_slot]
    await wait_for(lambda: viewer.client.frames("video")[dave_slot] > before + 10, what="dave's video decoding")
    assert "dave" in video_shown(sfu_events, "alice") and "dave" not in video_shown(sfu_events, "dave")
    assert "dave" in {who for slot, who in shown(sfu_events, "vic").items() if slot.startswith("audio")}

    # a page showing carol gets carol (after the spotlight), and nobody renegotiated for any of it
    slotted.rooms["room-1"].set_view("vic", View(visible=("carol",)))
    await wait_for(lambda: video_shown(sfu_events, "vic") == {"dave", "carol"}, what="carol shown to vic")
    slotted.rooms["room-1"].set_view("vic", View(visible=("carol",), last_n=1))
    await wait_for(lambda: video_shown(sfu_events, "vic") == {"dave", None}, what="a phone-sized view")

    # a venue leaving costs the others no renegotiation: its slot moves on
    await slotted.leave("room-1", "dave")
    publishers[3].client.closed or await publishers[3].client.close()
    await wait_for(lambda: "dave" not in video_shown(sfu_events, "vic"), what="dave's slot re-pointed")
    assert viewer.offers_answered == offers
    for p in publishers[:3]:
        assert len(p.client.received) == LAST_N + AUDIO_N + 2


async def test_slots_are_told_with_their_mids(slotted: Sfu, sfu_events: list[SfuEvent], members) -> None:
    await members("alice")
    await members("bob")
    await wait_for(lambda: any(isinstance(e, SlotsChanged) and e.participant_id == "bob" for e in sfu_events),
                   what="bob's slots")
    first = next(e for e in sfu_events if isinstance(e, SlotsChanged) and e.participant_id == "bob")
    assert [c.slot_id for c in first.slots] == ["video-0", "video-1", "audio-0", "audio-1", "audio-2"]
    assert all(c.mid is not None for c in first.slots)
    await wait_for(lambda: video_shown(sfu_events, "bob") == {"alice", None}, what="alice in bob's slots")

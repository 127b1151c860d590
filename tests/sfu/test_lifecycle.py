"""Participants leaving, connections dying, rooms closing, negotiation rules and bad input."""

from __future__ import annotations

import pytest
from aiortc import RTCSessionDescription

from signaling.sfu import (
    PeerFailed,
    RoomClosed,
    Sfu,
    SfuError,
    SfuEvent,
    TrackPublished,
    TrackUnpublished,
)
from tests.sfu.conftest import wait_for

pytestmark = pytest.mark.media


def flowing(p, kind: str = "video", count: int = 1, minimum: int = 3) -> bool:
    live = [t for t in p.client.live_tracks(kind)]
    return len(live) == count and all(t.frames >= minimum for t in live)


async def test_leaving_participant_ends_others_tracks_and_media_continues(
    sfu: Sfu, sfu_events: list[SfuEvent], participants
) -> None:
    a, b, c = [await participants(name) for name in ("alice", "bob", "carol")]
    await wait_for(lambda: all(flowing(p, count=2) for p in (a, b, c)), what="media flowing")

    await sfu.leave("room-1", "carol")
    await c.client.close()

    def carol_gone(p) -> bool:
        return all(t.ended for t in p.client.received.values() if t.track_id.startswith("carol-"))

    await wait_for(lambda: carol_gone(a) and carol_gone(b), what="carol's tracks ending at alice and bob")
    unpublished = [e.track.participant_id for e in sfu_events if isinstance(e, TrackUnpublished)]
    assert unpublished == ["carol", "carol"]
    assert not any(isinstance(e, PeerFailed) for e in sfu_events)  # leaving is not failing

    frames = a.client.frames("video")
    await wait_for(
        lambda: (
            a.client.frames("video")[next(iter(b.client.frames())) if False else _bob_video(a)]
            > frames[_bob_video(a)] + 5
        ),
        what="alice still decoding bob after the renegotiation",
    )
    assert b.offers_answered >= 2  # renegotiated when carol joined and when she left
    assert set(sfu.rooms["room-1"].peers) == {"alice", "bob"}


def _bob_video(p) -> str:
    return next(
        t.track_id for t in p.client.received.values() if t.kind == "video" and t.track_id.startswith("bob-")
    )


async def test_room_stops_when_the_last_participant_leaves(
    sfu: Sfu, sfu_events: list[SfuEvent], participants
) -> None:
    a = await participants("alice")
    b = await participants("bob")
    await wait_for(lambda: flowing(a) and flowing(b), what="media flowing")
    room = sfu.rooms["room-1"]
    await sfu.leave("room-1", "alice")
    assert "room-1" in sfu.rooms
    await sfu.leave("room-1", "bob")
    assert "room-1" not in sfu.rooms and room.stopped
    assert RoomClosed("room-1") in sfu_events
    assert all(p.pc.connectionState == "closed" for p in (a.peer, b.peer))
    # counters survive the room
    assert sfu.stats().packets_forwarded > 0
    # leaving twice, or an unknown room, is harmless
    await sfu.leave("room-1", "bob")
    await sfu.leave("no-such-room", "x")


async def test_closed_client_connection_is_reported_and_removed(
    sfu: Sfu, sfu_events: list[SfuEvent], participants
) -> None:
    a = await participants("alice")
    b = await participants("bob")
    await wait_for(lambda: flowing(a) and flowing(b), what="media flowing")
    await b.client.close()  # no leave: the browser tab just went away
    await wait_for(
        lambda: any(isinstance(e, PeerFailed) and e.participant_id == "bob" for e in sfu_events),
        limit=10,
        what="the ghost participant being reported",
    )
    failed = next(e for e in sfu_events if isinstance(e, PeerFailed))
    assert failed.reason in ("closed", "failed", "inactive")
    await wait_for(lambda: set(sfu.rooms["room-1"].peers) == {"alice"}, what="bob removed from the room")
    await wait_for(
        lambda: all(t.ended for t in a.client.received.values()), what="alice's copy of bob ending"
    )


async def test_client_offer_during_a_server_offer_is_refused_as_glare(sfu: Sfu, participants) -> None:
    a = await participants("alice")
    held: list[str] = []

    async def hold(sdp: str) -> None:  # alice's signaling is slow to deliver this one
        held.append(sdp)

    a.peer._on_offer = hold
    await participants("bob")
    await wait_for(lambda: bool(held), what="a server offer to alice")

    client_offer = await a.client.pc.createOffer()
    with pytest.raises(SfuError) as refused:
        await a.peer.handle_offer(client_offer.sdp)
    assert refused.value.code == "glare"

    # the polite client answers the server's offer, then offers again: accepted
    await a.peer.handle_answer(await a.client.handle_offer(held[0]))
    await a.client.pc.setLocalDescription(await a.client.pc.createOffer())
    answer = await a.peer.handle_offer(a.client.pc.localDescription.sdp)
    await a.client.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await wait_for(lambda: flowing(a), what="alice decoding bob after the glare")


async def test_bad_signaling_input_is_refused_without_harm(sfu: Sfu, sfu_events, participants) -> None:
    a = await participants("alice")
    b = await participants("bob")
    await wait_for(lambda: flowing(a) and flowing(b), what="media flowing")

    for bad in ("", "hello", "v=0\r\n"):
        with pytest.raises(SfuError) as err:
            await a.peer.handle_offer(bad)
        assert err.value.code == "bad_sdp"
    with pytest.raises(SfuError) as err:
        await a.peer.handle_answer(a.client.pc.localDescription.sdp)
    assert err.value.code == "no_offer_pending"
    with pytest.raises(SfuError) as err:
        await a.peer.add_ice_candidate({"candidate": "candidate:garbage", "sdpMid": "0"})
    assert err.value.code == "bad_request"
    with pytest.raises(SfuError) as err:
        await a.peer.add_ice_candidate({"candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host"})
    assert err.value.code == "bad_request"
    with pytest.raises(SfuError) as err:
        offer = await a.client.pc.createOffer()
        await a.peer.handle_offer(offer.sdp, {"0": "hologram"})
    assert err.value.code == "bad_request"
    with pytest.raises(SfuError) as err:
        await sfu.join("", "x", a._on_offer)
    assert err.value.code == "bad_request"
    await a.peer.add_ice_candidate(None)  # end of candidates is fine

    before = a.client.frames("video")[_bob_video(a)]
    await wait_for(lambda: a.client.frames("video")[_bob_video(a)] > before + 5, what="media unaffected")
    assert not any(isinstance(e, PeerFailed) for e in sfu_events)


async def test_stopped_sfu_closes_everything_and_refuses_joins(sfu: Sfu, participants) -> None:
    a = await participants("alice")
    b = await participants("bob")
    await wait_for(lambda: flowing(a) and flowing(b), what="media flowing")
    peers = [a.peer, b.peer]
    await sfu.stop()
    assert not sfu.rooms
    assert all(p.pc.connectionState == "closed" for p in peers)
    with pytest.raises(SfuError) as err:
        await sfu.join("room-1", "carol", a._on_offer)
    assert err.value.code == "closed"


async def test_screen_share_is_an_extra_video_track_labelled_screen(
    sfu: Sfu, sfu_events: list[SfuEvent], participants
) -> None:
    await participants("alice", screen=True)
    b = await participants("bob")
    published = {
        (e.track.participant_id, e.track.source.value) for e in sfu_events if isinstance(e, TrackPublished)
    }
    assert ("alice", "screen") in published and ("alice", "camera") in published
    await wait_for(lambda: flowing(b, count=2), what="bob decoding alice's camera and screen")
    labels = {info.source.value for info in b.peer.subscriptions().values() if info.kind == "video"}
    assert labels == {"camera", "screen"}


async def test_screen_share_started_and_stopped_mid_meeting(
    sfu: Sfu, sfu_events: list[SfuEvent], participants
) -> None:
    from signaling.media_client import PatternVideoTrack

    a = await participants("alice")
    b = await participants("bob")
    await wait_for(lambda: flowing(b), what="bob decoding alice's camera")

    # alice starts sharing her screen: a client re-offer with one more sendonly video
    screen = a.client.pc.addTransceiver(PatternVideoTrack(phase=2), direction="sendonly")
    async with a.client._signaling_lock:
        await a.client.pc.setLocalDescription(await a.client.pc.createOffer())
        answer = await a.peer.handle_offer(a.client.pc.localDescription.sdp, {screen.mid: "screen"})
        await a.client.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await wait_for(lambda: flowing(b, count=2), what="bob decoding alice's camera and screen")
    shared = [
        e.track for e in sfu_events if isinstance(e, TrackPublished) and e.track.source.value == "screen"
    ]
    assert [t.participant_id for t in shared] == ["alice"]

    # ... and stops: the m-line goes inactive, bob's copy of the screen ends
    screen.direction = "inactive"
    async with a.client._signaling_lock:
        await a.client.pc.setLocalDescription(await a.client.pc.createOffer())
        answer = await a.peer.handle_offer(a.client.pc.localDescription.sdp)
        await a.client.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await wait_for(lambda: b.client.received[shared[0].track_id].ended, what="bob's screen tile ending")
    assert TrackUnpublished("room-1", shared[0]) in sfu_events
    assert flowing(b)  # the camera goes on


async def test_a_failing_event_listener_does_not_break_the_room(participants, sfu: Sfu) -> None:
    def explode(event: SfuEvent) -> None:
        raise RuntimeError("listener bug")

    sfu._on_event = explode
    a = await participants("alice")
    b = await participants("bob")
    await wait_for(lambda: flowing(a) and flowing(b), what="media flowing despite the listener")
    await sfu.leave("room-1", "alice")
    await sfu.leave("room-1", "bob")
    assert not sfu.rooms

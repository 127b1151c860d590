"""Three real aiortc participants through the SFU: media decoded end to end, never decoded in the hub."""

from __future__ import annotations

import pytest

from signaling.media_client import MediaClient
from signaling.media_sample import encode_sample
from signaling.sfu import Sfu, TrackSource
from signaling.sfu.aiortc_internals import ForwardingReceiver, decoder_threads_alive
from tests.sfu.conftest import wait_for

pytestmark = pytest.mark.media


def hub_receivers(sfu: Sfu) -> list[ForwardingReceiver]:
    receivers = []
    for room in sfu.rooms.values():
        for forwarder in room.forwarders.values():
            receivers.append(forwarder.receiver)
    return receivers


async def test_three_participants_decode_each_others_video_and_audio(sfu: Sfu, participants) -> None:
    a, b, c = [await participants(name) for name in ("alice", "bob", "carol")]
    everyone = (a, b, c)

    def all_flowing(minimum: int) -> bool:
        return all(
            len(p.client.received) == 4 and all(n >= minimum for n in p.client.frames().values())
            for p in everyone
        )

    await wait_for(lambda: all_flowing(5), what="every participant decoding the other two")
    before = {p.client.name: p.client.frames() for p in everyone}
    await wait_for(lambda: all_flowing(15), what="frame counts advancing")

    room = sfu.rooms["room-1"]
    owners = {t.track_id: t.participant_id for t in room.tracks()}
    for p in everyone:
        senders = {owners[track_id] for track_id in p.client.received}
        assert senders == {"alice", "bob", "carol"} - {p.client.name}
        assert {t.kind for t in p.client.received.values()} == {"audio", "video"}
        for track_id, frames in p.client.frames().items():
            assert frames > before[p.client.name][track_id]
        # every mid the client receives on is labelled with its publisher and source
        labels = p.peer.subscriptions()
        assert {info.participant_id for info in labels.values()} == {"alice", "bob", "carol"} - {
            p.client.name
        }
        assert {info.source for info in labels.values()} == {TrackSource.CAMERA, TrackSource.MICROPHONE}

    stats = sfu.stats()
    assert stats.packets_forwarded > 0 and stats.bytes_forwarded > 0
    assert stats.packets_forwarded >= stats.packets_received  # each packet goes to two subscribers


async def test_hub_never_decodes_forwarded_streams(sfu: Sfu, participants) -> None:
    a, b, c = [await participants(name) for name in ("alice", "bob", "carol")]
    await wait_for(
        lambda: all(len(p.client.received) == 4 and min(p.client.frames().values()) > 5 for p in (a, b, c)),
        what="media flowing",
    )
    receivers = hub_receivers(sfu)
    assert len(receivers) == 6
    for receiver in receivers:
        assert isinstance(receiver, ForwardingReceiver)
        assert receiver.packets_received > 0
        assert not receiver.decoder_running()
        assert receiver.track._queue.qsize() == 0  # nothing decoded was ever queued
    # the only decoder threads in the process are the clients' own (4 remote tracks each)
    assert decoder_threads_alive() == 12


async def test_late_joiner_gets_video_and_sfu_asks_publishers_for_key_frames(sfu: Sfu, participants) -> None:
    a = await participants("alice")
    b = await participants("bob")
    await wait_for(lambda: sum(a.client.frames("video").values()) > 20, what="alice decoding bob")
    requests_before = sfu.stats().keyframe_requests_sent

    c = await participants("carol")
    await wait_for(
        lambda: len(c.client.frames("video")) == 2 and all(n > 0 for n in c.client.frames("video").values()),
        what="carol's first decoded frames of both cameras",
    )
    # a PLI per camera carol subscribed to, sent when her legs were added (one may be merged with a
    # request that left in the 50 ms before, e.g. from a loaded subscriber's own PLI)
    assert sfu.stats().keyframe_requests_sent >= requests_before + 1
    assert all(leg._synced for f in sfu.rooms["room-1"].forwarders.values() for leg in f.legs)
    # her audio tracks too: they need no key frame, but may arrive a moment after the first video frames
    await wait_for(lambda: all(track.first_frame_at is not None for track in c.client.received.values()),
                   what="a first frame on every track carol receives")
    assert b.client.frames("video")


async def test_audio_is_forwarded_without_key_frame_requests(sfu: Sfu, participants) -> None:
    a = await participants("alice", video=False)
    b = await participants("bob", video=False)
    await wait_for(
        lambda: a.client.frames("audio") and min(a.client.frames("audio").values()) > 20, what="audio"
    )
    await wait_for(
        lambda: b.client.frames("audio") and min(b.client.frames("audio").values()) > 20, what="audio"
    )
    assert sfu.stats().keyframe_requests_sent == 0
    assert not a.client.frames("video")


async def test_h264_publishers_are_forwarded_as_h264(sfu: Sfu, participants) -> None:
    a = await participants("alice", audio=False, video_codec="video/H264")
    b = await participants("bob", audio=False, video_codec="video/H264")
    await wait_for(
        lambda: all(p.client.frames("video") and min(p.client.frames("video").values()) > 5 for p in (a, b)),
        what="H.264 video decoded",
    )
    assert "H264" in a.client.pc.remoteDescription.sdp
    assert "VP8" not in a.client.pc.localDescription.sdp.split("m=video", 2)[-1]


async def test_receive_only_participant_gets_everything_and_publishes_nothing(sfu: Sfu, participants) -> None:
    a = await participants("alice")
    viewer = await participants("viewer", video=False, audio=False)
    await wait_for(
        lambda: len(viewer.client.received) == 2 and min(viewer.client.frames().values()) > 5,
        what="the viewer decoding alice",
    )
    assert viewer.peer.published == {}
    assert [t.participant_id for t in sfu.rooms["room-1"].tracks()] == ["alice", "alice"]
    assert a.client.received == {}


async def test_viewers_joining_after_two_publishers_decode_both(sfu: Sfu, participants) -> None:
    # regression: m-lines added by one server offer once lost their transport in a race inside aiortc
    publishers = [await participants(f"pub{i}") for i in range(2)]
    viewers = [await participants(f"viewer{i}", video=False, audio=False) for i in range(2)]
    await wait_for(
        lambda: all(len(v.client.received) == 4 and min(v.client.frames().values()) > 3 for v in viewers),
        what="both viewers decoding both publishers",
    )
    assert all(len(p.client.received) == 2 for p in publishers)


async def test_a_media_file_can_be_published(sfu: Sfu, participants, tmp_path) -> None:
    path = str(tmp_path / "clip.webm")
    encode_sample(path, width=160, height=120, fps=15, seconds=4, bitrate=200_000)

    await participants("player", media_file=path)
    viewer = await participants("viewer", video=False, audio=False)
    await wait_for(
        lambda: viewer.client.frames("video") and min(viewer.client.frames("video").values()) > 5,
        what="the viewer decoding the file",
    )
    assert {size for t in viewer.client.received.values() for size in t.sizes} == {(160, 120)}


async def test_a_file_passed_through_undecoded_is_counted_from_rtp_undecoded(
    sfu: Sfu, participants, tmp_path
) -> None:
    # the load generator of bench/sfu_forwarding.py --passthrough: nobody encodes or decodes
    path = str(tmp_path / "sample.webm")
    encode_sample(path, width=160, height=120, fps=15, seconds=4, bitrate=200_000)
    await participants("player", media_file=path, passthrough=True)
    counting = await participants("counter", video=False, audio=False, decode=False)
    decoding = await participants("decoder", video=False, audio=False)
    await wait_for(
        lambda: all(
            len(p.client.received) == 2 and min(p.client.frames().values()) > 10 for p in (counting, decoding)
        ),
        what="both viewers receiving the file's audio and video",
    )
    assert {size for t in decoding.client.received.values() for size in t.sizes} == {(160, 120)}
    assert all(not t.sizes for t in counting.client.received.values())  # nothing decoded
    receivers = [t.receiver for t in counting.client.pc.getTransceivers() if t.receiver.track is not None]
    assert receivers and all(isinstance(r, ForwardingReceiver) and not r.decoder_running() for r in receivers)


def test_passthrough_needs_a_file() -> None:
    with pytest.raises(ValueError, match="media_file"):
        MediaClient("x", passthrough=True)


async def test_a_leg_switched_to_another_publisher_goes_on_as_one_stream(sfu: Sfu, participants) -> None:
    """What receive slots do: carol's video from alice is pointed at bob's camera and keeps decoding."""
    a = await participants("alice")
    b = await participants("bob")
    c = await participants("carol")
    await wait_for(lambda: len(c.client.frames("video")) == 2 and min(c.client.frames("video").values()) > 10,
                   what="carol decoding both cameras")
    room = sfu.rooms["room-1"]
    cameras = {f.info.participant_id: f for f in room.forwarders.values() if f.info.kind == "video"}
    [leg] = [leg for leg in cameras["alice"].legs if leg.subscriber_id == "carol"]
    slot_track = cameras["alice"].info.track_id
    last_seq = leg.last_sequence_number
    requests = cameras["bob"].stats.keyframe_requests_sent
    frames_before = c.client.frames("video")[slot_track]

    leg.switch_to(cameras["bob"])
    assert leg not in cameras["alice"].legs and leg in cameras["bob"].legs
    await wait_for(lambda: leg._synced, what="the leg starting on a key frame of bob's camera")
    # one continuous stream: the sequence numbers go on where alice's packets stopped
    assert last_seq is not None and leg.last_sequence_number is not None
    assert (leg.last_sequence_number - last_seq) % 65536 < 1000
    assert cameras["bob"].stats.keyframe_requests_sent > requests
    await wait_for(lambda: c.client.frames("video")[slot_track] > frames_before + 30,
                   what="carol's decoder going on with bob's camera on the same track")
    assert a.client.frames("video") and b.client.frames("video")
    with pytest.raises(ValueError):
        leg.switch_to(next(f for f in room.forwarders.values() if f.info.kind == "audio"))

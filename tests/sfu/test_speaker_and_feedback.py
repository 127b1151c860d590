"""Active speaker from RFC 6464 audio levels; subscribers' NACK and PLI handled per leg."""

from __future__ import annotations

import pytest

from signaling.sfu import ActiveSpeakerChanged, Sfu, SfuEvent
from signaling.sfu.speaker import ActiveSpeakerDetector
from tests.sfu.conftest import wait_for

pytestmark = pytest.mark.media


async def test_the_loud_participant_becomes_active_speaker(
    sfu: Sfu, sfu_events: list[SfuEvent], participants
) -> None:
    await participants("quiet", video=False, amplitude=0.0)
    await participants("talker", video=False, amplitude=0.5)
    await participants("listener", video=False, amplitude=0.0)
    await wait_for(
        lambda: any(isinstance(e, ActiveSpeakerChanged) for e in sfu_events), what="an active speaker event"
    )
    changes = [e for e in sfu_events if isinstance(e, ActiveSpeakerChanged)]
    assert changes[0].participant_id == "talker" and changes[0].previous is None
    assert sfu.rooms["room-1"].speakers.current == "talker"


async def test_silence_names_no_speaker_and_a_leaving_speaker_is_cleared(
    sfu: Sfu, sfu_events: list[SfuEvent], participants
) -> None:
    silent = await participants("silent", video=False, amplitude=0.0)
    other = await participants("other", video=False, amplitude=0.0)
    await wait_for(lambda: sum(silent.client.frames("audio").values()) > 40, what="audio flowing")
    await wait_for(lambda: sum(other.client.frames("audio").values()) > 40, what="audio flowing")
    assert not any(isinstance(e, ActiveSpeakerChanged) for e in sfu_events)

    await participants("talker", video=False, amplitude=0.5)
    await wait_for(lambda: sfu.rooms["room-1"].speakers.current == "talker", what="talker active")
    await sfu.leave("room-1", "talker")
    assert sfu_events[-1] == ActiveSpeakerChanged("room-1", None, "talker")


def test_speaker_hysteresis_ignores_blips_and_small_differences() -> None:
    detector = ActiveSpeakerDetector()

    def window(levels: dict[str, int], packets: int = 10) -> str | None:
        for participant, level in levels.items():
            for _ in range(packets):
                detector.add(participant, level)
        return detector.tick()

    def windows_until_switch(levels: dict[str, int], limit: int = 8) -> int | None:
        for n in range(1, limit + 1):
            if window(levels) is not None:
                return n
        return None

    assert windows_until_switch({"a": 127, "b": 127}) is None  # silence: nobody
    switched_after = windows_until_switch({"a": 20, "b": 127})
    assert switched_after is not None and switched_after >= 2  # never on a single loud window
    assert detector.current == "a"
    assert windows_until_switch({"a": 20, "b": 17}) is None  # b only 3 dB louder: a stays
    assert window({"a": 127, "b": 5}) is None  # one loud window of b is a blip ...
    assert windows_until_switch({"a": 20, "b": 127}, limit=4) is None  # ... a is back and stays
    switched_after = windows_until_switch({"a": 127, "b": 5})
    assert switched_after is not None and switched_after >= 2 and detector.current == "b"
    assert detector.remove("b") is True and detector.current is None
    assert detector.remove("nobody") is False
    detector.add("c", 500)  # out-of-range levels are clamped, not trusted
    detector.add("c", -3)
    detector.tick()
    assert 0.0 <= detector.loudness("c") <= 127.0


async def test_subscriber_nack_is_answered_from_the_leg_history(sfu: Sfu, participants) -> None:
    a = await participants("alice", audio=False)
    await participants("bob", audio=False)
    await wait_for(
        lambda: a.client.frames("video") and min(a.client.frames("video").values()) > 10, what="video"
    )
    forwarder = next(f for f in sfu.rooms["room-1"].forwarders.values() if f.info.participant_id == "bob")
    leg = forwarder.legs[0]
    recent = leg.last_sequence_number
    assert recent is not None
    before = forwarder.stats.retransmissions
    await leg.on_nack([recent, (recent - 1) & 0xFFFF])
    assert forwarder.stats.retransmissions == before + 2
    # a packet the leg never sent (far in the future) cannot be retransmitted
    await leg.on_nack([(recent + 30000) & 0xFFFF])
    assert forwarder.stats.retransmissions == before + 2
    assert forwarder.stats.nacks_received >= 2


async def test_subscriber_key_frame_requests_are_forwarded_and_paced(sfu: Sfu, participants) -> None:
    a = await participants("alice", audio=False)
    await participants("bob", audio=False)
    await wait_for(
        lambda: a.client.frames("video") and min(a.client.frames("video").values()) > 10, what="video"
    )
    forwarder = next(f for f in sfu.rooms["room-1"].forwarders.values() if f.info.participant_id == "bob")
    leg = forwarder.legs[0]
    await wait_for(lambda: forwarder.seconds_since_keyframe_request() > 0.5, what="pacing window to pass")
    sent = forwarder.stats.keyframe_requests_sent
    leg.on_keyframe_request()
    leg.on_keyframe_request()
    leg.on_keyframe_request()
    assert forwarder.stats.keyframe_requests_sent == sent + 1  # a burst of PLIs becomes one upstream
    assert forwarder.stats.keyframe_requests_received >= 3
    frames = a.client.frames("video")
    await wait_for(
        lambda: all(n > frames[t] + 5 for t, n in a.client.frames("video").items()), what="video continuing"
    )


async def test_leg_header_rewrite_matches_aiortc_serializer(sfu: Sfu, participants) -> None:
    from aiortc.rtp import RtpPacket

    a = await participants("alice")
    await participants("bob")
    await wait_for(lambda: len(a.client.frames()) == 2 and min(a.client.frames().values()) > 3, what="media")
    for forwarder in sfu.rooms["room-1"].forwarders.values():
        leg = forwarder.legs[0]
        packet = RtpPacket(payload_type=0, marker=1, sequence_number=1, timestamp=2, ssrc=3, payload=b"media")
        packet.extensions.audio_level = (True, 42) if forwarder.info.kind == "audio" else None
        header = leg._header(packet, 111, 65535, 0xFFFFFFFF, b"\x01\x02\x03")
        assert header is not None
        packet.payload_type, packet.sequence_number, packet.timestamp, packet.ssrc = (
            111,
            65535,
            0xFFFFFFFF,
            leg.ssrc,
        )
        packet.extensions.mid = leg.sender.mid
        packet.extensions.abs_send_time = 0x010203
        assert header + packet.payload == packet.serialize(leg.sender.extensions_map)
        parsed = RtpPacket.parse(header + b"media", leg.sender.extensions_map)
        assert parsed.extensions.mid == leg.sender.mid and parsed.marker == 1

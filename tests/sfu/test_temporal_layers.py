"""Small tiles get a publisher's base temporal layer only: the upper layers' packets are not sent, and what the
subscriber sees is one stream without gaps (sequence numbers and VP8 picture ids close over what was left out);
every layer comes back from a key frame, which is asked for."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpParameters
from aiortc.rtp import RtpPacket

from signaling.sfu import TrackInfo, TrackSource
from signaling.sfu.forwarding import KEYFRAME_MIN_INTERVAL, OutgoingLeg, TrackForwarder
from signaling.sfu.keyframes import vp8_frame_start, vp8_temporal_layer
from signaling.sfu.munger import RtpMunger, Vp8Descriptor

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
PATTERN = (0, 2, 1, 2)  # L1T3, as browsers and the light venue send it


def vp8(picture_id: int, tl0: int, layer: int, *, start: bool = True, key: bool = False) -> bytes:
    """A VP8 payload whose descriptor has a picture id, TL0PICIDX and TID (built apart from the code under test)."""
    descriptor = bytes([0x90 if start else 0x80, 0xE0, 0x80 | (picture_id >> 8), picture_id & 0xFF, tl0,
                        layer << 6])
    header = (b"\x10" if key else b"\x11") + b"\x02\x00\x9d\x01\x2a"
    return descriptor + header


@dataclass
class FakeSender:
    ssrc: int = 4242
    mid: str = "0"
    ready: bool = True
    negotiated: RTCRtpParameters = field(default_factory=lambda: RTCRtpParameters(codecs=[VP8]))
    extensions_map: Any = None
    sent: list[bytes] = field(default_factory=list)

    def set_hooks(self, leg: OutgoingLeg) -> None:
        pass

    def try_send_rtp(self, data: bytes, ntp: int, rtp_timestamp: int, payload_size: int) -> bool:
        self.sent.append(data)
        return True


class FakeReceiver:
    def __init__(self) -> None:
        self.keyframe_requests = 0

    def set_sink(self, sink: Any) -> None:
        pass

    async def request_keyframe(self, ssrc: int) -> None:
        self.keyframe_requests += 1


class Publisher:
    """Frames of two packets each, in the L1T3 pattern, through one forwarder."""

    def __init__(self, forwarder: TrackForwarder) -> None:
        self.forwarder = forwarder
        self.seq, self.picture_id, self.tl0, self.frame = 1000, 300, 7, 0

    def send(self, frames: int, *, key_first: bool = False) -> None:
        for n in range(frames):
            key = key_first and n == 0
            layer = 0 if key else PATTERN[self.frame % 4]
            if layer == 0:
                self.tl0 = (self.tl0 + 1) & 0xFF
            for part in range(2):
                packet = RtpPacket(payload_type=96, sequence_number=self.seq, timestamp=3000 * self.frame,
                                   ssrc=777, marker=part == 1)
                packet.payload = vp8(self.picture_id, self.tl0, layer, start=part == 0, key=key)
                self.forwarder.on_rtp(packet, VP8)
                self.seq += 1
            self.picture_id += 1
            self.frame += 1


def sent_frames(data: list[bytes]) -> list[tuple[int, int, int]]:
    """(sequence number, picture id, temporal layer) of each packet a subscriber got."""
    out = []
    for packet in data:
        payload = packet[12:]
        out.append((int.from_bytes(packet[2:4], "big"), Vp8Descriptor(payload).picture_id,
                    vp8_temporal_layer(payload)))
    return out


def continuous(frames: list[tuple[int, int, int]]) -> bool:
    seqs = [s for s, _, _ in frames]
    pictures = sorted(set(p for _, p, _ in frames))
    return (all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:], strict=False))
            and all(b - a == 1 for a, b in zip(pictures, pictures[1:], strict=False)))


def test_a_packets_layer_and_frame_start_are_read_from_its_descriptor() -> None:
    assert [vp8_temporal_layer(vp8(5, 1, layer)) for layer in (0, 1, 2)] == [0, 1, 2]
    assert vp8_temporal_layer(b"\x90\x80\x81\x00\x10") == -1  # no T bit: an encoder without temporal layers
    assert vp8_temporal_layer(b"\x10\x02") == -1 and vp8_temporal_layer(b"\x90\xe0\x81") == -1  # cut short
    assert vp8_frame_start(vp8(5, 1, 0)) and not vp8_frame_start(vp8(5, 1, 0, start=False))


def test_a_dropped_packet_in_order_closes_the_sequence_gap() -> None:
    munger = RtpMunger(90000)
    munger.switch(10, 0, now=1.0)
    a = munger.map(10, 0, now=1.0)[0]
    munger.drop(11)
    munger.drop(12)
    assert munger.map(13, 3000, now=1.03)[0] == (a + 1) % 65536


async def test_a_small_tile_gets_the_base_layer_as_one_continuous_stream() -> None:
    receiver = FakeReceiver()
    forwarder = TrackForwarder(TrackInfo("cam", "p1", "video", TrackSource.CAMERA), receiver, [], None)  # type: ignore[arg-type]
    full, small = FakeSender(), FakeSender(ssrc=4343)
    forwarder.add_leg(OutgoingLeg(forwarder, full, "s1"))  # type: ignore[arg-type]
    thin = OutgoingLeg(forwarder, small, "s2")  # type: ignore[arg-type]
    thin.set_base_only(True)
    forwarder.add_leg(thin)
    publisher = Publisher(forwarder)
    publisher.send(16, key_first=True)

    assert len(full.sent) == 32 and continuous(sent_frames(full.sent))
    got = sent_frames(small.sent)
    assert len(got) == 8 and {layer for _, _, layer in got} == {0}  # four frames of sixteen
    assert continuous(got)
    assert forwarder.stats.packets_thinned == 24

    # every layer again: the base layer goes on until a key frame, which is asked for (once the pacing
    # of key frame requests allows: the one the leg started with left just now)
    await asyncio.sleep(KEYFRAME_MIN_INTERVAL)
    before = len(small.sent)
    thin.set_base_only(False)
    assert forwarder.stats.keyframe_requests_sent == 2  # at the start, and for the way back
    publisher.send(8)
    assert {layer for _, _, layer in sent_frames(small.sent[before:])} == {0}
    publisher.send(8, key_first=True)
    after = sent_frames(small.sent)
    assert {layer for _, _, layer in after[-16:]} == {0, 1, 2} and continuous(after)

    # small again: from the next frame on
    thin.set_base_only(True)
    before = len(small.sent)
    publisher.send(8)
    assert {layer for _, _, layer in sent_frames(small.sent[before:])} == {0} and continuous(sent_frames(small.sent))


async def test_a_publisher_without_temporal_layers_is_sent_whole_to_a_small_tile() -> None:
    forwarder = TrackForwarder(TrackInfo("cam", "p1", "video", TrackSource.CAMERA), FakeReceiver(), [], None)  # type: ignore[arg-type]
    sender = FakeSender()
    leg = OutgoingLeg(forwarder, sender, "s1")  # type: ignore[arg-type]
    leg.set_base_only(True)
    forwarder.add_leg(leg)
    for n in range(6):
        packet = RtpPacket(payload_type=96, sequence_number=50 + n, timestamp=3000 * n, ssrc=9, marker=True)
        packet.payload = bytes([0x90, 0x80, 0x80, n]) + (b"\x10" if n == 0 else b"\x11") + b"\x02\x00\x9d\x01\x2a"
        forwarder.on_rtp(packet, VP8)
    assert len(sender.sent) == 6 and forwarder.stats.packets_thinned == 0

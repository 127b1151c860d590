"""Keep one outgoing stream continuous while its source changes: RTP sequence numbers and timestamps, and the VP8
picture id, TL0PICIDX and KEYIDX (RFC 7741), as a receiver must see them when the SFU re-points a stream.

A source changes when a publisher starts over (a new SSRC) or when a receive slot is pointed at another
publisher. A subscriber that gets only a publisher's base temporal layer (a small tile: a quarter of the frame
rate when the encoder sends three layers) misses whole frames on purpose: sequence numbers and picture ids
close over them. The subscriber's decoder must see one stream: sequence numbers without a gap, timestamps that
move on by the time that passed, VP8 picture ids that go on from the last one (libwebrtc's frame buffer uses
them to find the frames a frame refers to). A switch happens only at a key frame of the new source, so nothing
refers back across it. The same principles as Jitsi Videobridge's SSRC rewriting and LiveKit's RTP and VP8
mungers; our own.

aiortc's `VpxPayloadDescriptor` drops the N (non-reference) and Y (layer sync) bits when it serializes, so the
descriptor is rewritten here in place, at the positions the packet already has.
"""

from __future__ import annotations

import random

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32


def newer(a: int, b: int, modulus: int) -> bool:
    """Whether `a` comes after `b` in a wrapping counter (RFC 1982 serial number arithmetic)."""
    return a != b and (a - b) % modulus < modulus // 2


class RtpMunger:
    """Sequence numbers and timestamps of one outgoing stream, whatever source feeds it."""

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.next_seq = random.randrange(0, 0x8000)
        self.last_ts = random.randrange(0, TS_MOD)
        self._last_time: float | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self.started = False

    def switch(self, seq: int, ts: int, now: float) -> None:
        """Packet (`seq`, `ts`) of a new source comes next: it follows what was sent, after the time that passed."""
        if self._last_time is None:
            elapsed = 0
        else:
            # at least one tick: a new frame never repeats the last frame's timestamp
            elapsed = max(1, round((now - self._last_time) * self.clock_rate))
        self._seq_offset = (self.next_seq - seq) % SEQ_MOD
        self._ts_offset = (self.last_ts + elapsed - ts) % TS_MOD
        self.started = True

    def drop(self, seq: int) -> None:
        """Packet `seq` of the current source is not sent (a temporal layer this subscriber does not get): the
        packets after it close the gap, so the subscriber asks for nothing that was never meant for it. (A dropped
        packet that arrives out of order leaves its gap: the subscriber's NACK for it goes unanswered.)"""
        if (seq + self._seq_offset) % SEQ_MOD == self.next_seq:
            self._seq_offset = (self._seq_offset - 1) % SEQ_MOD

    def map(self, seq: int, ts: int, now: float) -> tuple[int, int]:
        """The outgoing sequence number and timestamp of a packet of the current source."""
        out_seq = (seq + self._seq_offset) % SEQ_MOD
        out_ts = (ts + self._ts_offset) % TS_MOD
        if out_seq == self.next_seq or newer(out_seq, self.next_seq, SEQ_MOD):
            self.next_seq = (out_seq + 1) % SEQ_MOD
            self.last_ts = out_ts
            self._last_time = now
        return out_seq, out_ts


class Vp8Descriptor:
    """Where the fields of one VP8 payload descriptor are (positions in the payload, -1: absent)."""

    __slots__ = ("picture_id", "picture_id_at", "long_picture_id", "tl0picidx_at", "keyidx_at", "size")

    def __init__(self, payload: bytes) -> None:
        self.picture_id_at = self.tl0picidx_at = self.keyidx_at = -1
        self.picture_id = 0
        self.long_picture_id = False
        if not payload:
            raise ValueError("empty VP8 payload")
        pos = 1
        if payload[0] & 0x80:
            if len(payload) < 2:
                raise ValueError("VP8 descriptor cut short")
            ext = payload[1]
            pos = 2
            if ext & 0x80:
                if len(payload) <= pos:
                    raise ValueError("VP8 picture id cut short")
                self.picture_id_at = pos
                if payload[pos] & 0x80:
                    if len(payload) <= pos + 1:
                        raise ValueError("VP8 picture id cut short")
                    self.long_picture_id = True
                    self.picture_id = ((payload[pos] & 0x7F) << 8) | payload[pos + 1]
                    pos += 2
                else:
                    self.picture_id = payload[pos]
                    pos += 1
            if ext & 0x40:
                self.tl0picidx_at = pos
                pos += 1
            if ext & 0x10:
                self.keyidx_at = pos
            if ext & 0x30:
                pos += 1
        if pos > len(payload):
            raise ValueError("VP8 descriptor cut short")
        self.size = pos


class Vp8Munger:
    """VP8 picture id, TL0PICIDX and KEYIDX that go on across source switches.

    Until the first switch that moves them, packets pass untouched and only the last one is kept (by reference)
    to read its fields when a switch comes: the common case costs nothing per packet."""

    def __init__(self) -> None:
        self._last_payload: bytes | None = None
        self._last_picture_id: int | None = None  # as sent: 15 bits (or 7 from an encoder that uses 7)
        self._last_tl0: int | None = None
        self._last_keyidx: int | None = None
        self._picture_offset = 0
        self._tl0_offset = 0
        self._keyidx_offset = 0
        self._switch_pending = False
        self._rewriting = False

    def switch(self) -> None:
        """The next packet (a key frame's first) starts a new source: its fields follow the last ones sent."""
        self._switch_pending = True

    def drop(self, payload: bytes) -> None:
        """A packet of a frame that is not sent (a higher temporal layer): at the frame's first packet, the picture
        ids after it close the gap, as the subscriber would see them from an encoder without those layers."""
        if not payload or payload[0] & 0x17 != 0x10:
            return  # not a frame's first packet: the frame was counted already
        if not self._rewriting:
            self._take_last_fields()
            self._rewriting = True
        self._picture_offset = (self._picture_offset - 1) % 0x8000

    def rewrite(self, payload: bytes, descriptor: Vp8Descriptor | None = None) -> bytes:
        """The payload with its descriptor fields continued (ValueError: not a VP8 payload). `descriptor`: the
        payload's, when the caller parsed it already (one parse for every subscriber of a packet)."""
        if not (self._rewriting or self._switch_pending):
            self._last_payload = payload
            return payload
        d = descriptor if descriptor is not None else Vp8Descriptor(payload)
        tl0 = payload[d.tl0picidx_at] if d.tl0picidx_at >= 0 else None
        keyidx = payload[d.keyidx_at] & 0x1F if d.keyidx_at >= 0 else None
        if self._switch_pending:
            self._switch_pending = False
            self._take_last_fields()
            if d.picture_id_at >= 0 and self._last_picture_id is not None:
                self._picture_offset = (self._last_picture_id + 1 - d.picture_id) % 0x8000
            if tl0 is not None and self._last_tl0 is not None:
                self._tl0_offset = (self._last_tl0 + 1 - tl0) % 0x100
            if keyidx is not None and self._last_keyidx is not None:
                self._keyidx_offset = (self._last_keyidx + 1 - keyidx) % 0x20
            self._rewriting = bool(self._picture_offset or self._tl0_offset or self._keyidx_offset)
        width = 0x8000 if d.long_picture_id else 0x80
        picture_id = (d.picture_id + self._picture_offset) % width if d.picture_id_at >= 0 else None
        if tl0 is not None:
            tl0 = (tl0 + self._tl0_offset) % 0x100
        if keyidx is not None:
            keyidx = (keyidx + self._keyidx_offset) % 0x20
        self._remember(picture_id, width, tl0, keyidx)
        out = bytearray(payload[:d.size])
        if picture_id is not None:
            if d.long_picture_id:
                out[d.picture_id_at] = 0x80 | (picture_id >> 8)
                out[d.picture_id_at + 1] = picture_id & 0xFF
            else:
                out[d.picture_id_at] = picture_id
        if tl0 is not None:
            out[d.tl0picidx_at] = tl0
        if keyidx is not None:
            out[d.keyidx_at] = (payload[d.keyidx_at] & 0xE0) | keyidx
        return bytes(out) + payload[d.size:]

    def _take_last_fields(self) -> None:
        last, self._last_payload = self._last_payload, None
        if last is None:
            return
        try:
            d = Vp8Descriptor(last)
        except ValueError:
            return
        if d.picture_id_at >= 0:
            self._last_picture_id = d.picture_id
        if d.tl0picidx_at >= 0:
            self._last_tl0 = last[d.tl0picidx_at]
        if d.keyidx_at >= 0:
            self._last_keyidx = last[d.keyidx_at] & 0x1F

    def _remember(self, picture_id: int | None, width: int, tl0: int | None, keyidx: int | None) -> None:
        if picture_id is not None and (
                self._last_picture_id is None or newer(picture_id, self._last_picture_id % width, width)):
            self._last_picture_id = picture_id
        if tl0 is not None and (self._last_tl0 is None or newer(tl0, self._last_tl0, 0x100)):
            self._last_tl0 = tl0
        if keyidx is not None:
            self._last_keyidx = keyidx

"""The munger keeps one outgoing stream continuous while its source changes (publisher restart, slot re-pointed)."""

from __future__ import annotations

import struct

import pytest
from aiortc.codecs.vpx import VpxPayloadDescriptor

from signaling.sfu.munger import RtpMunger, Vp8Descriptor, Vp8Munger, newer

VP8_KEY = b"\x10\x02\x00\x9d\x01\x2a"  # a key frame's payload header (P bit 0) and start code
VP8_DELTA = b"\x11\x02\x00"


def vp8(picture_id: int, tl0: int | None = 5, keyidx: int | None = 3, key: bool = False, non_ref: bool = False,
        short: bool = False) -> bytes:
    """A VP8 RTP payload with the descriptor fields given (built apart from the code under test)."""
    descriptor = bytes(VpxPayloadDescriptor(1, 0, picture_id=picture_id, tl0picidx=tl0, keyidx=keyidx))
    if short:  # a 7-bit picture id: aiortc always writes 15 bits, some encoders do not
        descriptor = descriptor[:2] + bytes([picture_id & 0x7F]) + descriptor[4:]
    if non_ref:
        descriptor = bytes([descriptor[0] | 0x20]) + descriptor[1:]
    return descriptor + (VP8_KEY if key else VP8_DELTA)


def fields(payload: bytes) -> tuple[int | None, int | None, int | None]:
    parsed, _ = VpxPayloadDescriptor.parse(payload)
    return parsed.picture_id, parsed.tl0picidx, parsed.keyidx


def test_serial_number_order_wraps() -> None:
    assert newer(1, 0, 1 << 16) and newer(0, 0xFFFF, 1 << 16) and not newer(0xFFFF, 0, 1 << 16)
    assert not newer(7, 7, 1 << 16)


def test_sequence_numbers_go_on_and_timestamps_move_by_the_time_that_passed() -> None:
    munger = RtpMunger(90000)
    munger.switch(100, 5000, now=10.0)
    first = munger.map(100, 5000, now=10.0)
    second = munger.map(101, 8000, now=10.033)
    assert second == ((first[0] + 1) % 65536, (first[1] + 3000) % (1 << 32))
    # another publisher, far away in both counters, 100 ms later
    munger.switch(40000, 123_456_789, now=10.133)
    third = munger.map(40000, 123_456_789, now=10.133)
    assert third[0] == (second[0] + 1) % 65536
    assert (third[1] - second[1]) % (1 << 32) == 9000
    # a reordered packet of the new source does not move the stream back
    munger.map(40002, 123_459_789, now=10.2)
    late = munger.map(40001, 123_459_789, now=10.2)
    assert late[0] == (third[0] + 1) % 65536 and munger.next_seq == (third[0] + 3) % 65536


def test_a_switch_right_after_a_packet_still_moves_the_timestamp_on() -> None:
    munger = RtpMunger(48000)
    munger.switch(1, 1, now=5.0)
    a = munger.map(1, 1, now=5.0)
    munger.switch(9, 9, now=5.0)
    b = munger.map(9, 9, now=5.0)
    assert b[0] == (a[0] + 1) % 65536 and (b[1] - a[1]) % (1 << 32) == 1


def test_sequence_numbers_wrap() -> None:
    munger = RtpMunger(90000)
    munger.next_seq = 0xFFFE
    munger.switch(10, 0, now=1.0)
    assert [munger.map(s, 0, now=1.0)[0] for s in (10, 11, 12)] == [0xFFFE, 0xFFFF, 0]
    assert munger.next_seq == 1


def test_vp8_first_source_passes_unchanged() -> None:
    munger = Vp8Munger()
    for pid in (300, 301, 302):
        payload = vp8(pid, non_ref=True)
        assert munger.rewrite(payload) is payload


def test_vp8_fields_go_on_across_a_switch_and_other_bits_stay() -> None:
    munger = Vp8Munger()
    for pid in (32766, 32767, 0):  # the 15-bit picture id wraps
        munger.rewrite(vp8(pid, tl0=200, keyidx=31))
    munger.switch()
    switched = munger.rewrite(vp8(5000, tl0=9, keyidx=2, key=True))
    assert fields(switched) == (1, 201, 0)
    assert switched.endswith(VP8_KEY)
    following = munger.rewrite(vp8(5001, tl0=9, keyidx=2, non_ref=True))
    assert fields(following) == (2, 201, 0)
    assert following[0] & 0x20  # the non-reference bit survives (aiortc's serializer would drop it)
    assert len(following) == len(vp8(5001, tl0=9, keyidx=2))


def test_vp8_seven_bit_picture_ids_keep_their_width() -> None:
    munger = Vp8Munger()
    munger.rewrite(vp8(20000))
    munger.switch()
    out = munger.rewrite(vp8(120, short=True, key=True))
    d = Vp8Descriptor(out)
    assert not d.long_picture_id and d.picture_id == (20001 % 128)
    assert Vp8Descriptor(munger.rewrite(vp8(127, short=True))).picture_id == (20001 + 7) % 128


def test_vp8_a_second_switch_goes_on_from_the_rewritten_fields() -> None:
    munger = Vp8Munger()
    munger.rewrite(vp8(100))
    munger.switch()
    munger.rewrite(vp8(7000, key=True))
    assert fields(munger.rewrite(vp8(7001))) == (102, 6, 4)
    munger.switch()
    assert fields(munger.rewrite(vp8(50, tl0=1, keyidx=1, key=True))) == (103, 7, 5)


def test_vp8_without_extensions_is_left_alone() -> None:
    munger = Vp8Munger()
    munger.rewrite(vp8(10))
    munger.switch()
    plain = b"\x10" + VP8_KEY
    assert munger.rewrite(plain) == plain


@pytest.mark.parametrize("payload", [b"", b"\x80", b"\x80\x80", b"\x80\x80\x81", b"\x80\x40"])
def test_cut_short_vp8_descriptors_are_refused(payload: bytes) -> None:
    with pytest.raises(ValueError):
        Vp8Descriptor(payload)
    munger = Vp8Munger()
    munger.switch()
    with pytest.raises(ValueError):
        munger.rewrite(payload)


def test_descriptor_positions() -> None:
    payload = vp8(0x1234, tl0=7, keyidx=9)
    d = Vp8Descriptor(payload)
    assert (d.picture_id, d.long_picture_id, d.size) == (0x1234, True, 6)
    assert payload[d.tl0picidx_at] == 7 and payload[d.keyidx_at] & 0x1F == 9
    assert struct.unpack("!H", payload[d.picture_id_at:d.picture_id_at + 2])[0] == 0x8000 | 0x1234

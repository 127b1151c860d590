"""Key-frame recognition on RTP payloads, without depacketizing."""

from __future__ import annotations

from signaling.sfu.keyframes import h264_keyframe_start, keyframe_start, needs_keyframe, vp8_keyframe_start


def test_vp8_key_frame_start_is_recognised() -> None:
    # S=1, PID=0, no extension; payload header P=0 (key frame)
    assert vp8_keyframe_start(bytes([0x10, 0x00, 0x9D]))
    # X=1 with I (15-bit picture id), L, T: 1 + 1 + 2 + 1 + 1 bytes of descriptor
    assert vp8_keyframe_start(bytes([0x90, 0xE0, 0x80, 0x01, 0x05, 0x20, 0x00]))
    # aiortc's own encoder output: X=1, I with 15-bit picture id
    assert vp8_keyframe_start(bytes([0x90, 0x80, 0x80, 0x00, 0x50]))


def test_vp8_delta_frames_and_continuations_are_not_key_frames() -> None:
    assert not vp8_keyframe_start(bytes([0x10, 0x01]))  # P=1: inter frame
    assert not vp8_keyframe_start(bytes([0x00, 0x00]))  # not start of partition
    assert not vp8_keyframe_start(bytes([0x11, 0x00]))  # partition 1
    assert not vp8_keyframe_start(bytes([0x90, 0x80, 0x80]))  # truncated after picture id
    assert not vp8_keyframe_start(b"\x10")
    assert not vp8_keyframe_start(b"")


def test_h264_key_frame_start_is_recognised() -> None:
    assert h264_keyframe_start(bytes([0x67, 0x42]))  # SPS
    assert h264_keyframe_start(bytes([0x65, 0x88]))  # IDR slice
    stap_a = bytes([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE])
    assert h264_keyframe_start(stap_a)
    assert h264_keyframe_start(bytes([0x7C, 0x85, 0x00]))  # FU-A, start bit, IDR


def test_h264_non_key_payloads_are_not_key_frames() -> None:
    assert not h264_keyframe_start(bytes([0x41, 0x9A]))  # non-IDR slice
    assert not h264_keyframe_start(bytes([0x7C, 0x05, 0x00]))  # FU-A continuation of IDR
    assert not h264_keyframe_start(bytes([0x7C, 0x81, 0x00]))  # FU-A start of non-IDR
    assert not h264_keyframe_start(bytes([0x78, 0x00, 0x09, 0x67]))  # STAP-A with a lying size
    assert not h264_keyframe_start(b"")


def test_codec_dispatch() -> None:
    assert keyframe_start("video/VP8", bytes([0x10, 0x00]))
    assert keyframe_start("video/H264", bytes([0x65]))
    assert not keyframe_start("audio/opus", bytes([0x10, 0x00]))
    assert needs_keyframe("video/VP8") and needs_keyframe("video/h264")
    assert not needs_keyframe("audio/opus") and not needs_keyframe("video/AV1")

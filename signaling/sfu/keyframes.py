"""Recognise the first RTP packet of a key frame in VP8 and H.264 payloads, and a VP8 packet's temporal layer,
without depacketizing."""

from __future__ import annotations

H264_IDR = 5
H264_SPS = 7
H264_STAP_A = 24
H264_FU_A = 28


def vp8_keyframe_start(payload: bytes) -> bool:
    """True if `payload` (RFC 7741) starts a VP8 key frame."""
    if len(payload) < 2:
        return False
    first = payload[0]
    start_of_partition = bool(first & 0x10)
    partition_id = first & 0x07
    if not start_of_partition or partition_id != 0:
        return False
    pos = 1
    if first & 0x80:  # X: extension byte follows
        ext = payload[pos]
        pos += 1
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if pos >= len(payload):
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    if pos >= len(payload):
        return False
    # VP8 payload header: P bit (inverse key frame flag) is bit 0 of the first byte.
    return not payload[pos] & 0x01


def vp8_temporal_layer(payload: bytes) -> int:
    """The temporal layer (TID, RFC 7741) of a VP8 packet; -1 when its descriptor names none (an encoder without
    temporal scalability, or not VP8)."""
    if len(payload) < 3 or not payload[0] & 0x80:
        return -1
    ext = payload[1]
    if not ext & 0x20:  # T: TID present
        return -1
    pos = 2
    if ext & 0x80:  # I: picture id, 7 or 15 bits
        pos += 2 if payload[pos] & 0x80 else 1
    if ext & 0x40:  # L: TL0PICIDX
        pos += 1
    return payload[pos] >> 6 if pos < len(payload) else -1


def vp8_frame_start(payload: bytes) -> bool:
    """True if `payload` is the first packet of a VP8 frame (S set, partition 0)."""
    return bool(payload) and payload[0] & 0x17 == 0x10


def h264_keyframe_start(payload: bytes) -> bool:
    """True if `payload` (RFC 6184) carries an SPS or the start of an IDR slice."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (H264_IDR, H264_SPS):
        return True
    if nal_type == H264_STAP_A:
        pos = 1
        while pos + 2 < len(payload):
            size = (payload[pos] << 8) | payload[pos + 1]
            pos += 2
            if size == 0 or pos + size > len(payload):
                return False
            if payload[pos] & 0x1F in (H264_IDR, H264_SPS):
                return True
            pos += size
        return False
    if nal_type == H264_FU_A and len(payload) >= 2:
        fu_header = payload[1]
        return bool(fu_header & 0x80) and (fu_header & 0x1F) == H264_IDR
    return False


def keyframe_start(mime_type: str, payload: bytes) -> bool:
    """True if the packet starts a key frame; audio and unknown codecs never need one."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return vp8_keyframe_start(payload)
    if mime == "video/h264":
        return h264_keyframe_start(payload)
    return False


def needs_keyframe(mime_type: str) -> bool:
    """Whether a new subscriber of this codec must start at a key frame."""
    return mime_type.lower() in ("video/vp8", "video/h264")

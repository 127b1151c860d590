"""The SFU's own SDP, rewritten where aiortc has no API for what it must say.

Payload types and header extension ids stay stable across renegotiations:

aiortc's createOffer() re-offers every m-line with its own default payload
types and extension ids (opus 96, VP8 97, mid=1, audio-level=2, ...), ignoring
what the session already negotiated. A browser that chose other numbers in its
first offer refuses such a re-offer ("RTP extension ID reassignment not
supported", "BUNDLE group contains a codec collision"). The SFU rewrites its
offers so every codec and extension keeps the number the client already uses,
and new ones get numbers that are free in the whole BUNDLE group.

Opus DTX is asked for (`ask_for_dtx`): aiortc writes no fmtp of its own for Opus.
"""

from __future__ import annotations

from aiortc import sdp as aiortc_sdp
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

DYNAMIC_PAYLOAD_TYPES = [pt for pt in range(96, 128)] + [pt for pt in range(35, 64)]
ONE_BYTE_EXTENSION_IDS = range(1, 15)

CodecKey = tuple[str, int, int | None, tuple[tuple[str, str], ...]]


def _codec_key(codec: RTCRtpCodecParameters, by_pt: dict[int, RTCRtpCodecParameters]) -> CodecKey | None:
    mime = codec.mimeType.lower()
    if mime.endswith("/rtx"):
        base = by_pt.get(int(codec.parameters.get("apt", -1)))  # type: ignore[arg-type]
        if base is None:
            return None
        base_key = _codec_key(base, by_pt)
        return None if base_key is None else (mime, codec.clockRate, None, (("apt", repr(base_key)),))
    params = tuple(sorted((str(k), str(v)) for k, v in codec.parameters.items()))
    if mime != "video/h264":
        params = ()  # opus/VP8 fmtp differences do not make a different payload format
    return (mime, codec.clockRate, codec.channels if mime.startswith("audio/") else None, params)


def harmonize_offer(offer_sdp: str, session_sdp: str | None) -> str:
    """Rewrite `offer_sdp` to reuse the payload types and extension ids of `session_sdp` (the client's)."""
    if not session_sdp:
        return offer_sdp
    offer = aiortc_sdp.SessionDescription.parse(offer_sdp)
    session = aiortc_sdp.SessionDescription.parse(session_sdp)

    ext_ids: dict[str, int] = {}
    pts: dict[CodecKey, int] = {}
    for media in session.media:
        if media.kind not in ("audio", "video"):
            continue
        for ext in media.rtp.headerExtensions:
            ext_ids.setdefault(ext.uri, ext.id)
        by_pt = {c.payloadType: c for c in media.rtp.codecs if c.payloadType is not None}
        for codec in media.rtp.codecs:
            key = _codec_key(codec, by_pt)
            if key is not None and codec.payloadType is not None:
                pts.setdefault(key, codec.payloadType)
    used_pts = set(pts.values())
    used_ids = set(ext_ids.values())

    for media in offer.media:
        if media.kind not in ("audio", "video"):
            continue
        for ext in media.rtp.headerExtensions:
            if ext.uri not in ext_ids:
                ext_ids[ext.uri] = next(i for i in ONE_BYTE_EXTENSION_IDS if i not in used_ids)
                used_ids.add(ext_ids[ext.uri])
            ext.id = ext_ids[ext.uri]
        by_pt = {c.payloadType: c for c in media.rtp.codecs if c.payloadType is not None}
        keys = {id(c): _codec_key(c, by_pt) for c in media.rtp.codecs}
        remap: dict[int, int] = {}
        for codec in media.rtp.codecs:
            key = keys[id(codec)]
            if key is None or codec.payloadType is None:
                continue
            if key not in pts:
                pts[key] = next(pt for pt in DYNAMIC_PAYLOAD_TYPES if pt not in used_pts)
                used_pts.add(pts[key])
            remap[codec.payloadType] = pts[key]
        for codec in media.rtp.codecs:
            if codec.payloadType in remap:
                codec.payloadType = remap[codec.payloadType]
            apt = codec.parameters.get("apt")
            if isinstance(apt, int) and apt in remap:
                codec.parameters["apt"] = remap[apt]
        media.fmt = [c.payloadType for c in media.rtp.codecs]
    return str(offer)


def ask_for_dtx(sdp: str) -> str:
    """`sdp` (an offer or answer of ours) asking for Opus DTX (`usedtx=1`, RFC 7587) on every audio m-line we
    receive on.

    The fmtp of Opus says what its receiver prefers; a sender that honours `usedtx` (libwebrtc does) sends a
    packet every 400 ms instead of 50 a second while its microphone is silent or muted. In a city-wide conference
    89 muted sub-venues would otherwise send the hub 4,450 packets of silence a second, which it only drops. Every
    SDP of ours must say it again: a description without it turns DTX off.
    """
    description = aiortc_sdp.SessionDescription.parse(sdp)
    changed = False
    for media in description.media:
        if media.kind != "audio" or media.direction not in ("recvonly", "sendrecv") or media.port == 0:
            continue
        for codec in media.rtp.codecs:
            if codec.mimeType.lower() == "audio/opus" and str(codec.parameters.get("usedtx")) != "1":
                codec.parameters["usedtx"] = 1
                changed = True
    return str(description) if changed else sdp

"""What a light venue sends: a camera and microphone encoded once (`load_clip`, cached in a temporary file) and
sent as RTP on a forwarding sender's direct path (`RtpStream`), as signaling/light_venue.py describes.

The camera is VP8 with three temporal layers as a browser sends it; every image of the loop also exists as a key
frame, sent instead when the hub asks for one. The microphone is 20 ms Opus packets.
"""

from __future__ import annotations

import base64
import fractions
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from signaling.media_client import AUDIO_PTIME, AUDIO_RATE, PatternVideoTrack, ToneTrack
from signaling.sfu.aiortc_internals import ForwardingSender
from signaling.sfu.forwarding import ABS_SEND_TIME_URI, AUDIO_LEVEL_URI, MID_URI, ntp_of, rtp_header
from signaling.sfu.keyframes import vp8_keyframe_start
from signaling.sfu.speaker import SILENCE_LEVEL

CLIP_FORMAT = 2  # bump when the cached clip's layout changes
# The camera is encoded with three temporal layers as a browser sends VP8 (L1T3): the base layer every fourth
# frame with 40 % of the bitrate, the next with 60 % of it at half the rate (libwebrtc's split); image i of the
# loop is in layer TEMPORAL_PATTERN[i % 4], and each layer refers only to its own and lower ones.
TEMPORAL_PATTERN = (0, 2, 1, 2)
LAYER_BITRATE_SHARES = (0.4, 0.6, 1.0)
# libvpx undershoots this clip's target with temporal layers: asked for this much more, it sends about as much
# as the single-layer encoder it replaced (so figures stay comparable)
LAYERED_TARGET_FACTOR = 1.4
VP8_CHUNK = 1294  # aiortc's 1300-byte VP8 packets less our 6-byte payload descriptor
DTX_EVERY = 20  # a muted microphone under Opus DTX: a packet every 20 ptimes (400 ms)
KEY_BITRATE_FACTOR = 6  # the clip's key frames get this much more than its bitrate: a few times a delta frame


@dataclass(frozen=True)
class VenueClip:
    """A looped camera and microphone, encoded once.

    `delta[i]` is image i of the loop as one stream encodes it (delta[0] a key frame) and `delta[-1]` the loop's
    first image again, coded against the last, so the loop goes round without a key frame; delta[i] is in
    temporal layer `layer(i)`. `key[i]` is image i encoded alone, sent instead of delta[i] when the hub asks for
    a key frame. `audio`: 20 ms Opus packets.
    """

    width: int
    height: int
    fps: int
    bitrate: int
    delta: tuple[bytes, ...]
    key: tuple[bytes, ...]
    audio: tuple[bytes, ...]

    @property
    def images(self) -> int:
        """Images in the video loop."""
        return len(self.key)

    @staticmethod
    def layer(index: int) -> int:
        """The temporal layer of delta[index] (a whole number of patterns fits in the loop)."""
        return TEMPORAL_PATTERN[index % len(TEMPORAL_PATTERN)]

    def video_bitrate(self) -> float:
        """Bit/s of the loop without key frames."""
        return 8 * sum(len(frame) for frame in self.delta[1:]) * self.fps / (len(self.delta) - 1)

    def to_json(self) -> dict[str, Any]:
        def encode(frames: tuple[bytes, ...]) -> list[str]:
            return [base64.b64encode(f).decode() for f in frames]

        return {"format": CLIP_FORMAT, "width": self.width, "height": self.height, "fps": self.fps,
                "bitrate": self.bitrate, "delta": encode(self.delta), "key": encode(self.key),
                "audio": encode(self.audio)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VenueClip:
        def decode(frames: list[str]) -> tuple[bytes, ...]:
            return tuple(base64.b64decode(f) for f in frames)

        if data.get("format") != CLIP_FORMAT:
            raise ValueError("a clip of another format")
        return cls(int(data["width"]), int(data["height"]), int(data["fps"]), int(data["bitrate"]),
                   decode(data["delta"]), decode(data["key"]), decode(data["audio"]))


def _vp8_encoder(width: int, height: int, fps: int, bitrate: int, gop: int,
                 layered: bool = False) -> av.VideoCodecContext:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = bitrate
    codec.gop_size = gop
    options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    if layered:
        # libvpx's three-layer pattern 0-2-1-2 (ffmpeg's ts_layering_mode 3); error resilience keeps the upper
        # layers from changing the entropy context, so the base layer alone decodes exactly (as libwebrtc does)
        targets = ",".join(str(round(LAYERED_TARGET_FACTOR * bitrate * share / 1000))
                           for share in LAYER_BITRATE_SHARES)
        options["ts-parameters"] = (f"ts_number_layers=3:ts_target_bitrate={targets}:ts_rate_decimator=4,2,1:"
                                    "ts_periodicity=4:ts_layer_id=0,2,1,2:ts_layering_mode=3")
        options["error-resilient"] = "default"
    codec.options = options
    return codec  # type: ignore[no-any-return]


def _encode(codec: Any, frames: list[Any]) -> tuple[bytes, ...]:
    encoded = [bytes(packet) for frame in frames for packet in codec.encode(frame)]
    encoded += [bytes(packet) for packet in codec.encode(None)]
    if len(encoded) != len(frames):
        raise RuntimeError(f"the encoder gave {len(encoded)} packets for {len(frames)} frames")
    return tuple(encoded)


def _camera(width: int, height: int, fps: int, images: int) -> list[av.VideoFrame]:
    """The synthetic camera's test pattern with noise in its middle, so the encoder spends its bitrate as it would
    on a real room; the loop's first image again at the end."""
    camera = PatternVideoTrack(width, height, fps)
    left, right = width // 4, 3 * width // 4

    def image(index: int, pts: int) -> av.VideoFrame:
        frame = camera.frame(index)
        noise = random.Random(index)
        luma = frame.planes[0]
        stride = luma.line_size
        data = bytearray(bytes(luma))
        for y in range(height // 4, 3 * height // 4):
            data[y * stride + left:y * stride + right] = bytes(112 + (v & 8) for v in noise.randbytes(right - left))
        luma.update(bytes(data))
        frame.pts, frame.time_base = pts, fractions.Fraction(1, fps)
        return frame

    return [image(i, i) for i in range(images)] + [image(0, images)]


def encode_clip(width: int, height: int, fps: int, bitrate: int, seconds: float = 2.0) -> VenueClip:
    """Encode `seconds` of camera loop at `bitrate` bit/s (VP8, three temporal layers) and a second of tone
    (Opus)."""
    period = len(TEMPORAL_PATTERN)
    images = max(period, round(seconds * fps / period) * period)
    frames = _camera(width, height, fps, images)
    delta = _encode(_vp8_encoder(width, height, fps, bitrate, gop=10 * images, layered=True), frames)
    key = _encode(_vp8_encoder(width, height, fps, KEY_BITRATE_FACTOR * bitrate, gop=1), frames[:images])
    if not all(vp8_keyframe_start(b"\x10" + k) for k in key) or not vp8_keyframe_start(b"\x10" + delta[0]):
        raise RuntimeError("the encoder did not make key frames where asked")
    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.layout, opus.format, opus.bit_rate = AUDIO_RATE, "mono", "s16", 32000
    microphone = ToneTrack()
    audio = [bytes(p) for i in range(int(1 / AUDIO_PTIME)) for p in opus.encode(microphone.frame(i))]
    return VenueClip(width, height, fps, bitrate, delta, key, tuple(audio))


def load_clip(width: int = 640, height: int = 360, fps: int = 30, bitrate: int = 600_000,
              cache: Path | None = None) -> VenueClip:
    """The clip for these parameters: from the cache file (temporary directory by default), encoded once."""
    name = f"cityhub-venue-clip-{CLIP_FORMAT}-{width}x{height}-{fps}-{bitrate}.json"
    path = cache or Path(tempfile.gettempdir()) / name
    try:
        return VenueClip.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    clip = encode_clip(width, height, fps, bitrate)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(clip.to_json()))
    os.replace(partial, path)  # several processes may encode at once: each file is whole
    return clip


class RtpStream:
    """One published stream: pre-encoded payloads sent as RTP on its sender's direct path."""

    def __init__(self, sender: ForwardingSender, clock_rate: int, mime: str) -> None:
        self.sender = sender
        self.clock_rate = clock_rate
        self.mime = mime
        self.seq = random.randrange(1 << 16)
        self.ts_base = random.randrange(1 << 32)
        self.pt = -1
        self.packets = 0
        self._mid = b""
        self._abs_id = 0
        self._level_id = 0

    def prepare(self) -> bool:
        """Payload type and header extension ids, once negotiated."""
        params = self.sender.negotiated
        if params is None:
            return False
        self.pt = next(c.payloadType for c in params.codecs if c.mimeType.lower() == self.mime
                       and c.payloadType is not None)
        ids = {ext.uri: ext.id for ext in params.headerExtensions}
        mid = (params.muxId or "").encode()
        mid_id = ids.get(MID_URI)
        self._mid = bytes([(mid_id << 4) | (len(mid) - 1)]) + mid if mid_id and 1 <= len(mid) <= 16 else b""
        self._abs_id = ids.get(ABS_SEND_TIME_URI) or 0
        self._level_id = ids.get(AUDIO_LEVEL_URI) or 0
        return True

    def send(self, payload: bytes, ts: int, marker: bool, level: int | None = None) -> None:
        """Send one packet (timestamp `ts` in the stream's clock, from its start)."""
        now = time.time()
        ntp = ntp_of(now)
        ext = self._mid
        if self._abs_id:
            ext += bytes([(self._abs_id << 4) | 2]) + ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big")
        if self._level_id and level is not None:
            voice = 0x80 if level < SILENCE_LEVEL else 0
            ext += bytes([self._level_id << 4, voice | level])  # voice activity, -level dBov
        rtp_ts = (self.ts_base + ts) & 0xFFFFFFFF
        data = rtp_header(marker, self.pt, self.seq, rtp_ts, self.sender.ssrc, ext) + payload
        self.seq = (self.seq + 1) & 0xFFFF
        if self.sender.try_send_rtp(data, ntp, rtp_ts, len(payload)):
            self.packets += 1

"""The media half of CityHub's Python meeting client: one aiortc RTCPeerConnection as a participant.

It publishes a synthetic camera (moving test pattern), a tone or silence as the
microphone, optionally a second synthetic video as a screen share, or a media
file through aiortc's MediaPlayer; it answers the server's offers and counts the
frames it DECODES for every remote track. Tests, benchmarks and the `bot` CLI
use it; the signaling half (WebSocket) is built on top.

The client publishes everything in its first offer and never offers again, so
it cannot glare with the SFU (which is the impolite side, see docs/sfu.md).
"""

from __future__ import annotations

import array
import asyncio
import fractions
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from signaling.sfu.aiortc_internals import adopt_receiver

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90000
AUDIO_RATE = 48000
AUDIO_PTIME = 0.02


class PatternVideoTrack(MediaStreamTrack):
    """A synthetic video track: a diagonal gradient that scrolls, so every frame differs."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15, phase: int = 0) -> None:
        super().__init__()
        if width <= 0 or height <= 0 or width % 2 or height % 2 or not 1 <= fps <= 60:
            raise ValueError("width/height must be even and positive, fps in 1..60")
        self.width, self.height, self.fps = width, height, fps
        self._phase = phase
        self._start: float | None = None
        self._count = 0
        self._base = bytes((i * 3) & 0xFF for i in range(2 * width + 256))

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced at `fps`."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._count += 1
            await asyncio.sleep(max(0.0, self._start + self._count / self.fps - time.monotonic()))
        return self.frame(self._count)

    def frame(self, count: int) -> av.VideoFrame:
        """Frame number `count` of the pattern (also used to pre-encode media files)."""
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        shift = (self._phase + count * 4) % self.width
        luma = frame.planes[0]
        stride = luma.line_size
        rows = [self._base[shift + (y % 64) : shift + (y % 64) + stride] for y in range(self.height)]
        luma.update(b"".join(rows))
        for chroma in frame.planes[1:]:
            chroma.update(bytes([(64 + self._phase * 40) & 0xFF]) * chroma.buffer_size)
        frame.pts = int(count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class ToneTrack(MediaStreamTrack):
    """A synthetic microphone: a sine tone at `amplitude` (0 = silence), 20 ms mono frames at 48 kHz."""

    kind = "audio"

    def __init__(self, frequency: int = 400, amplitude: float = 0.3) -> None:
        super().__init__()
        if not 0.0 <= amplitude <= 1.0:
            raise ValueError("amplitude must be within 0..1")
        if frequency <= 0 or frequency % 50:
            raise ValueError("frequency must be a positive multiple of 50 Hz (whole cycles per 20 ms frame)")
        self.amplitude = amplitude
        self._samples = int(AUDIO_RATE * AUDIO_PTIME)
        wave = array.array(
            "h",
            (
                int(32767 * amplitude * math.sin(2 * math.pi * frequency * i / AUDIO_RATE))
                for i in range(self._samples)
            ),
        )
        self._chunk = wave.tobytes()
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms of tone, paced in real time."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._count += 1
            await asyncio.sleep(max(0.0, self._start + self._count * AUDIO_PTIME - time.monotonic()))
        return self.frame(self._count)

    def frame(self, count: int) -> av.AudioFrame:
        """The 20 ms frame number `count` (also used to pre-encode media files)."""
        frame = av.AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(self._chunk)
        frame.pts = count * self._samples
        frame.sample_rate = AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


class PausableTrack(MediaStreamTrack):
    """A published video the hub may ask to stop sending (nobody receives it): its frames are read and dropped
    (a file or camera behind it must not pile them up) until it is resumed."""

    def __init__(self, inner: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = inner.kind
        self.inner = inner
        self.paused = False
        self.dropped = 0

    async def recv(self) -> Any:
        while True:
            frame = await self.inner.recv()
            if not self.paused:
                return frame
            self.dropped += 1

    def stop(self) -> None:
        super().stop()
        self.inner.stop()


@dataclass
class ReceivedTrack:
    """What the client decoded of one remote track (id = the SFU's stable track id)."""

    track_id: str
    kind: str
    frames: int = 0
    subscribed_at: float = 0.0
    first_frame_at: float | None = None
    ended: bool = False
    sizes: set[tuple[int, int]] = field(default_factory=set)

    @property
    def first_frame_delay(self) -> float | None:
        """Seconds from the track's arrival to its first decoded frame."""
        return None if self.first_frame_at is None else self.first_frame_at - self.subscribed_at


class MediaClient:
    """A meeting participant's media: publish synthetic or file media, count decoded remote frames."""

    def __init__(
        self,
        name: str,
        *,
        video: bool = True,
        audio: bool = True,
        screen: bool = False,
        amplitude: float = 0.3,
        width: int = 320,
        height: int = 240,
        fps: int = 15,
        video_codec: str | None = None,
        media_file: str | None = None,
        passthrough: bool = False,
        decode: bool = True,
        ice_servers: tuple[RTCIceServer, ...] = (),
    ) -> None:
        """`passthrough`: send the file's encoded VP8/H.264/Opus packets as they are, once (no decode, no
        re-encode: a load generator; aiortc loses real-time pacing when it loops an undecoded file).
        `decode=False`: count remote frames from their RTP packets (video: the marker bit ends a frame)
        instead of decoding them."""
        self.name = name
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=list(ice_servers), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.received: dict[str, ReceivedTrack] = {}
        self._video_codec = video_codec
        self._decode = decode
        self._tracks: list[tuple[MediaStreamTrack, str]] = []
        self._player: MediaPlayer | None = None
        if passthrough and media_file is None:
            raise ValueError("passthrough sends a media file's packets: give media_file")
        if media_file is not None:
            self._player = MediaPlayer(media_file, decode=not passthrough)
            if self._player.video is not None:
                self._tracks.append((self._player.video, "camera"))
            if self._player.audio is not None:
                self._tracks.append((self._player.audio, "microphone"))
        else:
            if video:
                self._tracks.append((PatternVideoTrack(width, height, fps), "camera"))
            if audio:
                self._tracks.append((ToneTrack(amplitude=amplitude), "microphone"))
        if screen:
            self._tracks.append((PatternVideoTrack(width, height, max(1, fps // 3), phase=3), "screen"))
        self._tracks = [(PausableTrack(t) if t.kind == "video" else t, source) for t, source in self._tracks]
        self._sources: dict[str, str] = {}
        # descriptions are applied in the order the signaling channel delivered them
        self._signaling_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.pc.on("track", self._on_track)

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    @property
    def connection_state(self) -> str:
        """The RTCPeerConnection's connection state."""
        return self.pc.connectionState

    def pause(self, source: str, paused: bool) -> bool:
        """Stop (or go on) sending the published video of this source; False if there is none."""
        for track, published in self._tracks:
            if published == source and isinstance(track, PausableTrack):
                track.paused = paused
                return True
        return False

    def paused(self, source: str) -> bool:
        """Whether the published video of this source is paused."""
        return any(isinstance(t, PausableTrack) and t.paused for t, published in self._tracks if published == source)

    def sources(self) -> dict[str, str]:
        """mid -> "camera" | "microphone" | "screen" for the published tracks (after create_offer)."""
        return dict(self._sources)

    async def create_offer(self) -> str:
        """Add the published tracks (sendonly) and return the first offer."""
        if self.pc.localDescription is not None:
            raise RuntimeError("the client offers once; later changes come as server offers")
        transceivers = []
        for track, source in self._tracks:
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            if track.kind == "video" and self._video_codec:
                preferred = [
                    c
                    for c in RTCRtpSender.getCapabilities("video").codecs
                    if c.mimeType.lower() in (self._video_codec.lower(), "video/rtx")
                ]
                transceiver.setCodecPreferences(preferred)
            transceivers.append((transceiver, source))
        if not self._tracks:
            # a receive-only participant still needs one m-line to set up ICE/DTLS; the SFU sends on its own
            self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._sources = {t.mid: source for t, source in transceivers if t.mid is not None}
        return self.pc.localDescription.sdp

    async def handle_answer(self, sdp: str) -> None:
        """Apply the SFU's answer to our offer."""
        async with self._signaling_lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def handle_offer(self, sdp: str) -> str:
        """Apply a server offer (tracks added or removed) and return our answer."""
        async with self._signaling_lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            return self.pc.localDescription.sdp

    def frames(self, kind: str | None = None) -> dict[str, int]:
        """Decoded frame counts per remote track id (optionally one kind)."""
        return {t.track_id: t.frames for t in self.received.values() if kind is None or t.kind == kind}

    def live_tracks(self, kind: str | None = None) -> list[ReceivedTrack]:
        """Remote tracks that have not ended."""
        return [t for t in self.received.values() if not t.ended and (kind is None or t.kind == kind)]

    def _on_track(self, track: MediaStreamTrack) -> None:
        received = ReceivedTrack(track_id=track.id, kind=track.kind, subscribed_at=time.monotonic())
        self.received[track.id] = received
        if not self._decode:
            # "track" fires inside setRemoteDescription, before aiortc starts the receiver
            receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
            adopt_receiver(receiver).set_sink(RtpFrameCounter(received))
            track.on("ended", lambda: setattr(received, "ended", True))
            return
        task = asyncio.ensure_future(count_frames(track, received))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Close the connection and stop every track and task."""
        if self._closed:
            return
        self._closed = True
        await self.pc.close()
        for track, _ in self._tracks:
            track.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class RtpFrameCounter:
    """Counts a remote track's frames from its RTP packets, without decoding (a receiver sink)."""

    def __init__(self, received: ReceivedTrack) -> None:
        self.received = received

    def on_rtp(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        received = self.received
        if received.kind == "audio" or packet.marker:
            if received.first_frame_at is None:
                received.first_frame_at = time.monotonic()
            received.frames += 1


async def connect_direct(client: MediaClient, peer: object, sources: Mapping[str, str] | None = None) -> None:
    """Negotiate `client` with an SfuPeer in the same process (tests, benchmarks): offer, answer."""
    from signaling.sfu.peer import SfuPeer

    assert isinstance(peer, SfuPeer)
    offer = await client.create_offer()
    answer = await peer.handle_offer(offer, sources if sources is not None else client.sources())
    await client.handle_answer(answer)


async def count_frames(track: MediaStreamTrack, received: ReceivedTrack) -> None:
    """Decode a remote track until it ends, counting frames (and video sizes) into `received`."""
    try:
        while True:
            frame = await track.recv()
            if received.first_frame_at is None:
                received.first_frame_at = time.monotonic()
                logger.debug("first %s frame of %s", received.kind, received.track_id)
            received.frames += 1
            if isinstance(frame, av.VideoFrame):
                received.sizes.add((frame.width, frame.height))
    except MediaStreamError:
        pass
    finally:
        received.ended = True

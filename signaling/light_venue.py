"""A light venue for load tests and benchmarks: a conference venue that publishes a pre-encoded camera and
microphone and counts what it receives per receive slot, encoding and decoding nothing.

A full MediaClient encodes and decodes in real time: about two dozen of them fill a core before the hub does. A
LightMedia keeps aiortc only for what must be real (ICE, DTLS, SRTP keys, RTCP feedback from the hub) and does the
per-packet work itself, as SFU load generators do (LiveKit's `lk load-test`, Jitsi's and mediasoup's tools):

- sending: a clip encoded once (signaling/venue_clip.py: VP8 and Opus, cached in a temporary file) goes out as
  RTP on the sender's direct path (SRTP protect, sendto), paced by the loop's timers; a PLI/FIR from the hub makes
  the next frame a key frame (every frame of the clip exists as a key frame too); `pause` (the hub's `media.pause`)
  stops the video, which starts again with a key frame;
- receiving: the venues of a process read their sockets together every POLL_INTERVAL (SocketPoller: a wake-up
  per packet took them a third more CPU, from the cores the hub shares with them); RTP packets are counted per
  receive slot (by the SSRC the hub's offer gives each m-line) without going through aiortc's receive path; only
  the first packet of each video frame is unprotected, to tell key frames from the VP8 payload header.

`VenueClient` is a MeetingClient with this media half that also keeps when each `media.slots` arrived, so a
benchmark can time a roll call: the chair's order -> the first key frame of the new venue in its slot.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import MediaStreamTrack

from signaling.client import MeetingClient
from signaling.media_client import AUDIO_PTIME, AUDIO_RATE, VIDEO_CLOCK
from signaling.sfu.aiortc_internals import SocketPoller, adopt_receiver, adopt_sender, tap_rtp
from signaling.sfu.keyframes import vp8_keyframe_start, vp8_temporal_layer
from signaling.sfu.speaker import SILENCE_LEVEL
from signaling.venue_clip import DTX_EVERY, VP8_CHUNK, RtpStream, VenueClip

# The venues of a process read their sockets together this often (SocketPoller): a received packet's time is
# late by at most this much
POLL_INTERVAL = 0.005
_pollers: dict[asyncio.AbstractEventLoop, SocketPoller] = {}


def _poller() -> SocketPoller:
    """The socket poller of the running loop (one per process in a benchmark, one per test's loop)."""
    loop = asyncio.get_running_loop()
    poller = _pollers.get(loop)
    if poller is None:
        for old in [old for old in _pollers if old.is_closed()]:
            del _pollers[old]
        poller = _pollers[loop] = SocketPoller(POLL_INTERVAL)
    return poller


@dataclass
class SlotCounter:
    """What arrived on one receive slot (or, without slots, one track's m-line)."""

    slot_id: str
    kind: str
    packets: int = 0
    bytes: int = 0
    frames: int = 0
    upper_frames: int = 0  # frames of upper temporal layers (none: the slot carries a small tile)
    keyframes: int = 0
    lost: int = 0
    first_packet_at: float | None = None
    first_frame_at: float | None = None  # the end of the first key frame: the first image a decoder could show
    keyframe_ends: deque[float] = field(default_factory=lambda: deque(maxlen=256))
    _next_seq: int = -1
    _frame_start: bool = True
    _in_key: bool = False

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain JSON."""
        return {"kind": self.kind, "packets": self.packets, "bytes": self.bytes, "frames": self.frames,
                "upper_frames": self.upper_frames, "keyframes": self.keyframes, "lost": self.lost,
                "first_frame_at": self.first_frame_at}


class LightMedia:
    """A venue's media half for MeetingClient: pre-encoded camera and microphone out, counters in."""

    def __init__(self, name: str, clip: VenueClip, *, video: bool = True, audio: bool = True,
                 level: int = 40) -> None:
        """`level`: the microphone's audio level as sent in the header extension (-dBov: 0 loudest, 127 silent)."""
        self.name = name
        self.clip = clip
        self.level = level
        self.muted = False  # the chair muted the microphone: its level says silence
        self.dtx = False  # the hub asked for Opus DTX (usedtx=1): a muted microphone sends every DTX_EVERY-th packet
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.on("track", self._on_track)
        self._publish = {"video": video, "audio": audio}
        self._video: RtpStream | None = None
        self._audio: RtpStream | None = None
        self._sources: dict[str, str] = {}
        self.counters: dict[str, SlotCounter] = {}  # slot id (msid track id of the m-line) -> counter
        self.track_owner: dict[str, str] = {}  # without slots: track id -> publishing participant
        self._by_ssrc: dict[int, SlotCounter] = {}
        self.unknown_packets = 0
        self.keyframe_requests = 0
        self.video_paused = False
        self._keyframe_wanted = True
        self._image = -1
        self._picture_id = random.randrange(1 << 15)
        self._tl0picidx = random.randrange(1 << 8)
        self._layers_synced: set[int] = set()  # upper layers that sent a frame since the last key frame
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._signaling_lock = asyncio.Lock()
        self._closed = False

    # --- the Media protocol (signaling/client.py) -------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closed

    def sources(self) -> dict[str, str]:
        """mid -> "camera" | "microphone" of the published tracks (after create_offer)."""
        return dict(self._sources)

    async def create_offer(self) -> str:
        """Add the published tracks (sendonly, without encoders) and return the first offer."""
        published = []
        for kind, source in (("video", "camera"), ("audio", "microphone")):
            if not self._publish[kind]:
                continue
            transceiver = self.pc.addTransceiver(kind, direction="sendonly")
            sender = adopt_sender(transceiver.sender, stream_id=self.name, track_id=f"{self.name}-{source}")
            if kind == "video":
                sender.set_hooks(self)
                self._video = RtpStream(sender, VIDEO_CLOCK, "video/vp8")
            else:
                self._audio = RtpStream(sender, AUDIO_RATE, "audio/opus")
            published.append((transceiver, source))
        if not published:
            self.pc.addTransceiver("audio", direction="recvonly")  # one m-line for ICE/DTLS
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._sources = {t.mid: source for t, source in published if t.mid is not None}
        return str(self.pc.localDescription.sdp)

    async def handle_answer(self, sdp: str) -> None:
        """Apply the hub's answer to our offer, then start sending once the connection is up."""
        async with self._signaling_lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        # aiortc keeps its own fmtp for a negotiated codec, not the answer's: read the hub's wish from the SDP
        self.dtx = any(c.mimeType.lower() == "audio/opus" and str(c.parameters.get("usedtx")) == "1"
                       for m in aiortc_sdp.SessionDescription.parse(sdp).media if m.kind == "audio"
                       for c in m.rtp.codecs)
        self._spawn(self._start())

    async def handle_offer(self, sdp: str) -> str:
        """Apply a server offer (receive slots, or tracks that came or went) and return our answer."""
        async with self._signaling_lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            self._map_ssrcs(sdp)
            return str(self.pc.localDescription.sdp)

    def pause(self, source: str, paused: bool) -> bool:
        """Stop (or go on) sending the camera; it goes on with a key frame."""
        if source != "camera" or self._video is None:
            return False
        if self.video_paused and not paused:
            self._keyframe_wanted = True
        self.video_paused = paused
        return True

    def frames(self, kind: str | None = None) -> dict[str, int]:
        """Frames received per slot (video: the marker bit ends a frame; audio: one a packet)."""
        return {s: c.frames for s, c in self.counters.items() if kind is None or c.kind == kind}

    async def close(self) -> None:
        """Stop sending and close the connection."""
        if self._closed:
            return
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()

    # --- what the hub's sender hooks call (PLI/FIR, NACK) ---------------------------------------------------

    def on_keyframe_request(self) -> None:
        """The hub asks for a key frame: the next frame is one."""
        self.keyframe_requests += 1
        self._keyframe_wanted = True

    async def on_nack(self, lost: list[int]) -> None:
        """Nothing is resent: a benchmark on one machine loses nothing that matters."""

    # --- sending ------------------------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self) -> None:
        streams = [s for s in (self._video, self._audio) if s is not None]
        for stream in streams:
            await stream.sender.wait_ready()
            stream.prepare()
        dtls = self.pc.getTransceivers()[0].receiver.transport
        for _ in range(100):
            if tap_rtp(dtls, self._received) and _poller().add(dtls):
                break
            await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        start = loop.time()
        # venues do not all send at the same instant
        if self._audio is not None:
            self._tick(self._send_audio, start + random.random() * AUDIO_PTIME, AUDIO_PTIME, 0)
        if self._video is not None:
            self._tick(self._send_video, start + random.random() / self.clip.fps, 1 / self.clip.fps, 0)

    def _tick(self, send: Callable[[int], None], start: float, period: float, count: int) -> None:
        """Send item `count` of a paced stream and schedule the next; a late loop skips items, as a camera does."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        late = int((loop.time() - start) / period)
        send(max(count, late))
        count = max(count, late) + 1
        self._timers = [t for t in self._timers if not t.cancelled()][-4:]
        self._timers.append(loop.call_at(start + count * period, self._tick, send, start, period, count))

    def _send_audio(self, count: int) -> None:
        assert self._audio is not None
        audio = self.clip.audio
        ts = count * int(AUDIO_RATE * AUDIO_PTIME)
        if self.muted and self.dtx:
            # as libopus in DTX sends silence: one packet in twenty (400 ms), a TOC byte without a frame
            if count % DTX_EVERY == 0:
                self._audio.send(bytes([audio[0][0] & 0xFC]), ts, False, SILENCE_LEVEL)
            return
        level = SILENCE_LEVEL if self.muted else self.level
        self._audio.send(audio[count % len(audio)], ts, True, level)

    def _send_video(self, count: int) -> None:
        assert self._video is not None
        if self.video_paused:
            return
        clip = self.clip
        image = self._image + 1
        if self._keyframe_wanted:
            self._keyframe_wanted = False
            frame, layer = clip.key[image % clip.images], 0
            self._layers_synced.clear()
        else:
            frame = clip.delta[image]  # the last delta frame is image 0 again, coded against the loop's end
            layer = clip.layer(image)
        self._image = image % clip.images
        picture_id = self._picture_id = (self._picture_id + 1) & 0x7FFF
        if layer == 0:
            self._tl0picidx = (self._tl0picidx + 1) & 0xFF
        # Y (layer sync): the first frame of an upper layer after a key frame refers to the base layer only
        sync = layer > 0 and layer not in self._layers_synced
        self._layers_synced.add(layer)
        ts = count * VIDEO_CLOCK // clip.fps
        chunks = range(0, len(frame), VP8_CHUNK)
        # VP8 payload descriptor (RFC 7741): X; I with a 15-bit picture id, L with TL0PICIDX, T with TID and Y
        fields = bytes([0xE0, 0x80 | (picture_id >> 8), picture_id & 0xFF, self._tl0picidx,
                        (layer << 6) | (0x20 if sync else 0)])
        for offset in chunks:
            start = 0x10 if offset == 0 else 0  # S on the first packet, partition 0
            last = offset == chunks[-1]
            self._video.send(bytes([0x80 | start]) + fields + frame[offset:offset + VP8_CHUNK], ts, last)

    # --- receiving ----------------------------------------------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        # "track" fires inside setRemoteDescription, before aiortc starts the receiver: it never decodes
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        adopt_receiver(receiver)

    def _map_ssrcs(self, sdp: str) -> None:
        """Which SSRC each receive slot (m-line) of the hub's offer carries."""
        for media in aiortc_sdp.SessionDescription.parse(sdp).media:
            if media.direction not in ("sendonly", "sendrecv") or not media.ssrc or not media.msid:
                continue  # our own published m-lines (the hub receives on them) carry nothing to us
            stream_id, _, slot_id = media.msid.partition(" ")
            counter = self.counters.get(slot_id)
            if counter is None:
                counter = self.counters[slot_id] = SlotCounter(slot_id, media.kind)
            if stream_id != slot_id:
                self.track_owner[slot_id] = stream_id
            self._by_ssrc[media.ssrc[0].ssrc] = counter

    def _received(self, data: bytes, srtp: pylibsrtp.Session) -> None:
        counter = self._by_ssrc.get(int.from_bytes(data[8:12], "big"))
        if counter is None:
            self.unknown_packets += 1  # an RTX stream, or a slot of an offer not answered yet
            return
        now = time.monotonic()
        counter.packets += 1
        counter.bytes += len(data)
        if counter.first_packet_at is None:
            counter.first_packet_at = now
        seq = (data[2] << 8) | data[3]
        if counter._next_seq >= 0:
            gap = (seq - counter._next_seq) & 0xFFFF
            if 0 < gap < 0x8000:
                counter.lost += gap
        counter._next_seq = (seq + 1) & 0xFFFF
        if counter.kind == "audio":
            counter.frames += 1
            if counter.first_frame_at is None:
                counter.first_frame_at = now
            return
        if counter._frame_start:
            counter._in_key, layer = self._frame_head(data, srtp)
            if counter._in_key:
                counter.keyframes += 1
            if layer > 0:
                counter.upper_frames += 1
        counter._frame_start = bool(data[1] & 0x80)
        if counter._frame_start:
            counter.frames += 1
            if counter._in_key:
                counter._in_key = False
                counter.keyframe_ends.append(now)
                if counter.first_frame_at is None:
                    counter.first_frame_at = now

    @staticmethod
    def _frame_head(data: bytes, srtp: pylibsrtp.Session) -> tuple[bool, int]:
        """Whether this (first) packet of a frame starts a VP8 key frame, and its temporal layer (-1: none named):
        its payload is unprotected to see."""
        try:
            plain = srtp.unprotect(data)
        except pylibsrtp.Error:
            return False, -1
        offset = 12 + 4 * (plain[0] & 0x0F)
        if plain[0] & 0x10:
            offset += 4 + 4 * int.from_bytes(plain[offset + 2:offset + 4], "big")
        head = plain[offset:offset + 12]
        return vp8_keyframe_start(head), vp8_temporal_layer(head)

    # --- reports ------------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Every slot's counters and what was sent, as plain JSON."""
        return {
            "slots": {slot: c.snapshot() for slot, c in self.counters.items()},
            "sent": {"video": self._video.packets if self._video else 0,
                     "audio": self._audio.packets if self._audio else 0},
            "paused": self.video_paused,
            "keyframe_requests": self.keyframe_requests,
            "unknown_packets": self.unknown_packets,
        }

    def first_video_at(self) -> float | None:
        """When the first complete video key frame arrived, on any slot (the first image a decoder could show)."""
        return min((c.first_frame_at for c in self.counters.values() if c.kind == "video" and c.first_frame_at),
                   default=None)

    def first_keyframe_end(self, slot_id: str, after: float) -> float | None:
        """When the first key frame that began after `after` ended on this slot (None: none yet)."""
        counter = self.counters.get(slot_id)
        if counter is None:
            return None
        return next((t for t in counter.keyframe_ends if t >= after), None)


class VenueClient(MeetingClient[LightMedia]):
    """A venue in a meeting over /ws with LightMedia; remembers when each `media.slots` came and what it said."""

    def __init__(self, url: str, token: str, meeting_id: str, media: LightMedia) -> None:
        super().__init__(url, token, meeting_id, media)
        self.slot_history: list[tuple[float, dict[str, str | None]]] = []  # (arrival, slot -> participant)

    async def _apply(self, name: str, data: dict[str, Any]) -> None:
        await super()._apply(name, data)
        if name == "media.slots":
            shown = {slot: track["participant_id"] if track else None for slot, track in self.slots.items()}
            self.slot_history.append((time.monotonic(), shown))
        elif name == "moderator.muted" and data.get("kind") == "audio":
            self.media.muted = True  # as a browser's disabled microphone: silence, or DTX when the hub asked
        elif name == "moderator.unmuted":
            self.media.muted = False

    def slot_showing(self, participant_id: str, at: float) -> str | None:
        """The video slot that carried this participant at monotonic time `at` (as media.slots said)."""
        shown: dict[str, str | None] = {}
        for arrived, slots in self.slot_history:
            if arrived > at:
                break
            shown = slots
        return next((s for s, p in shown.items() if p == participant_id and s.startswith("video")), None)

    def slots_delay(self, participant_id: str, ordered_at: float) -> float | None:
        """Seconds from a roll call (`ordered_at`) to the media.slots that put `participant_id` in a video slot
        (the hub's part of a switch: the rest is the key frame); 0.0 if it was shown already; None if none came."""
        if self.slot_showing(participant_id, ordered_at) is not None:
            return 0.0
        return next((arrived - ordered_at for arrived, slots in self.slot_history if arrived > ordered_at
                     and any(p == participant_id and s.startswith("video") for s, p in slots.items())), None)

    def switch_delay(self, participant_id: str, ordered_at: float) -> float | None:
        """Seconds from a roll call (`ordered_at`) to the end of the first key frame of `participant_id` in the
        slot media.slots put it in; 0.0 if it was shown already; None if it has not arrived (yet)."""
        if self.slot_showing(participant_id, ordered_at) is not None:
            return 0.0
        for arrived, slots in self.slot_history:
            slot = next((s for s, p in slots.items() if p == participant_id and s.startswith("video")), None)
            if arrived > ordered_at and slot is not None:
                end = self.media.first_keyframe_end(slot, ordered_at)
                return end - ordered_at if end is not None else None
        return None

"""RTP-level forwarding: one TrackForwarder per published track, one OutgoingLeg per subscriber of it.

Packets are never decoded. Each leg rewrites SSRC, payload type, sequence number
and timestamp (constant offsets, so upstream gaps stay gaps and a late upstream
retransmission fills them), keeps its own history for the subscriber's NACKs,
and starts a video subscriber on a key frame it has asked the publisher for.
A leg may carry only the base temporal layer of a VP8 publisher that sends
several (a small tile: fewer frames, fewer packets, nothing re-encoded).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from signaling.sfu.aiortc_internals import NTP_UNIX_OFFSET, ForwardingReceiver, ForwardingSender
from signaling.sfu.events import ForwardingStats, TrackInfo
from signaling.sfu.keyframes import keyframe_start, needs_keyframe, vp8_frame_start, vp8_temporal_layer
from signaling.sfu.munger import RtpMunger, Vp8Descriptor, Vp8Munger

logger = logging.getLogger(__name__)

# Packets each leg keeps for its subscriber's NACKs. A retransmission is worth sending for about a second (a
# receiver's jitter buffer gives up on a frame after that and asks for a key frame; libwebrtc keeps its own send
# history for max(1 s, 3 RTT)): 512 video packets are 8 s of a 30 fps camera at 600 kbit/s. Every leg keeps its
# own rewritten copies, so this is what a big meeting's memory grows with: 1024 took a 61-venue conference's hub
# to about 1 GB.
VIDEO_HISTORY = 512
AUDIO_HISTORY = 128
# A subscriber's own PLI/FIR is forwarded at most this often per published track.
KEYFRAME_MIN_INTERVAL = 0.3
# Asking on subscriber add goes out unless a request left this recently (its key frame will serve).
KEYFRAME_JOIN_INTERVAL = 0.05
# A leg still waiting for its first key frame asks again after this long.
KEYFRAME_RETRY = 1.0

LevelSink = Callable[[str, int], None]
# Sees every publisher packet as it arrives, before any rewriting (a recording).
RtpTap = Callable[[RtpPacket, RTCRtpCodecParameters], None]
# Called with (forwarder, paused): a video nobody receives should not be sent at all (True), or again (False).
IdleSink = Callable[["TrackForwarder", bool], None]
# A video nobody receives is paused at its publisher after this long (a slot switched away and back is not).
PAUSE_AFTER = 1.0

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
_HEADER = struct.Struct("!BBHLL")
_HEADER_WITH_EXT = struct.Struct("!BBHLLHH")


def ntp_of(now: float) -> int:
    """A `time.time()` as a 64-bit NTP timestamp (aiortc's clock goes through datetime: 3x slower)."""
    now += NTP_UNIX_OFFSET
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * 4294967296.0)


def rtp_header(marker: bool | int, pt: int, seq: int, ts: int, ssrc: int, extensions: bytes) -> bytes:
    """An RTP header carrying these one-byte header extension elements (RFC 8285; padded here), if any."""
    if extensions:
        extensions += b"\x00" * (-len(extensions) % 4)
        return _HEADER_WITH_EXT.pack(
            0x90, (marker << 7) | pt, seq, ts, ssrc, 0xBEDE, len(extensions) >> 2
        ) + extensions
    return _HEADER.pack(0x80, (marker << 7) | pt, seq, ts, ssrc)


def _same_codec(a: RTCRtpCodecParameters, b: RTCRtpCodecParameters) -> bool:
    if a.mimeType.lower() != b.mimeType.lower() or a.clockRate != b.clockRate:
        return False
    if a.mimeType.lower() == "video/h264":
        return a.parameters.get("packetization-mode", 0) == b.parameters.get("packetization-mode", 0)
    return True


class OutgoingLeg:
    """One published track as sent to one subscriber; `switch_to` points it at another track (receive slots)."""

    def __init__(self, forwarder: TrackForwarder | None, sender: ForwardingSender, subscriber_id: str,
                 kind: str | None = None) -> None:
        # None: a receive slot that carries nothing yet (then `kind` says which tracks it may carry)
        self.forwarder = forwarder
        self.kind = forwarder.info.kind if forwarder is not None else kind or "video"
        self.sender = sender
        self.subscriber_id = subscriber_id
        self.ssrc = sender.ssrc
        self._size = VIDEO_HISTORY if self.kind == "video" else AUDIO_HISTORY
        self._history: dict[int, bytes] = {}
        self._pt_map: dict[int, int | None] = {}
        self._source_ssrc: int | None = None
        self._synced = False
        self._waiting_since: float | None = None  # when this leg began waiting for a key frame (None: not yet)
        self._start_seq = 0
        self._sent = 0
        # the stream the subscriber sees goes on across publisher restarts and switches
        self._rtp = RtpMunger(90000 if self.kind == "video" else 48000)
        self._vp8 = Vp8Munger()
        self._is_vp8 = False
        self._prepared = False
        self._one_byte = False
        self._mid_id: int | None = None
        self._abs_id: int | None = None
        self._level_id: int | None = None
        self._mid_element = b""
        self._ext_prefix = b""  # the header extension elements every packet carries, abs-send-time's id byte last
        # temporal layers: what the subscriber should get (base_only) and what it gets now (thinned); a leg thins
        # from the next frame on, and goes back to every layer at a key frame (upper layers refer to frames the
        # subscriber never got)
        self.base_only = False
        self._thinned = False
        self.closed = False
        sender.set_hooks(self)

    def _out_payload_type(self, codec: RTCRtpCodecParameters) -> int | None:
        params = self.sender.negotiated
        if params is None:
            return None
        pt = next((c.payloadType for c in params.codecs if _same_codec(c, codec)), None)
        if pt is None:
            logger.warning("subscriber %s did not negotiate %s", self.subscriber_id, codec.mimeType)
        if codec.payloadType is not None:
            self._pt_map[codec.payloadType] = pt
        return pt

    def _prepare(self) -> bool:
        """Once negotiated: the header extension ids this subscriber agreed to."""
        params = self.sender.negotiated
        if params is None:
            return False
        ids = {ext.uri: ext.id for ext in params.headerExtensions}
        mid = (self.sender.mid or "").encode()
        self._mid_id = ids.get(MID_URI)
        self._abs_id = ids.get(ABS_SEND_TIME_URI)
        self._level_id = ids.get(AUDIO_LEVEL_URI)
        used = [i for i in (self._mid_id, self._abs_id, self._level_id) if i is not None]
        # one-byte header extensions (RFC 8285) cover ids 1..14 and values of 1..16 bytes
        self._one_byte = all(1 <= i <= 14 for i in used) and 1 <= len(mid) <= 16
        self._mid_element = (
            bytes([(self._mid_id << 4) | (len(mid) - 1)]) + mid if self._mid_id and mid else b""
        )
        self._ext_prefix = self._mid_element + (bytes([(self._abs_id << 4) | 2]) if self._abs_id else b"")
        self._prepared = True
        return True

    def _header(self, packet: RtpPacket, pt: int, seq: int, ts: int, abs_send_time: bytes) -> bytes | None:
        """The subscriber's RTP header for `packet`, written here in one go (the common case, once per packet
        and subscriber: no RtpPacket copy); None if only aiortc's serializer can write it."""
        if packet.csrc or packet.padding_size:
            return None
        ext = self._ext_prefix + abs_send_time if self._abs_id else self._mid_element
        level = packet.extensions.audio_level
        if level is not None and self._level_id:
            ext += bytes([self._level_id << 4, (0x80 if level[0] else 0) | (level[1] & 0x7F)])
        if not ext:
            return _HEADER.pack(0x80, (packet.marker << 7) | pt, seq, ts, self.ssrc)
        ext += b"\x00" * (-len(ext) % 4)
        return _HEADER_WITH_EXT.pack(0x90, (packet.marker << 7) | pt, seq, ts, self.ssrc, 0xBEDE, len(ext) >> 2) + ext

    def forward(
        self,
        packet: RtpPacket,
        codec: RTCRtpCodecParameters,
        source: tuple[int, int, int],
        now: float,
        ntp: int,
        abs_send_time: bytes,
        layer: int = -1,
        descriptor: Vp8Descriptor | None = None,
    ) -> None:
        """Rewrite `packet` (original SSRC, sequence number, timestamp in `source`; `layer`: its VP8 temporal
        layer, -1 if none; `descriptor`: its VP8 payload descriptor, None if not parsed) and send it."""
        ssrc, seq, ts = source
        forwarder = self.forwarder
        assert forwarder is not None  # only a forwarder calls this
        stats = forwarder.stats
        if not self._prepared and not (self.sender.ready and self._prepare()):
            stats.packets_dropped += 1
            return
        pt = (
            self._pt_map[codec.payloadType]
            if codec.payloadType in self._pt_map
            else self._out_payload_type(codec)
        )
        if pt is None:
            stats.packets_dropped += 1
            return
        if ssrc != self._source_ssrc:
            self._synced = False
        if not self._synced:
            if needs_keyframe(codec.mimeType):
                if self._waiting_since is None:
                    self._waiting_since = now
                if not keyframe_start(codec.mimeType, packet.payload):
                    stats.packets_dropped += 1
                    forwarder.keyframe_wanted()
                    return
                stats.keyframe_waits += 1
                stats.keyframe_wait_seconds += now - self._waiting_since
                self._waiting_since = None
            self._source_ssrc = ssrc
            self._rtp.clock_rate = codec.clockRate
            self._rtp.switch(seq, ts, now)
            self._is_vp8 = codec.mimeType.lower() == "video/vp8"
            if self._is_vp8:
                self._vp8.switch()
            self._start_seq = seq
            self._sent = 0
            self._synced = True
            self._thinned = self.base_only  # a key frame: either way is clean from here
        elif self._sent < 1024 and (seq - self._start_seq) & 0xFFFF >= 0x8000:
            # a straggler from before this leg started
            stats.packets_dropped += 1
            return
        elif layer >= 0 and self._thinned != self.base_only:
            if self.base_only:
                self._thinned = vp8_frame_start(packet.payload)
            elif keyframe_start(codec.mimeType, packet.payload):
                self._thinned = False
            else:
                forwarder.keyframe_wanted()
        if self._thinned and layer > 0:
            self.leave_out(seq, packet.payload)
            stats.packets_thinned += 1
            return
        payload = packet.payload
        if self._is_vp8:
            try:
                payload = self._vp8.rewrite(payload, descriptor)
            except ValueError:
                stats.packets_dropped += 1
                return
        out_seq, out_ts = self._rtp.map(seq, ts, now)
        header = self._header(packet, pt, out_seq, out_ts, abs_send_time) if self._one_byte else None
        if header is not None:
            data = header + payload
        else:
            original = packet.payload
            packet.payload = payload
            packet.ssrc = self.ssrc
            packet.payload_type = pt
            packet.sequence_number = out_seq
            packet.timestamp = out_ts
            packet.extensions.mid = self.sender.mid
            packet.extensions.abs_send_time = int.from_bytes(abs_send_time, "big")
            data = packet.serialize(self.sender.extensions_map)
            packet.payload = original  # the next subscriber's leg rewrites the publisher's payload
        self._history[out_seq % self._size] = data
        self._sent += 1
        payload_size = len(payload)
        sent = self.sender.try_send_rtp(data, ntp, out_ts, payload_size)
        if sent is None:  # TURN relay: only aiortc's coroutine path can send
            forwarder.spawn(self._send_later(forwarder.stats, data, ntp, out_ts, payload_size))
        elif sent:
            stats.packets_forwarded += 1
            stats.bytes_forwarded += len(data)

    def thins(self, ssrc: int) -> bool:
        """Whether this leg leaves out the upper temporal layers of the stream `ssrc` now (a small tile)."""
        return self._thinned and self.base_only and ssrc == self._source_ssrc

    def leave_out(self, seq: int, payload: bytes) -> None:
        """An upper temporal layer's packet this subscriber does not get: the stream it sees closes over it."""
        self._rtp.drop(seq)
        if payload and payload[0] & 0x17 == 0x10:  # a frame's first packet: the picture ids close over the frame
            self._vp8.drop(payload)

    async def _send_later(self, stats: ForwardingStats, data: bytes, ntp: int, rtp_timestamp: int,
                          payload_size: int) -> None:
        if await self.sender.send_rtp(data, ntp, rtp_timestamp, payload_size):
            stats.packets_forwarded += 1
            stats.bytes_forwarded += len(data)

    def switch_to(self, forwarder: TrackForwarder | None) -> None:
        """Carry another published track of the same kind from its next key frame on, as one continuous stream
        (None: nothing, until pointed at a track again)."""
        if forwarder is self.forwarder or self.closed:
            return
        if forwarder is not None and forwarder.info.kind != self.kind:
            raise ValueError(f"a {self.kind} leg cannot carry a {forwarder.info.kind} track")
        if self.forwarder is not None:
            self.forwarder.detach_leg(self)
        self.forwarder = forwarder
        self._source_ssrc = None
        self._synced = False
        self._waiting_since = time.time() if forwarder is not None else None  # the wait starts with the switch
        self._pt_map.clear()  # the new publisher numbers its payload types its own way
        if forwarder is not None:
            forwarder.add_leg(self)

    def set_base_only(self, base_only: bool) -> None:
        """Carry only the base temporal layer (a small tile) or every layer again (from the next key frame, which
        is asked for)."""
        if base_only == self.base_only:
            return
        self.base_only = base_only
        if not base_only and self._thinned and self.forwarder is not None:
            self.forwarder.request_keyframe(KEYFRAME_MIN_INTERVAL)

    @property
    def last_sequence_number(self) -> int | None:
        """The newest sequence number sent to the subscriber, None before the first packet."""
        return (self._rtp.next_seq - 1) & 0xFFFF if self._synced else None

    async def on_nack(self, lost: list[int]) -> None:
        """Answer the subscriber's NACK from this leg's history."""
        stats = self.forwarder.stats if self.forwarder is not None else ForwardingStats()
        stats.nacks_received += 1
        for seq in lost:
            data = self._history.get(seq % self._size)
            if data is not None and int.from_bytes(data[2:4], "big") == seq:
                if await self.sender.retransmit(data):
                    stats.retransmissions += 1

    def on_keyframe_request(self) -> None:
        """The subscriber sent PLI/FIR: forward it to the publisher, paced."""
        if self.forwarder is None:
            return
        self.forwarder.stats.keyframe_requests_received += 1
        self.forwarder.request_keyframe(KEYFRAME_MIN_INTERVAL)


class TrackForwarder:
    """Fans one published track out to its subscribers' legs."""

    def __init__(
        self,
        info: TrackInfo,
        receiver: ForwardingReceiver,
        capabilities: list[RTCRtpCodecCapability],
        level_sink: LevelSink | None,
        idle_sink: IdleSink | None = None,
    ) -> None:
        self.info = info
        # what subscribers are offered: the publisher's negotiated codecs, nothing we would have to transcode
        self.capabilities = capabilities
        self.receiver = receiver
        self.stats = ForwardingStats()
        self.legs: list[OutgoingLeg] = []
        self._level_sink = level_sink
        self._media_ssrc: int | None = None
        self._last_request = -1e9
        self._request_pending = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._idle_sink = idle_sink if info.kind == "video" else None
        self.paused = False  # the publisher was told to stop sending this video
        self.temporal_layers = 0  # VP8 temporal layers the publisher was seen to send (0: none named)
        self.tap: RtpTap | None = None
        self._pause_timer: asyncio.TimerHandle | None = None
        receiver.set_sink(self)
        self._idle_changed()

    def on_rtp(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        """Called by the forwarding receiver for every publisher packet."""
        stats = self.stats
        stats.packets_received += 1
        stats.payload_bytes_received += len(packet.payload)
        self._media_ssrc = packet.ssrc
        if self._level_sink is not None and packet.extensions.audio_level is not None:
            self._level_sink(self.info.participant_id, packet.extensions.audio_level[1])
        if self._request_pending:
            self._request_pending = False
            self.request_keyframe(0.0)
        if self.tap is not None:
            self.tap(packet, codec)
        if not self.legs:
            return
        # the fallback serializer rewrites the packet in place: keep the originals aside
        source = (packet.ssrc, packet.sequence_number, packet.timestamp)
        now = time.time()
        ntp = ntp_of(now)
        abs_send_time = ((ntp >> 14) & 0x00FFFFFF).to_bytes(3, "big")
        payload = packet.payload
        descriptor = None
        layer = -1
        if codec.mimeType.lower() == "video/vp8":
            layer = vp8_temporal_layer(payload)
            if layer >= self.temporal_layers:
                self.temporal_layers = layer + 1
            with contextlib.suppress(ValueError):  # each leg that must rewrite it drops it
                descriptor = Vp8Descriptor(payload)
        seq = source[1]
        thinned = 0
        for leg in tuple(self.legs):
            # a small tile's leg and a packet of an upper layer, the commonest pair: left out with the fewest calls
            if layer > 0 and leg.thins(source[0]):
                leg.leave_out(seq, payload)
                thinned += 1
            else:
                leg.forward(packet, codec, source, now, ntp, abs_send_time, layer, descriptor)
        stats.packets_thinned += thinned

    def add_leg(self, leg: OutgoingLeg) -> None:
        """Start forwarding to a new subscriber and ask the publisher for a key frame right away."""
        self.legs.append(leg)
        self._idle_changed()
        if self.info.kind == "video":
            self.request_keyframe(KEYFRAME_JOIN_INTERVAL)

    def remove_leg(self, leg: OutgoingLeg) -> None:
        """Stop forwarding to a subscriber."""
        leg.closed = True
        self.detach_leg(leg)

    def detach_leg(self, leg: OutgoingLeg) -> None:
        """Stop feeding a leg that goes on with another track."""
        if leg in self.legs:
            self.legs.remove(leg)
            self._idle_changed()

    def _idle_changed(self) -> None:
        if self._idle_sink is None:
            return
        if self.legs:
            if self._pause_timer is not None:
                self._pause_timer.cancel()
                self._pause_timer = None
            if self.paused:
                self.paused = False
                self._request_pending = True  # a key frame from the first packet the publisher sends again
                self._idle_sink(self, False)
        elif not self.paused and self._pause_timer is None:
            self._pause_timer = self._loop.call_later(PAUSE_AFTER, self._pause)

    def _pause(self) -> None:
        self._pause_timer = None
        if not self.legs and not self.paused and self._idle_sink is not None:
            self.paused = True
            self._idle_sink(self, True)

    def seconds_since_keyframe_request(self) -> float:
        """Time since the last PLI was sent to the publisher."""
        return self._loop.time() - self._last_request

    def keyframe_wanted(self) -> None:
        """A leg is still waiting for its first key frame."""
        if self._loop.time() - self._last_request >= KEYFRAME_RETRY:
            self.request_keyframe(KEYFRAME_RETRY)

    def request_keyframe(self, min_interval: float) -> None:
        """Send a PLI to the publisher unless one left less than `min_interval` seconds ago."""
        if self.info.kind != "video":
            return
        now = self._loop.time()
        if now - self._last_request < min_interval:
            return
        if self._media_ssrc is None:
            # nothing received yet: ask as soon as the publisher's SSRC is known
            self._request_pending = True
            return
        self._last_request = now
        self.stats.keyframe_requests_sent += 1
        self.spawn(self.receiver.request_keyframe(self._media_ssrc))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a send that must go through aiortc's coroutines, owned by this forwarder."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Detach from the receiver and drop every leg."""
        self._idle_sink = None
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        self.receiver.set_sink(None)
        for leg in tuple(self.legs):
            self.remove_leg(leg)
        for task in self._tasks:
            task.cancel()

"""The live half of a recording: every published track of a meeting written to its own WebM file as it arrives,
without decoding it.

A recorder taps the SFU room's TrackForwarders as one more subscriber would, but before any rewriting: an Opus
packet is a frame as it is; a VP8 frame is put together from its packets (aiortc's depayloader strips each one's
payload descriptor), and each encoded frame is muxed as it is (VP8 and Opus in WebM/Matroska, PyAV). Media reach
the hub in order on the city network: a gap drops the frame it broke and the recording waits for the next key
frame, which it asks for (aiortc's jitter buffer, made for a decoder, cost the hub far more CPU).

The files are written by one thread per recording, so a slow or full disk never stalls the event loop that
forwards media; they are written as live streams in clusters of half a second, flushed as they go, so a node
killed mid-meeting leaves files playable up to about half a second before the kill, and the journal
(hub/recordings/journal.py) says what each holds. A video nobody receives is paused at its publisher, and so is
not in the recording for that while (the archive shows what the meeting saw).
"""

from __future__ import annotations

import asyncio
import errno
import fractions
import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from aiortc.codecs.h264 import h264_depayload
from aiortc.codecs.vpx import vp8_depayload
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from hub.recordings import journal
from signaling.sfu.forwarding import KEYFRAME_MIN_INTERVAL, TrackForwarder
from signaling.sfu.keyframes import vp8_frame_start

log = logging.getLogger(__name__)

def h264_idr(frame: bytes) -> bool:
    """Whether an H.264 access unit (Annex B) holds an IDR picture: a key frame."""
    at = frame.find(b"\x00\x00\x01")
    while 0 <= at < len(frame) - 3:
        if frame[at + 3] & 0x1F == 5:
            return True
        at = frame.find(b"\x00\x00\x01", at + 3)
    return False


@dataclass(frozen=True)
class Recorded:
    """How a codec's track is written: its stream in PyAV, its container, how a frame is put together."""

    encoder: str  # the PyAV stream's codec (nothing is encoded: it names the stream)
    container: str
    suffix: str
    depayload: Callable[[bytes], bytes] | None = None  # None: a packet's payload is a frame (Opus)
    frame_start: Callable[[bytes], bool] | None = None  # None: a frame starts after the one before it ended
    is_key: Callable[[bytes], bool] = lambda frame: True
    size: Callable[[bytes], tuple[int, int] | None] | None = None  # None: the writer reads it from the key frame


# Codecs written as they are; another codec's track is left out of the recording (and said so in the log).
RECORDED = {
    "video/vp8": Recorded("libvpx", "webm", ".webm", vp8_depayload, vp8_frame_start, lambda f: not f[0] & 1,
                          lambda f: vp8_size(f)),
    "video/h264": Recorded("libx264", "matroska", ".mkv", h264_depayload, None, h264_idr),
    "audio/opus": Recorded("libopus", "webm", ".webm"),
}
# Muxer options: unknown-size clusters of at most half a second, each written out as soon as it is complete.
LIVE_WEBM = {"live": "1", "cluster_time_limit": "500", "flush_packets": "1"}
# Seconds a stopping recording waits for its files to be written out.
WRITER_GRACE = 30.0
# Seconds of frames the event loop gathers before handing them to the writer thread (a kill loses them too).
HANDOVER = 0.1
# A frame's time from its RTP clock, unless that strays this far from the wall clock (a publisher restarted).
MAX_DRIFT = 5.0
VP8_START_CODE = b"\x9d\x01\x2a"

ErrorSink = Callable[[str, str], None]  # (reason: disk_full | write_error, message)


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """Width and height of a VP8 key frame (RFC 6386 9.1), None if it is not one."""
    if len(frame) < 10 or frame[0] & 1 or frame[3:6] != VP8_START_CODE:
        return None
    return int.from_bytes(frame[6:8], "little") & 0x3FFF, int.from_bytes(frame[8:10], "little") & 0x3FFF


class RecordingWriter(threading.Thread):
    """Writes a recording's track files and journal lines, in order, off the event loop."""

    def __init__(self, where: Path, on_error: ErrorSink) -> None:
        super().__init__(name=f"recorder-{where.name}", daemon=True)
        self.where = where
        self._on_error = on_error
        self._loop = asyncio.get_running_loop()
        self._batches: queue.SimpleQueue[list[tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._batch: list[tuple[Any, ...]] = []
        self._handover: asyncio.TimerHandle | None = None
        self._files: dict[str, tuple[Any, Any]] = {}  # file name -> (container, stream)
        self.failed: str | None = None

    def put(self, *op: Any) -> None:
        """Queue one operation (on the event loop): ("open", file, Recorded, size or None, first frame) |
        ("frame", file, data, pts, clock, key) | ("close", file) | ("journal", entry). They reach the writer a
        batch every HANDOVER seconds: waking a thread for every frame, each time taking the GIL from the loop, cost
        the hub more than the writing."""
        if self.failed is not None:
            return
        self._batch.append(op)
        if self._handover is None:
            self._handover = self._loop.call_later(HANDOVER, self._hand_over)

    def _hand_over(self) -> None:
        self._handover = None
        if self._batch:
            self._batches.put(self._batch)
            self._batch = []

    def finish(self) -> None:
        """No more operations: what is queued is written, every file closed, and the thread ends."""
        if self._handover is not None:
            self._handover.cancel()
        self._hand_over()
        self._batches.put(None)

    def run(self) -> None:
        journal_file = None
        try:
            self.where.mkdir(parents=True, exist_ok=True)
            (self.where / journal.TRACKS).mkdir(exist_ok=True)
            journal_file = (self.where / journal.JOURNAL).open("a", encoding="utf-8")
            while (batch := self._batches.get()) is not None:
                for op in batch:
                    if self.failed is None:
                        self._do(op, journal_file)
        except Exception as exc:  # noqa: BLE001 - whatever the disk says, the meeting goes on
            self._fail(exc)
            while self._batches.get() is not None:
                pass
        finally:
            for name in list(self._files):
                self._close(name)
            if journal_file is not None:
                journal_file.close()

    def _do(self, op: tuple[Any, ...], journal_file: Any) -> None:
        kind = op[0]
        if kind == "frame":
            _, name, data, pts, clock, key = op
            container, stream = self._files[name]
            packet = av.Packet(data)
            packet.pts = packet.dts = pts
            packet.time_base = fractions.Fraction(1, clock)
            packet.stream = stream
            packet.is_keyframe = key
            container.mux(packet)
        elif kind == "journal":
            journal_file.write(json.dumps(op[1], ensure_ascii=False) + "\n")
            journal_file.flush()
        elif kind == "open":
            _, name, recorded, size, first = op
            container = av.open(str(self.where / name), "w", format=recorded.container, options=LIVE_WEBM)
            if recorded.encoder == "libopus":
                stream = container.add_stream("libopus", rate=48000)
                stream.layout = "stereo"
            else:
                stream = container.add_stream(recorded.encoder, rate=30)
                # (a VP8 key frame states its size; an H.264 one is decoded for it, here, once)
                stream.width, stream.height = size or (key_frame_size(first) if recorded.size is None else (640, 360))
            self._files[name] = (container, stream)
        elif kind == "close":
            self._close(op[1])

    def _close(self, name: str) -> None:
        container, _ = self._files.pop(name)
        try:
            container.close()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self.failed is not None:
            return
        code = getattr(exc, "errno", None)
        reason = "disk_full" if code in (errno.ENOSPC, errno.EDQUOT) else "write_error"
        self.failed = f"{type(exc).__name__}: {exc}"
        log.error("recording in %s: %s (%s)", self.where, reason, self.failed)
        self._loop.call_soon_threadsafe(self._on_error, reason, self.failed)


def key_frame_size(frame: bytes) -> tuple[int, int]:
    """An H.264 key frame's picture size, for the file's header: the one frame a recorder decodes (here, in the
    writer's thread), as reading it from the SPS would mean parsing all of H.264's profiles."""
    decoder = av.CodecContext.create("h264", "r")
    pictures = [*decoder.decode(av.Packet(frame)), *decoder.decode(None)]
    if not pictures:
        raise ValueError("the first H.264 key frame does not decode")
    return pictures[0].width, pictures[0].height


class TrackRecorder:
    """One published track's frames, in order, to its own file (from its first key frame on)."""

    def __init__(self, recorder: MeetingRecorder, forwarder: TrackForwarder, name: str, number: int) -> None:
        self._recorder = recorder
        self.forwarder = forwarder
        self.info = forwarder.info
        self.name = name
        self._number = number
        self.file = ""  # named at its first frame (the codec says which container)
        self._video = self.info.kind == "video"
        self._opened = False
        self._started = 0.0  # wall clock of the file's pts 0
        self._ssrc: int | None = None
        self._base_ts = 0
        self._base_pts = 0
        self._last_pts = -1
        self._warned = False
        # the video frame being put together: its timestamp, its payloads, whether a packet of it is missing
        self._next_seq: int | None = None
        self._frame_ts: int | None = None
        self._parts: list[bytes] = []
        self._broken = False
        self._need_key = True
        forwarder.tap = self
        if self._video:
            forwarder.request_keyframe(KEYFRAME_MIN_INTERVAL)

    def __call__(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        mime = codec.mimeType.lower()
        recorded = RECORDED.get(mime)
        if recorded is None:
            if not self._warned:
                self._warned = True
                log.warning("recording %s: %s track %s not recorded (%s)", self._recorder.recording_id,
                            self.info.kind, self.info.track_id, codec.mimeType)
            return
        if recorded.depayload is None:
            if packet.payload:
                self._frame(packet.payload, packet.timestamp, packet.ssrc, codec.clockRate, recorded, mime)
            return
        frame = self._assemble(packet, recorded)
        if frame is not None:
            self._frame(frame, packet.timestamp, packet.ssrc, codec.clockRate, recorded, mime)

    def _assemble(self, packet: RtpPacket, recorded: Recorded) -> bytes | None:
        assert recorded.depayload is not None
        seq = packet.sequence_number
        first_packet = self._next_seq is None
        if self._next_seq is not None and seq != self._next_seq:
            if (seq - self._next_seq) & 0xFFFF >= 0x8000:
                return None  # late (a retransmission) or twice: the frame it belonged to is settled
            self._lost()  # packets lost: the frame under way, or a whole frame
            self._broken = True
        self._next_seq = (seq + 1) & 0xFFFF
        if packet.timestamp != self._frame_ts:
            if self._parts:
                self._lost()  # the frame before never got its last packet
            self._frame_ts, self._parts = packet.timestamp, []
            start = recorded.frame_start
            self._broken = not start(packet.payload) if start is not None else first_packet
        try:
            self._parts.append(recorded.depayload(packet.payload))
        except ValueError:
            self._broken = True  # a malformed payload descriptor
        if not packet.marker:
            return None
        frame, broken = b"".join(self._parts), self._broken
        self._parts, self._frame_ts, self._broken = [], None, False
        if broken or not frame:
            self._lost()
            return None
        if self._need_key and not recorded.is_key(frame):
            self.forwarder.keyframe_wanted()
            return None
        self._need_key = False
        return frame

    def _lost(self) -> None:
        # the frames after a lost one refer to it: nothing is written until the next key frame, asked for now
        self._need_key = True
        self.forwarder.request_keyframe(KEYFRAME_MIN_INTERVAL)

    def _frame(self, data: bytes, timestamp: int, ssrc: int, clock: int, recorded: Recorded, mime: str) -> None:
        if not self._opened:
            self._open(recorded, mime, data)
        self._write(data, timestamp, ssrc, clock, recorded)

    def _open(self, recorded: Recorded, mime: str, first: bytes) -> None:
        self._opened = True
        self._started = time.time()
        # a recording another node began (its media moved here) has files of its own: the token keeps them apart
        self.file = f"{journal.TRACKS}/{self._number:03d}-{self.info.kind}-{secrets.token_hex(4)}{recorded.suffix}"
        recorder = self._recorder
        recorder.writer.put("open", self.file, recorded, recorded.size(first) if recorded.size else None, first)
        recorder.note(journal.TRACK, id=self.info.track_id, kind=self.info.kind, source=self.info.source.value,
                      participant_id=self.info.participant_id, name=self.name, codec=mime, file=self.file)

    def _write(self, data: bytes, timestamp: int, ssrc: int, clock: int, recorded: Recorded) -> None:
        expected = round((time.time() - self._started) * clock)
        if ssrc != self._ssrc:
            self._ssrc, self._base_ts, self._base_pts = ssrc, timestamp, expected
        delta = (timestamp - self._base_ts) & 0xFFFFFFFF
        pts = self._base_pts + (delta - (1 << 32) if delta >= 1 << 31 else delta)
        if abs(pts - expected) > MAX_DRIFT * clock:
            self._base_ts, self._base_pts, pts = timestamp, expected, expected
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        self._recorder.writer.put("frame", self.file, data, pts, clock, recorded.is_key(data))

    def close(self) -> None:
        """The track is gone (or the recording stops): its file is finished."""
        if self.forwarder.tap is self:
            self.forwarder.tap = None
        if self._opened:
            self._recorder.writer.put("close", self.file)
            self._recorder.note(journal.TRACK_END, id=self.info.track_id, file=self.file)
            self._opened = False


class MeetingRecorder:
    """A recording under way on the node holding the meeting's media."""

    def __init__(self, recording_id: str, started_at: float, where: Path, on_error: ErrorSink) -> None:
        self.recording_id = recording_id
        self._started_at = started_at  # the recording's start, wall clock (journal times count from it)
        self.writer = RecordingWriter(where, on_error)
        self.writer.start()
        self._tracks: dict[str, TrackRecorder] = {}
        self._count = 0
        self.stopped = False

    def note(self, event: str, **data: Any) -> None:
        """One line of the journal, timed now."""
        self.writer.put("journal", {"at": round(time.time() - self._started_at, 3), "event": event, **data})

    def add(self, forwarder: TrackForwarder, name: str) -> None:
        """Record a published track (from its next key frame)."""
        if self.stopped or forwarder.info.track_id in self._tracks:
            return
        self._count += 1
        self._tracks[forwarder.info.track_id] = TrackRecorder(self, forwarder, name, self._count)

    def remove(self, track_id: str) -> None:
        """A track was unpublished: its file ends."""
        track = self._tracks.pop(track_id, None)
        if track is not None:
            track.close()

    async def stop(self) -> str | None:
        """Close every file and wait for them to be written (idempotent); the write error, if any."""
        if not self.stopped:
            self.stopped = True
            for track_id in list(self._tracks):
                self.remove(track_id)
            self.writer.finish()
        await asyncio.to_thread(self.writer.join, WRITER_GRACE)
        if self.writer.is_alive():  # a disk that hangs: the meeting must not hang with it
            log.error("recording %s: the writer did not finish within %.0f s", self.recording_id, WRITER_GRACE)
            return self.writer.failed or "the recording's disk did not answer"
        return self.writer.failed

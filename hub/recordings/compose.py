"""The archive of a recorded meeting: per-track WebM files composed into one VP8 + Opus WebM in the meeting's layout.

The hub runs it in a worker process, `python -m hub.recordings.compose MANIFEST.json OUT.webm`, which prints
`progress 0.123` lines while working and `done {...}` at the end. Output time advances one frame at a time and
each track's decoder is pulled only as far as that time, so hours of many tracks stream through in little memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import cache, lru_cache
from itertools import chain
from pathlib import Path
from typing import NoReturn, TypeVar, cast

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Stream
from av.video.reformatter import VideoReformatter
from av.video.stream import VideoStream
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from hub.recordings.manifest import ComposeError, LayoutEvent, Manifest, TrackFile

log = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 1280, 720, 15
SAMPLE_RATE = 48_000
VIDEO_BITRATE = 1_500_000
AUDIO_BITRATE = 48_000
KEY_FRAME_SECONDS = 2
# libvpx's fastest realtime setting: a 720p frame in ~6 ms of CPU where 8 takes ~20 (measured: bench/compose.py)
VP8_CPU_USED = 16
HOLD_SECONDS = 1.0  # a video track stays on screen this long after its last frame
MAX_SMALL_TILES = 8
# Matroska pts are whole milliseconds: audio this close to the end of the track's previous frame continues it
AUDIO_JITTER_SECONDS = 0.03
PROGRESS_EVERY_SECONDS = 0.5
FONT_FILES = tuple(f"/usr/share/fonts/opentype/noto/NotoSansCJK-{w}.ttc" for w in ("Regular", "Bold"))
FONT_INDEX_SC = 2  # in the Noto CJK collections: JP, KR, SC, TC, HK

Rect = tuple[int, int, int, int]  # x, y, width, height
Frame = TypeVar("Frame", av.VideoFrame, av.AudioFrame)
Frames = Generator[Frame, None, None]


@dataclass(frozen=True)
class ComposeResult:
    """What the archive holds: its length in seconds, its video frames and how many tracks were readable."""

    duration: float
    video_frames: int
    audio_tracks: int
    video_tracks: int


# --- reading the tracks ----------------------------------------------------------------------------------------


def _decoded(track: TrackFile, container: InputContainer, stream: Stream, kind: type[Frame]) -> Frames[Frame]:
    """The stream's frames in file order, up to its end or the first read error (a file cut short by kill -9)."""
    undecodable = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:  # inter frames before the writer's first key frame: the track starts there
                undecodable += 1
                continue
            for frame in frames:
                if isinstance(frame, kind) and frame.time is not None:
                    yield frame
    except Exception as exc:  # a track ending badly ends that track, never the archive
        log.warning("recording track %s (%s) read up to an error: %s", track.id, track.file, exc)
    finally:
        if undecodable:
            log.warning("recording track %s (%s): %d undecodable packets skipped", track.id, track.file, undecodable)
        container.close()


def _open(track: TrackFile, kind: type[Frame]) -> Frames[Frame] | None:
    """The track file's frames of its kind; None, logged, if the file cannot be opened or has no such stream."""
    try:
        container = av.open(str(track.file))
    except Exception as exc:  # empty, missing or garbage: the other tracks still make an archive
        log.warning("recording track %s (%s) skipped: %s", track.id, track.file, exc)
        return None
    streams = container.streams.video if track.kind == "video" else container.streams.audio
    if not streams:
        log.warning("recording track %s (%s) skipped: no %s stream", track.id, track.file, track.kind)
        container.close()
        return None
    return _decoded(track, container, streams[0], kind)


class _Video:
    """A camera or screen track, decoded only as far as output time has come; holds the frame showing now."""

    def __init__(self, index: int, track: TrackFile, frames: Frames[av.VideoFrame]) -> None:
        self.index, self.track, self._frames = index, track, frames
        self.current: av.VideoFrame | None = None
        self._next = next(frames, None)
        self.start = self._at(self._next) if self._next is not None else math.inf
        self._last, self.empty = self.start, self._next is None
        self._scaled: tuple[av.VideoFrame, int, int, NDArray[np.uint8]] | None = None
        self._reformatter = VideoReformatter()  # keeps its scaler between frames: 3x faster than frame.to_ndarray

    def _at(self, frame: av.VideoFrame) -> float:
        return self.track.offset + float(frame.time or 0)

    def advance(self, t: float) -> None:
        """Decode up to output time t."""
        while self._next is not None and self._at(self._next) <= t:
            self.current, self._last = self._next, self._at(self._next)
            self._next = next(self._frames, None)

    def live(self, t: float) -> bool:
        """Whether the track is on screen at t: from its first frame to its last, plus the hold."""
        return self.current is not None and (self._next is not None or t <= self._last + HOLD_SECONDS)

    def image(self, width: int, height: int) -> NDArray[np.uint8]:
        """The current frame scaled to fit width x height with its aspect ratio kept, as RGB."""
        frame = self.current
        assert frame is not None
        scale = min(width / frame.width, height / frame.height)
        w, h = max(2, round(frame.width * scale) & ~1), max(2, round(frame.height * scale) & ~1)
        if self._scaled is None or self._scaled[0] is not frame or self._scaled[1:3] != (w, h):  # held: scaled once
            scaled = self._reformatter.reformat(frame, w, h, "rgb24", interpolation="AREA")
            self._scaled = (frame, w, h, cast(NDArray[np.uint8], scaled.to_ndarray()))
        return self._scaled[3]

    def close(self) -> None:
        """Close the file (when the recording ends before the track does)."""
        self._frames.close()


class _Audio:
    """A microphone track as 48 kHz s16 mono, placed on the recording's time line; gaps in its pts are silence."""

    def __init__(self, track: TrackFile, frames: Frames[av.AudioFrame]) -> None:
        self.track, self._frames = track, frames
        self._chunks = self._placed(frames)
        self._pending = next(self._chunks, None)
        self.empty = self._pending is None

    def _placed(self, frames: Iterator[av.AudioFrame]) -> Generator[tuple[int, NDArray[np.int16]], None, None]:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        jitter = round(AUDIO_JITTER_SECONDS * SAMPLE_RATE)
        end: int | None = None
        for frame in chain(frames, [None]):
            at = (end or 0) if frame is None else round((self.track.offset + float(frame.time or 0)) * SAMPLE_RATE)
            for out in resampler.resample(frame):
                start = at if end is None or abs(at - end) > jitter else end  # resync after a gap or a drift
                samples = cast(NDArray[np.int16], out.to_ndarray()).reshape(-1)
                yield start, samples
                end, at = start + len(samples), at + len(samples)

    def mix_into(self, mix: NDArray[np.int32], start: int) -> None:
        """Add this track's samples for positions start .. start + len(mix) to mix."""
        stop = start + len(mix)
        while self._pending is not None:
            at, samples = self._pending
            if at >= stop:
                return
            lo, hi = max(at, start), min(at + len(samples), stop)
            if hi > lo:
                mix[lo - start : hi - start] += samples[lo - at : hi - at]
            if at + len(samples) > stop:
                return
            self._pending = next(self._chunks, None)

    def close(self) -> None:
        """Close the file."""
        self._chunks.close()
        self._frames.close()


def _open_tracks(manifest: Manifest) -> tuple[list[_Video], list[_Audio]]:
    videos: list[_Video] = []
    audios: list[_Audio] = []
    for track in manifest.tracks:
        reader: _Video | _Audio | None = None
        if track.kind == "video" and (frames := _open(track, av.VideoFrame)) is not None:
            reader = _Video(len(videos), track, frames)
        elif track.kind == "audio" and (samples := _open(track, av.AudioFrame)) is not None:
            reader = _Audio(track, samples)
        if reader is not None and reader.empty:
            log.warning("recording track %s (%s) skipped: nothing decodable in it", track.id, track.file)
        elif isinstance(reader, _Video):
            videos.append(reader)
        elif reader is not None:
            audios.append(reader)
    return videos, audios


# --- the layout ------------------------------------------------------------------------------------------------


@dataclass
class _Stage:
    """Who is spotlighted and who spoke when, as of the output time reached."""

    events: Sequence[LayoutEvent]
    done: int = 0
    spotlight: str | None = None
    speaker: str | None = None
    spoke_at: dict[str, float] = field(default_factory=dict)

    def advance(self, t: float) -> None:
        while self.done < len(self.events) and self.events[self.done].at <= t:
            event = self.events[self.done]
            self.done += 1
            if event.event == "spotlight":
                self.spotlight = event.participant_id
            elif event.event == "speaker":
                self.speaker = event.participant_id
                if event.participant_id:
                    self.spoke_at[event.participant_id] = event.at


def _layout(videos: Sequence[_Video], stage: _Stage, t: float, width: int, height: int) -> list[tuple[_Video, Rect]]:
    """The tiles at t: a large one (screen, spotlight, speaker, first camera) above a strip of the others."""
    live = [v for v in videos if v.live(t)]
    if not live:
        return []
    cameras = [v for v in live if v.track.source != "screen"]

    def camera_of(participant: str | None) -> _Video | None:
        own = [v for v in cameras if participant and v.track.participant_id == participant]
        return max(own, key=lambda v: v.start, default=None)

    screens = [v for v in live if v.track.source == "screen"]
    large = (max(screens, key=lambda v: v.start, default=None) or camera_of(stage.spotlight)
             or camera_of(stage.speaker) or (cameras or live)[0])
    small = sorted((v for v in live if v is not large),
                   key=lambda v: (-stage.spoke_at.get(v.track.participant_id or "", -math.inf), v.index))
    small = small[:MAX_SMALL_TILES]
    if not small:
        return [(large, (0, 0, width, height))]
    tile_w = min(width // len(small), height // 5 * 16 // 9)
    tile_h = tile_w * 9 // 16
    left, top = (width - tile_w * len(small)) // 2, height - tile_h
    # 2 px of background between the small tiles
    tiles = [(v, (left + i * tile_w + 1, top + 1, tile_w - 2, tile_h - 2)) for i, v in enumerate(small)]
    return [(large, (0, 0, width, top)), *tiles]


@cache
def _font_file() -> tuple[str, int] | None:
    """The Noto Sans CJK SC font (file, index in its collection) for the names on the tiles, if installed."""
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}|%{index}", "Noto Sans CJK SC"], capture_output=True,
                               text=True, timeout=10, check=False).stdout
        file, _, index = found.partition("|")
        # fc-match names its best match even when that has no CJK glyphs at all
        if "CJK" in file and Path(file).is_file():
            return file, int(index or 0)
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return next(((f, FONT_INDEX_SC) for f in FONT_FILES if Path(f).is_file()), None)


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    found = _font_file()
    if found is not None:
        try:
            return ImageFont.truetype(found[0], size, index=found[1])
        except OSError:
            log.warning("font %s unusable, names are drawn in Pillow's default font", found[0])
    return ImageFont.load_default(size)


@lru_cache(maxsize=512)
def _label(name: str, width: int, height: int) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """A dark bar with the name in white, as (255 - alpha, premultiplied RGB) to blend onto a frame."""
    font = _font(max(8, round(height * 0.7)))
    bar = Image.new("RGBA", (width, height), (0, 0, 0, 160))
    draw = ImageDraw.Draw(bar)
    pad, text = max(2, height // 3), name
    while len(text) > 1 and draw.textlength(text, font=font) > width - 2 * pad:
        text = text[:-2] + "…"
    left, top, _, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((pad - left, (height - (bottom - top)) // 2 - top), text, font=font, fill=(255, 255, 255, 255))
    rgba = np.asarray(bar, dtype=np.uint16)
    alpha = rgba[:, :, 3:4]
    return 255 - alpha, rgba[:, :, :3] * alpha


def _draw(canvas: NDArray[np.uint8], video: _Video, rect: Rect) -> None:
    x, y, width, height = rect
    image = video.image(width, height)
    h, w = image.shape[:2]
    top, left = y + (height - h) // 2, x + (width - w) // 2
    canvas[top : top + h, left : left + w] = image
    if video.track.name:
        bar_h = min(h, max(16, min(36, h // 9)))
        inverse, premultiplied = _label(video.track.name, w, bar_h)
        region = canvas[top + h - bar_h : top + h, left : left + w]
        region[:] = (region * inverse + premultiplied) // 255


# --- composing ---------------------------------------------------------------------------------------------------


def _mix(audios: Sequence[_Audio], start: int, stop: int) -> av.AudioFrame:
    mix = np.zeros(stop - start, np.int32)
    for audio in audios:
        audio.mix_into(mix, start)
    pcm = np.clip(mix, -32768, 32767).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
    return frame


def compose(manifest: Manifest, out: Path, progress: Callable[[float], None] | None = None, *,
            width: int = WIDTH, height: int = HEIGHT, fps: int = FPS) -> ComposeResult:
    """Compose the manifest's track files into one WebM archive at `out`, written under a temporary name first."""
    videos, audios = _open_tracks(manifest)
    try:
        if not videos and not audios:
            raise ComposeError(f"not one of the {len(manifest.tracks)} track files is readable")
        tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
        try:
            frames = _encode(manifest, tmp, videos, audios, progress, width, height, fps)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        readers: list[_Video | _Audio] = [*videos, *audios]
        for reader in readers:
            reader.close()
    if progress is not None:
        progress(1.0)
    return ComposeResult(duration=frames / fps, video_frames=frames, audio_tracks=len(audios),
                         video_tracks=len(videos))


def _encode(manifest: Manifest, path: Path, videos: Sequence[_Video], audios: Sequence[_Audio],
            progress: Callable[[float], None] | None, width: int, height: int, fps: int) -> int:
    frames = max(1, math.ceil(manifest.duration * fps))
    samples = round(manifest.duration * SAMPLE_RATE)
    # Cues moved to the front spare a player the range request to the end before its first seek. The muxer shifts
    # the file once at the end (0.5 s for 1 GB); reserve_index_space would not, but a short guess fails the trailer.
    with av.open(str(path), "w", format="webm", options={"cues_to_front": "1"}) as container:
        video = container.add_stream("libvpx", rate=fps)
        audio = container.add_stream("libopus", rate=SAMPLE_RATE)
        assert isinstance(video, VideoStream) and isinstance(audio, AudioStream)
        video.width, video.height, video.pix_fmt, video.bit_rate = width, height, "yuv420p", VIDEO_BITRATE
        video.codec_context.gop_size = KEY_FRAME_SECONDS * fps
        video.options = {"deadline": "realtime", "cpu-used": str(VP8_CPU_USED), "lag-in-frames": "0"}
        audio.layout, audio.bit_rate = "mono", AUDIO_BITRATE
        stage, reported = _Stage(manifest.timeline), time.monotonic()
        for k in range(frames):
            t = k / fps
            stage.advance(t)
            for track in videos:
                track.advance(t)
            canvas = np.zeros((height, width, 3), np.uint8)
            for track, rect in _layout(videos, stage, t, width, height):
                _draw(canvas, track, rect)
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, fps)
            container.mux(video.encode(frame))
            start, stop = k * SAMPLE_RATE // fps, min(samples, (k + 1) * SAMPLE_RATE // fps)
            if stop > start:
                container.mux(audio.encode(_mix(audios, start, stop)))
            if progress is not None and time.monotonic() - reported >= PROGRESS_EVERY_SECONDS:
                progress(k / frames)
                reported = time.monotonic()
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return frames


class _Arguments(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ComposeError(f"{message} (usage: {self.format_usage().strip().removeprefix('usage: ')})")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m hub.recordings.compose MANIFEST.json OUT.webm`: progress lines, then `done {...}`; 1 on failure."""
    parser = _Arguments(prog="python -m hub.recordings.compose")
    parser.add_argument("manifest", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--height", type=int, default=HEIGHT)
    parser.add_argument("--fps", type=int, default=FPS)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = parser.parse_args(argv)
        try:
            document = json.loads(args.manifest.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ComposeError(f"manifest {args.manifest} is not JSON: {exc}") from exc
        result = compose(Manifest.from_json(document), args.out,
                         lambda fraction: print(f"progress {fraction:.3f}", flush=True),
                         width=args.width, height=args.height, fps=args.fps)
    except Exception as exc:  # the hub shows this one line; a traceback is not for it
        reason = str(exc) if isinstance(exc, ComposeError) else f"{type(exc).__name__}: {exc}"
        print(" ".join(reason.split()), file=sys.stderr, flush=True)
        return 1
    print("done " + json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

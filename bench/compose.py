"""Composing benchmark: the CPU and wall time hub.recordings.compose takes per minute of recorded meeting.

Synthetic per-track files as the live writer makes them (VP8 640x360 @ 30 fps cameras at ~500 kbit/s, pts in
1/90000; Opus 20 ms frames) are written into a temporary directory first (not measured), with a spotlight change
every 10 s and a speaker change every 3 s; then the composer runs in this process, timed.

    python -m bench.compose --minutes 1 --cameras 1 4 9
    python -m bench.compose --minutes 1 --cameras 1 4 9 --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from bench.report import write_section
from hub.recordings import compose as composer
from hub.recordings.compose import compose
from hub.recordings.manifest import LayoutEvent, Manifest, TrackFile

SECTION = "## Recording: composing the archive"
VIDEO_TIME_BASE = Fraction(1, 90_000)
AUDIO_TIME_BASE = Fraction(1, 48_000)
AUDIO_FRAME = 960  # 20 ms


def _in(t: float, gaps: Sequence[tuple[float, float]]) -> bool:
    return any(start <= t < stop for start, stop in gaps)


def write_video_track(path: Path, *, seconds: float, color: tuple[int, int, int], width: int = 640,
                      height: int = 360, fps: int = 30, bitrate: int = 500_000,
                      gaps: Sequence[tuple[float, float]] = (), textured: bool = False) -> int:
    """A VP8 WebM like the live writer's (pts from 0 in 1/90000), one colour with a moving bar; returns its frames.

    Frames whose time falls in a gap are left out. `textured` adds detail and noise so that the encoder
    spends its whole bitrate, as a real camera does.
    """
    rng = np.random.default_rng(len(path.name))
    ys, xs = np.mgrid[0:height, 0:width]
    texture = ((np.sin(xs / 7.0) + np.cos(ys / 5.0)) * 30).astype(np.int16)[:, :, None] if textured else None
    frames = 0
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = width, height, "yuv420p", bitrate
        stream.codec_context.time_base = VIDEO_TIME_BASE
        stream.codec_context.gop_size = 2 * fps
        stream.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        for i in range(round(seconds * fps)):
            t = i / fps
            if _in(t, gaps):
                continue
            image = np.empty((height, width, 3), np.int16)
            image[:] = color
            if texture is not None:
                image += np.roll(texture, i * 3, axis=1) + rng.integers(-12, 12, (height, width, 1), dtype=np.int16)
            bar = int(t * width / 3) % width
            image[:, bar : bar + width // 40] = 255
            frame = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(t / VIDEO_TIME_BASE), VIDEO_TIME_BASE
            container.mux(stream.encode(frame))
            frames += 1
        container.mux(stream.encode(None))
    return frames


def write_audio_track(path: Path, *, seconds: float, frequency: float, amplitude: int = 8000,
                      gaps: Sequence[tuple[float, float]] = ()) -> None:
    """An Opus WebM of a sine tone, 48 kHz mono in 20 ms frames with pts from 0; frames in a gap are left out (DTX)."""
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48_000)
        assert isinstance(stream, AudioStream)
        stream.layout, stream.bit_rate = "mono", 32_000
        for start in range(0, round(seconds * 48_000), AUDIO_FRAME):
            if _in(start / 48_000, gaps):
                continue
            n = np.arange(start, start + AUDIO_FRAME)
            tone = (np.sin(2 * np.pi * frequency * n / 48_000) * amplitude).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, start, AUDIO_TIME_BASE
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def meeting(directory: Path, cameras: int, seconds: float) -> Manifest:
    """A meeting of `cameras` venues, each with a camera and a microphone; files shared between the venues.

    Decoding the same file N times costs what N files cost, and writing it once keeps the setup short.
    """
    camera, microphone = directory / "camera.webm", directory / "microphone.webm"
    if not camera.exists():
        write_video_track(camera, seconds=seconds, color=(90, 120, 160), textured=True)
        write_audio_track(microphone, seconds=seconds, frequency=330)
    people = [f"p{i}" for i in range(cameras)]
    tracks = []
    for i, person in enumerate(people):
        name = f"第{i + 1}会场 区政务服务中心"
        tracks.append(TrackFile(id=f"v{i}", kind="video", file=camera, offset=0.1 * i, name=name,
                                participant_id=person, source="camera"))
        tracks.append(TrackFile(id=f"a{i}", kind="audio", file=microphone, offset=0.1 * i, name=name,
                                participant_id=person, source="microphone"))
    events = [LayoutEvent(at=float(at), event="spotlight", participant_id=people[(at // 10) % cameras])
              for at in range(0, int(seconds), 10)]
    events += [LayoutEvent(at=float(at), event="speaker", participant_id=people[(at // 3) % cameras])
               for at in range(1, int(seconds), 3)]
    return Manifest(duration=seconds, tracks=tuple(tracks), timeline=tuple(events))


@dataclass(frozen=True)
class Run:
    cameras: int
    minutes: float
    wall: float
    cpu: float
    size: int


def run(directory: Path, cameras: int, minutes: float) -> Run:
    """Compose one meeting of `cameras` venues; only compose() is timed."""
    manifest = meeting(directory, cameras, minutes * 60)
    out = directory / f"archive-{cameras}.webm"
    wall, cpu = time.perf_counter(), time.process_time()
    result = compose(manifest, out)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.video_tracks == cameras and result.audio_tracks == cameras, result
    size = out.stat().st_size
    out.unlink()
    return Run(cameras, minutes, wall, cpu, size)


def report(runs: Sequence[Run], camera_kbit: float) -> str:
    from bench.sfu_forwarding import machine_info

    lines = [
        SECTION,
        "",
        f"Machine: {machine_info()}, numpy {np.__version__}",
        "",
        f"Command: `python -m bench.compose {' '.join(sys.argv[1:])}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Topology: one process, hub.recordings.compose.compose() on synthetic per-track files written beforehand "
        f"(not timed): per venue a VP8 640x360 @ 30 fps camera ({camera_kbit:.0f} kbit/s, a moving textured "
        f"picture) and an Opus microphone (a tone, 20 ms frames); a spotlight change every 10 s and a speaker "
        f"change every 3 s. Output: one WebM, VP8 {composer.WIDTH}x{composer.HEIGHT} @ {composer.FPS} fps "
        f"(libvpx realtime, cpu-used {composer.VP8_CPU_USED}, {composer.VIDEO_BITRATE / 1e6:g} Mbit/s, a key frame "
        f"every {composer.KEY_FRAME_SECONDS} s) and the mix of every microphone in Opus. CPU is the process's CPU "
        "time (all its threads).",
        "",
        "| cameras + microphones | meeting minutes | wall s per meeting minute | CPU s per meeting minute "
        "| real-time factor | archive size |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.cameras} + {r.cameras} | {r.minutes:g} | {r.wall / r.minutes:.1f} | {r.cpu / r.minutes:.1f} "
            f"| {r.minutes * 60 / r.wall:.1f}x | {r.size / 2**20:.1f} MiB ({r.size * 8 / r.minutes / 60 / 1000:.0f} "
            f"kbit/s) |")
    most = max(runs, key=lambda r: r.cameras)
    lines += [
        "",
        f"On one core, {most.cameras} cameras compose in {most.cpu / most.minutes / 60:.2f} of the meeting's length "
        f"(CPU time / meeting time): a 2-hour meeting in ~{most.cpu / most.minutes * 120 / 60:.0f} minutes of CPU. "
        f"Peak resident memory of the whole benchmark process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (tracks are decoded as output time "
        "advances, so it does not grow with the meeting's length).",
        "",
        "Real-time factor: meeting time composed per second of wall time (above 1: faster than real time). The work "
        "grows with the cameras, each decoded at its full 30 fps (VP8 frames depend on the ones before) and scaled "
        "into its tile; encoding the one 720p output costs the same for any number of cameras.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0, help="length of the synthetic meeting")
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 4, 9], help="camera counts to compose")
    parser.add_argument("--write", help="update this markdown file's section (docs/benchmarks.md)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-compose-"))
    try:
        runs = [run(directory, cameras, args.minutes) for cameras in args.cameras]
        camera_kbit = (directory / "camera.webm").stat().st_size * 8 / (args.minutes * 60) / 1000
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    text = report(runs, camera_kbit)
    print(text)
    if args.write:
        write_section(args.write, SECTION, text.removeprefix(SECTION))


if __name__ == "__main__":
    main()

"""The archive composer: layout over time, the audio mix, bad track files and the worker's command line."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from bench.compose import write_audio_track, write_video_track
from hub.recordings.compose import ComposeResult, _label, compose
from hub.recordings.manifest import ComposeError, LayoutEvent, Manifest, TrackFile

ROOT = Path(__file__).resolve().parents[2]
RED, GREEN, BLUE, YELLOW, BLACK = (210, 40, 40), (40, 200, 60), (40, 60, 220), (230, 220, 40), (0, 0, 0)
LOW, HIGH = 440.0, 1250.0
CUES, CLUSTER, SEGMENT = 0x1C53BB6B, 0x1F43B675, 0x18538067


@dataclass(frozen=True)
class Archive:
    manifest: Manifest
    path: Path
    result: ComposeResult
    progress: list[float]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per-track files as the live writer leaves them, one of them cut short, one empty."""
    directory = tmp_path_factory.mktemp("tracks")
    files = {name: directory / f"{name}.webm" for name in ("a", "b", "screen", "cut", "low", "high", "empty")}
    small = {"width": 320, "height": 180, "bitrate": 200_000}
    write_video_track(files["a"], seconds=6, color=RED, gaps=[(2, 4)], **small)  # the camera paused for 2 s
    write_video_track(files["b"], seconds=6, color=GREEN, **small)
    write_video_track(files["screen"], seconds=2, color=BLUE, width=480, height=360, bitrate=200_000)
    write_video_track(files["cut"], seconds=6, color=YELLOW, **small)
    whole = files["cut"].read_bytes()
    files["cut"].write_bytes(whole[: int(len(whole) * 0.6)])  # the hub was killed mid-write
    write_audio_track(files["low"], seconds=6, frequency=LOW, gaps=[(2, 4)])  # DTX silence
    write_audio_track(files["high"], seconds=3, frequency=HIGH)
    files["empty"].write_bytes(b"")
    return files


def meeting(files: dict[str, Path], duration: float = 10.0) -> Manifest:
    return Manifest.from_json({
        "duration": duration,
        "tracks": [
            {"id": "a", "kind": "video", "file": str(files["a"]), "offset": 0, "name": "市发展改革委",
             "participant_id": "pA", "source": "camera"},
            {"id": "b", "kind": "video", "file": str(files["b"]), "offset": 1.0, "name": "区政务服务中心",
             "participant_id": "pB", "source": "camera"},
            {"id": "s", "kind": "video", "file": str(files["screen"]), "offset": 2.0, "name": "区政务服务中心",
             "participant_id": "pB", "source": "screen"},
            {"id": "c", "kind": "video", "file": str(files["cut"]), "offset": 0, "name": "城管局",
             "participant_id": "pC", "source": "camera"},
            {"id": "gone", "kind": "video", "file": str(files["a"].with_name("gone.webm")), "offset": 0},
            {"id": "lo", "kind": "audio", "file": str(files["low"]), "offset": 0, "participant_id": "pA"},
            {"id": "hi", "kind": "audio", "file": str(files["high"]), "offset": 3.0, "participant_id": "pB"},
            {"id": "e", "kind": "audio", "file": str(files["empty"]), "offset": 0, "participant_id": "pC"},
        ],
        "timeline": [
            {"at": 0.5, "event": "speaker", "participant_id": "pB"},
            {"at": 5.0, "event": "spotlight", "participant_id": "pA"},
            {"at": 9.0, "event": "spotlight", "participant_id": None},
        ],
    })


@pytest.fixture(scope="module")
def archive(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Archive:
    manifest = meeting(files)
    path = tmp_path_factory.mktemp("out") / "archive.webm"
    progress: list[float] = []
    result = compose(manifest, path, progress.append)
    return Archive(manifest, path, result, progress)


def frames_at(path: Path, times: list[float]) -> dict[float, np.ndarray]:
    """The decoded RGB frames nearest to the given times (without holding every frame)."""
    best: dict[float, tuple[float, np.ndarray]] = {}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            for t in times:
                distance = abs(float(frame.time or 0) - t)
                if t not in best or distance < best[t][0]:
                    best[t] = (distance, frame.to_ndarray(format="rgb24"))
    return {t: image for t, (_, image) in best.items()}


def colour(image: np.ndarray, x: int, y: int) -> tuple[int, ...]:
    """The median colour around (x, y): wide enough that a test pattern's moving bar does not count."""
    return tuple(int(c) for c in np.median(image[y - 5 : y + 5, x - 40 : x + 40].reshape(-1, 3), axis=0))


def near(actual: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    return max(abs(a - e) for a, e in zip(actual, expected, strict=True)) < 45


def decoded_audio(path: Path) -> np.ndarray:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
    with av.open(str(path)) as container:
        chunks = [out.to_ndarray().reshape(-1)
                  for frame in container.decode(audio=0) for out in resampler.resample(frame)]
    return np.concatenate(chunks).astype(np.float64)


def segment_ids(data: bytes) -> list[int]:
    """The IDs of the Matroska Segment's children (EBML: an ID, then the size, both variable-length integers)."""

    def vint(pos: int, marker: bool) -> tuple[int, int]:
        length = 9 - data[pos].bit_length()
        value = int.from_bytes(data[pos : pos + length], "big")
        return (value if marker else value & ((1 << (7 * length)) - 1)), pos + length

    _, pos = vint(0, True)
    size, pos = vint(pos, False)
    segment, pos = vint(pos + size, True)
    assert segment == SEGMENT
    _, pos = vint(pos, False)
    ids = []
    while pos < len(data):
        element, pos = vint(pos, True)
        size, pos = vint(pos, False)
        ids.append(element)
        pos += size
    return ids


def test_manifest_round_trips_and_names_a_bad_key(files: dict[str, Path]) -> None:
    manifest = meeting(files)
    assert Manifest.from_json(json.loads(json.dumps(manifest.to_json()))) == manifest
    assert manifest.tracks[0] == TrackFile(id="a", kind="video", file=files["a"], offset=0.0, name="市发展改革委",
                                           participant_id="pA", source="camera")
    assert manifest.tracks[5].source == "microphone"
    assert manifest.timeline[2] == LayoutEvent(at=9.0, event="spotlight", participant_id=None)
    bad = manifest.to_json()
    bad["tracks"][1]["offset"] = "soon"
    with pytest.raises(ComposeError, match=r"tracks\[1\]\.offset"):
        Manifest.from_json(bad)
    with pytest.raises(ComposeError, match="duration"):
        Manifest.from_json({"tracks": []})


def test_archive_is_one_vp8_720p_and_one_opus_stream_of_the_recording_length(archive: Archive) -> None:
    assert archive.result == ComposeResult(duration=10.0, video_frames=150, audio_tracks=2, video_tracks=4)
    with av.open(str(archive.path)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.width, video.height) == ("vp8", 1280, 720)
        assert audio.codec_context.name == "opus"
        assert container.duration is not None and abs(container.duration / 1e6 - 10.0) < 0.5
        key_frames = [float(p.pts * p.time_base) for p in container.demux(video) if p.pts is not None and p.is_keyframe]
    assert key_frames[0] == 0 and max(np.diff(key_frames)) <= 2.01  # seekable every 2 s
    with av.open(str(archive.path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 150
    ids = segment_ids(archive.path.read_bytes())
    assert CUES in ids and ids.index(CUES) < ids.index(CLUSTER)  # the index ahead of the media: one range request
    assert not list(archive.path.parent.glob(".*.part"))


@pytest.mark.parametrize(("t", "expected", "why"), [
    (1.5, GREEN, "the active speaker's camera"),
    (3.0, BLUE, "the screen share while it is live"),
    (5.5, RED, "the spotlighted camera, back after its pause"),
    (7.5, GREEN, "the speaker again once the spotlighted camera ended"),
    (9.5, BLACK, "nothing live"),
])
def test_the_large_tile_follows_screen_spotlight_and_speaker(
        archive: Archive, t: float, expected: tuple[int, int, int], why: str) -> None:
    image = frames_at(archive.path, [t])[t]
    assert near(colour(image, 640, 250), expected), why


def test_the_strip_holds_the_others_in_speaker_then_track_order_and_a_paused_camera_holds(archive: Archive) -> None:
    images = frames_at(archive.path, [1.5, 3.0])
    # 1.5 s: A and the cut camera, never speakers, in track order; 256x144 tiles centred along the bottom
    assert near(colour(images[1.5], 512, 640), RED) and near(colour(images[1.5], 768, 640), YELLOW)
    # 3.0 s: B spoke, so it comes first; A (paused since 2 s) still shows its last frame
    strip = [colour(images[3.0], x, 640) for x in (384, 640, 896)]
    assert near(strip[0], GREEN) and near(strip[1], RED) and near(strip[2], YELLOW), strip
    assert near(colour(images[3.0], 100, 300), BLACK)  # the 4:3 screen is letterboxed


def test_the_mix_has_both_tones_where_both_play_and_silence_in_the_gap(archive: Archive) -> None:
    pcm = decoded_audio(archive.path)
    assert abs(len(pcm) / 48_000 - 10.0) < 0.1

    def spectrum(start: float, stop: float) -> tuple[np.ndarray, np.ndarray]:
        part = pcm[int(start * 48_000) : int(stop * 48_000)]
        return np.fft.rfftfreq(len(part), 1 / 48_000), np.abs(np.fft.rfft(part * np.hanning(len(part))))

    def level(freqs: np.ndarray, magnitude: np.ndarray, f: float) -> float:
        return float(magnitude[np.abs(freqs - f) < 5].max() / np.median(magnitude))

    both = spectrum(4.2, 5.8)
    assert level(*both, LOW) > 100 and level(*both, HIGH) > 100
    only_low = spectrum(0.5, 1.8)
    assert level(*only_low, LOW) > 100 and level(*only_low, HIGH) < 10
    def rms(start: float, stop: float) -> float:
        return float(np.sqrt(np.mean(pcm[int(start * 48_000) : int(stop * 48_000)] ** 2)))

    assert rms(2.2, 2.8) < 50 and rms(6.5, 9.5) < 50  # the tones: ~5700
    assert rms(4.2, 5.8) > 5000


def test_progress_is_reported_in_order_up_to_one(archive: Archive) -> None:
    assert archive.progress[-1] == 1.0 and archive.progress == sorted(archive.progress)
    assert all(0 <= p <= 1 for p in archive.progress)


def test_bad_track_files_are_skipped_with_a_warning(
        files: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    manifest = meeting(files, duration=2.0)
    only_bad = Manifest(duration=2.0, tracks=tuple(t for t in manifest.tracks if t.id in ("c", "gone", "e")))
    with caplog.at_level(logging.WARNING, logger="hub.recordings.compose"):
        result = compose(only_bad, tmp_path / "out.webm", width=320, height=180)
    assert (result.video_tracks, result.audio_tracks, result.video_frames) == (1, 0, 30)
    skipped = {r.getMessage().split()[2] for r in caplog.records if "skipped" in r.getMessage()}
    assert skipped == {"gone", "e"}
    with pytest.raises(ComposeError, match="not one of the 2 track files"):
        compose(Manifest(duration=2.0, tracks=only_bad.tracks[1:]), tmp_path / "none.webm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.webm"]


def test_a_track_that_starts_between_key_frames_shows_from_its_first_key_frame(
        files: dict[str, Path], tmp_path: Path) -> None:
    late = tmp_path / "late.webm"
    with av.open(str(files["b"])) as source, av.open(str(late), "w", format="webm") as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(video=0):
            if packet.size and packet.pts is not None and packet.pts * packet.time_base >= 0.5:  # key frames: 0, 2, 4 s
                packet.stream = stream
                out.mux(packet)
    track = TrackFile(id="late", kind="video", file=late, offset=0.0, participant_id="pB")
    result = compose(Manifest(duration=3.0, tracks=(track,)), tmp_path / "out.webm", width=320, height=180)
    assert result.video_tracks == 1
    images = frames_at(tmp_path / "out.webm", [1.5, 2.5])
    assert near(colour(images[1.5], 160, 60), BLACK) and near(colour(images[2.5], 160, 60), GREEN)


def test_names_are_drawn_in_a_cjk_font() -> None:
    # a font without these glyphs draws the same box for every character
    assert not np.array_equal(_label("市发展改革委", 200, 24)[1], _label("区政务服务中", 200, 24)[1])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub.recordings.compose", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_worker_prints_progress_then_done(files: dict[str, Path], tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(meeting(files, duration=2.0).to_json(), ensure_ascii=False), encoding="utf-8")
    done = run_cli(str(manifest), str(tmp_path / "out.webm"), "--width", "640", "--height", "360")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-2] == "progress 1.000" and all(line.startswith("progress ") for line in lines[:-1])
    assert json.loads(lines[-1].removeprefix("done ")) == {
        "duration": 2.0, "video_frames": 30, "audio_tracks": 2, "video_tracks": 4}
    with av.open(str(tmp_path / "out.webm")) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (640, 360)


@pytest.mark.parametrize(("content", "reason"), [
    ("{not json", "is not JSON"),
    (json.dumps({"duration": 5, "tracks": [{"id": "x", "kind": "audio", "file": "/nonexistent.webm", "offset": 0}]}),
     "not one of the 1 track files is readable"),
    (json.dumps({"duration": 5, "tracks": [{"id": "x", "kind": "sound", "file": "/x.webm", "offset": 0}]}),
     "tracks[0].kind"),
    ("{}", "unrecognized arguments: --colour"),
])
def test_the_worker_fails_with_a_one_line_reason(tmp_path: Path, content: str, reason: str) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(content, encoding="utf-8")
    extra = ("--colour", "red") if "--colour" in reason else ()
    done = run_cli(str(manifest), str(tmp_path / "out.webm"), *extra)
    assert done.returncode == 1 and done.stdout == ""
    assert reason in done.stderr.splitlines()[-1]
    assert not (tmp_path / "out.webm").exists()

"""The benchmarks still run (briefly): a benchmark that rots unnoticed measures nothing next time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.cluster import ROOT


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.media
def test_sfu_forwarding_with_passthrough_media_reports_both_hubs() -> None:
    out = run(
        "bench.sfu_forwarding", "--passthrough", "--publishers", "1", "--subscribers", "1",
        "--runs", "1", "--seconds", "1", "--warmup", "0.5", "--width", "160", "--height", "120",
        "--bitrate", "200000",
    )
    table = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    rows = {line.split("|")[1].strip(): line for line in table}
    assert "SFU (RTP forwarding)" in rows and "MediaRelay baseline (decode + re-encode)" in rows
    assert "Baseline / SFU hub CPU per forwarded stream" in out
    # one publisher, one subscriber: 2 streams (audio, video) forwarded, frames counted at the client
    sfu = [cell.strip() for cell in rows["SFU (RTP forwarding)"].split("|")[1:-1]]
    assert sfu[1] == "2" and float(sfu[2]) > 0 and float(sfu[5]) > 0


def test_loop_floor_measures_a_forwarder() -> None:
    out = run("bench.loop_floor", "--rates", "200", "--runs", "1", "--seconds", "1")
    row = [line for line in out.splitlines() if line.startswith("| 2")]
    assert row, out
    received, _, fanout, per_packet = (float(cell) for cell in row[0].split("|")[1:5])
    assert received > 100 and fanout == 4 and per_packet > 0


def test_a_benchmark_rewrites_only_its_own_section(tmp_path) -> None:
    from bench.report import write_section

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## A\n\nold a\n\n## B\n\nold b\n", encoding="utf-8")
    write_section(doc, "## A", "new a\n| x |\n")
    write_section(doc, "## C", "\nnew c")
    write_section(doc, "## B", "new b")
    assert doc.read_text(encoding="utf-8") == (
        "# Benchmarks\n\n## A\n\nnew a\n| x |\n\n## B\n\nnew b\n\n## C\n\nnew c\n"
    )


def test_signaling_soak_counts_deliveries_memory_and_readyz() -> None:
    out = run("bench.signaling_soak", "--meetings", "2", "--per-meeting", "3", "--seconds", "3",
              "--chat-every", "1", "--presence-every", "1")
    assert "| /readyz p99 |" in out and "| resident memory |" in out
    delivered = [line for line in out.splitlines() if "deliveries arrived" in line]
    assert delivered and "Errors: 0 " in out, out


@pytest.mark.media
def test_conference_benchmark_runs_and_writes_its_section(tmp_path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Other\n\nkept\n", encoding="utf-8")
    out = run(
        "bench.conference", "--venues", "3", "--last-n", "2", "--audio-n", "1", "--rolls", "2", "--roll-every", "2",
        "--processes", "2", "--full-sizes", "3", "--seconds", "2", "--meeting-seconds", "1",
        "--width", "160", "--height", "120", "--bitrate", "150000", "--write", str(doc),
    )
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]]
            for line in out.splitlines() if line.startswith("| ") and "---" not in line}
    slotted = rows["last_n 2, audio_n 1, roll call every 2 s, small tiles at the base layer (full_rate_tiles 4)"]
    # 4 participants, each receiving at most last_n videos and audio_n + 2 microphones; two tiles are not small:
    # every video at the full rate
    assert slotted[1] == "4" and float(slotted[4]) > 0 and slotted[6] == "2" and int(slotted[7]) <= 3
    large, small = slotted[8].split(" / ")
    assert float(large) > 20 and small == "-"
    assert rows["selection off (everybody receives everything)"][6] == "2"  # 3 participants: 2 others
    assert "Roll call" in out and "The last venue to join" in out and "4 cameras + 12 more" in out
    written = doc.read_text(encoding="utf-8")
    assert written.startswith("# Benchmarks\n\n## Other\n\nkept\n\n## City-wide conference") and "| last_n 2" in written


@pytest.mark.media
def test_join_latency_with_publishing_light_joiners() -> None:
    out = run("bench.join_latency", "--joiners", "3", "--publish")
    assert "light venues" in out
    p95 = next(line for line in out.splitlines() if line.startswith("| same, p95"))
    assert 0 < float(p95.split("|")[2].split()[0]) < 30_000


def test_sfu_forwarding_recorded_and_not() -> None:
    out = run(
        "bench.sfu_forwarding", "--passthrough", "--publishers", "1", "--subscribers", "1", "--modes", "sfu",
        "record", "--runs", "1", "--seconds", "1", "--warmup", "0.5", "--width", "160", "--height", "120",
        "--bitrate", "200000",
    )
    assert "| SFU, the meeting recorded (every track to its own WebM file) | 2 |" in out
    assert "Recording adds" in out


def test_compose_benchmark_times_the_archive_composer(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    out = run("bench.compose", "--minutes", "0.05", "--cameras", "2", "--write", str(doc))
    assert "| 2 + 2 | 0.05 |" in out and "## Recording: composing the archive" in doc.read_text(encoding="utf-8")

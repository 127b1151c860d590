"""The benchmarks still run (briefly): a benchmark that rots unnoticed measures nothing next time."""

from __future__ import annotations

import subprocess
import sys

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

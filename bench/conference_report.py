"""The city-wide conference benchmark's meeting shapes, results and report (bench/conference.py runs them)."""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench import sfu_forwarding
from bench.report import pct
from signaling.light_venue import POLL_INTERVAL

SECTION = "## City-wide conference: 90 venues on one node"
MUTED = "The sub-venues join with their microphones off, as their terminals are set for a city-wide conference. "


@dataclass
class Shape:
    """One meeting to measure: `venues` sub-venues and the main venue; last_n 0 is selection off."""

    venues: int
    last_n: int
    audio_n: int
    rolls: int = 0
    roll_every: float = 5.0
    seconds: float = 10.0  # without roll calls: how long to measure
    muted: bool = True  # the sub-venues join with their microphones off (the main venue speaks)
    full_rate_tiles: int = 4  # tiles besides the stage sent whole; more are small (the base temporal layer)


@dataclass
class MeetingResult:
    shape: Shape
    ran: bool
    failure: str = ""
    seconds: float = 0.0
    cpu: float = 0.0
    packets_in: int = 0
    packets_out: int = 0
    video_streams: list[int] = field(default_factory=list)  # per venue: video slots that carried media
    audio_streams: list[int] = field(default_factory=list)
    video_fps: list[float] = field(default_factory=list)  # per venue and large video stream: frames/s received
    small_fps: list[float] = field(default_factory=list)  # ... and per small one (the base temporal layer only)
    lost: int = 0
    switches: list[float] = field(default_factory=list)  # seconds, every venue of every roll call
    switches_missing: int = 0
    slots_delays: list[float] = field(default_factory=list)  # seconds: the order -> media.slots at each venue
    events: dict[str, float] = field(default_factory=dict)  # /ws events per second at the median venue, by name
    last_join: dict[str, float] = field(default_factory=dict)
    interval_cpu: list[float] = field(default_factory=list)  # cores, per roll-call interval
    rss_mib: float = 0.0  # the hub's resident memory with the meeting running

    @property
    def participants(self) -> int:
        return self.shape.venues + 1

    @property
    def cores(self) -> float:
        return self.cpu / self.seconds if self.seconds else float("nan")

    @property
    def us_per_packet(self) -> float:
        return self.cpu / self.packets_out * 1e6 if self.packets_out else float("nan")


def fps_p5(values: list[float]) -> str:
    return f"{pct(values, 0.05):.1f}" if values else "-"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def conference_rows(slotted: MeetingResult, whole: MeetingResult | None, full: MeetingResult | None) -> list[str]:
    lines = [
        "| meeting | participants | hub CPU (cores) | packets/s in | packets/s out | hub CPU µs / packet out "
        "| videos received per venue (max) | audio streams per venue (max) "
        "| video frames/s per stream, large / small tiles (p5) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    shape = slotted.shape
    base = f"last_n {shape.last_n}, audio_n {shape.audio_n}, roll call every {shape.roll_every:g} s"
    for name, r in ((f"{base}, small tiles at the base layer (full_rate_tiles {shape.full_rate_tiles})", slotted),
                    (f"{base}, every tile whole", whole),
                    ("selection off (everybody receives everything)", full)):
        if r is None or not r.seconds:
            continue
        lines.append(
            f"| {name} | {r.participants} | {r.cores:.2f} | {r.packets_in / r.seconds:.0f} "
            f"| {r.packets_out / r.seconds:.0f} | {r.us_per_packet:.1f} | {max(r.video_streams, default=0)} "
            f"| {max(r.audio_streams, default=0)} | {fps_p5(r.video_fps)} / {fps_p5(r.small_fps)} |")
    return lines


def report(args: argparse.Namespace, slotted: MeetingResult, whole: MeetingResult | None, full: list[MeetingResult],
           meeting: sfu_forwarding.RunResult | None, clip_bitrate: float) -> str:
    largest = next((r for r in reversed(full) if r.ran), None)
    s = slotted.shape
    lines = [
        f"Machine: {sfu_forwarding.machine_info()}",
        "",
        f"Command: `python -m bench.conference {' '.join(sys.argv[1:])}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Topology: one meeting on one hub node (the benchmark's process: create_app, SQLite, the in-process bus); "
        f"the main venue and {s.venues} sub-venues, light clients (signaling/light_venue.py) in {args.processes} "
        f"processes that read their sockets every {POLL_INTERVAL * 1000:.0f} ms, each publishing VP8 "
        f"{args.width}x{args.height} @ {args.fps} fps "
        f"({clip_bitrate / 1000:.0f} kbit/s, key frames when asked) and Opus (20 ms); the main venue is the "
        f"meeting's main unit. {MUTED if s.muted else ''}"
        f"The chair calls on a venue that nobody sees every {s.roll_every:g} s, which unmutes it and mutes the one "
        f"called before ({s.rolls} roll calls, measured over them).",
        "",
        *conference_rows(slotted, whole, largest),
        "",
    ]
    if not slotted.ran:
        lines.append(f"- The {s.venues + 1}-participant meeting did not keep up: {slotted.failure}.")
    if slotted.switches:
        lines.append(
            f"- Roll call, the chair's order -> the end of the called venue's first key frame in the slot it got, at "
            f"every other venue: **p50 {ms(statistics.median(slotted.switches))}, p95 "
            f"{ms(pct(slotted.switches, 0.95))}** ({len(slotted.switches)} switches"
            f"{f', {slotted.switches_missing} never arrived' if slotted.switches_missing else ''}); of which the "
            f"order -> media.slots at the venue: p50 {ms(statistics.median(slotted.slots_delays or [0.0]))}, p95 "
            f"{ms(pct(slotted.slots_delays or [0.0], 0.95))}.")
    if whole is not None and whole.seconds and slotted.seconds:
        switch = f", roll call switch p50 {ms(statistics.median(whole.switches))}" if whole.switches else ""
        kept_up = "" if whole.ran else f" and did not keep up ({whole.failure}), so it sent less than asked"
        lines.append(
            f"- The same meeting with every tile whole: {whole.cores:.2f} cores, "
            f"{whole.packets_out / whole.seconds:.0f} packets/s out{switch}{kept_up}; small tiles at the base layer "
            f"save **{1 - slotted.cores / whole.cores:.0%}** of the hub's CPU.")
    elif whole is not None:
        lines.append(f"- The same meeting with every tile whole did not get to measuring: {whole.failure}.")
    if slotted.last_join:
        j = slotted.last_join
        lines.append(
            f"- The last venue to join ({s.venues + 1}th participant): WebSocket connect -> first complete video "
            f"key frame **{ms(j['first_frame'])}** (connect + auth {ms(j['connect'])}, meeting.join "
            f"{ms(j['join'])}, offer -> answer {ms(j['negotiate'])}).")
    if slotted.interval_cpu:
        lines.append(f"- Hub CPU per {s.roll_every:g} s roll-call interval: median "
                     f"{statistics.median(slotted.interval_cpu):.2f}, max {max(slotted.interval_cpu):.2f} cores.")
    if slotted.seconds:
        lines.append(f"- The hub's resident memory with the {s.venues + 1}-participant meeting running: "
                     f"{slotted.rss_mib:.0f} MiB.")
    if full:
        tried = ", ".join(f"{r.participants}: {'ran' if r.ran else 'did not keep up'}"
                          + (f" ({r.cores:.2f} cores)" if r.seconds else "") for r in full)
        lines.append(f"- Selection off, sizes tried (participants): {tried}.")
    if largest is not None and slotted.seconds:
        ratio = (largest.cores / largest.participants) / (slotted.cores / slotted.participants)
        lines.append(f"- Hub CPU per participant, selection off ({largest.participants}) / last_n "
                     f"{s.last_n} ({slotted.participants}): **{ratio:.1f}x**.")
    if meeting is not None:
        lines.append(
            f"- Today's meeting, 4 cameras + 12 more participants (bench/sfu_forwarding.py, `--passthrough --publishers"
            f" 4 --subscribers 12 --width {args.width} --height {args.height} --fps {args.fps}`, SFU only): "
            f"**{meeting.us_per_packet:.1f} µs** of hub CPU per forwarded packet, "
            f"{meeting.packets_per_second:.0f} packets/s forwarded.")
    lines += [
        "",
        "Targets: the hub under one core and switch p50 ≤ 300 ms with 90 venues at last_n 9. Streams per venue are "
        f"bounded by its slots (video ≤ last_n, audio ≤ audio_n + 2 = {s.audio_n + 2}).",
    ]
    return "\n".join(lines) + "\n"


def print_result(name: str, r: MeetingResult) -> None:
    switches = (f", switch p50 {ms(statistics.median(r.switches))} p95 {ms(pct(r.switches, 0.95))}"
                f" (media.slots p50 {ms(statistics.median(r.slots_delays or [0.0]))})" if r.switches else "")
    print(f"{name}, {r.participants} participants: {'ran' if r.ran else 'FAILED ' + r.failure}; "
          f"{r.cores:.2f} cores, {r.packets_in / max(r.seconds, 1e-9):.0f} pkt/s in, "
          f"{r.packets_out / max(r.seconds, 1e-9):.0f} out, {r.us_per_packet:.1f} us/pkt, "
          f"video/venue max {max(r.video_streams, default=0)}, audio/venue max {max(r.audio_streams, default=0)}, "
          f"lost {r.lost}{switches}, memory {r.rss_mib:.0f} MiB, last join {r.last_join}", flush=True)
    print("  /ws events per second at the median venue: "
          + ", ".join(f"{name} {rate:.1f}" for name, rate in sorted(r.events.items(), key=lambda e: -e[1])), flush=True)



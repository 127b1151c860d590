"""City-wide conference benchmark: one main venue and N sub-venues in one meeting, on one hub node.

The hub (create_app, SQLite, the in-process bus, the SFU) serves in this process; the venues are light clients
(signaling/light_venue.py: pre-encoded VP8 + Opus out, RTP counted per receive slot, nothing encoded or decoded)
spread over `--processes` client processes, which this process drives over their stdin/stdout (JSON lines). The
main venue joins first, then every sub-venue but the last (one after another in each process, the processes side
by side), then the last one alone, timed. Then the chair calls on a venue every `--roll-every` seconds
(POST /api/v1/meetings/{id}/spotlight), and this process measures its own CPU (all threads), the SFU's packets
in and out, what every venue receives per slot, and each roll call's switch time: the chair's order -> the end
of the first key frame of the called venue in the slot `media.slots` gave it, at every other venue.

Side by side in one run: the same meeting shape with selection off (`last_n` 0: everybody receives every
track) at growing sizes until one does not keep up, and today's 4 + 12 meeting of bench/sfu_forwarding.py.

    python -m bench.conference --venues 90 --rolls 12
    python -m bench.conference ... --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bench import sfu_forwarding
from bench.conference_venues import JOIN_DEADLINE, ClientProcess
from bench.hub import BenchHub, serve_hub
from bench.report import pct, write_section
from hub import keys
from hub.directory.model import DirectoryData
from hub.meetings.service import NewMeeting
from signaling.light_venue import POLL_INTERVAL, load_clip
from signaling.media_sample import encode_sample

SECTION = "## City-wide conference: 90 venues on one node"
MAIN_UNIT = "bench-main"
MAIN_LEVEL, VENUE_LEVEL = 20, 60  # the main venue speaks; the others are quieter (-dBov)
MAX_TILES = 25  # meetings.full_rate_tiles at its largest: no tile is small
MUTED = "The sub-venues join with their microphones off, as their terminals are set for a city-wide conference. "


# --- the hub side -------------------------------------------------------------------------------------------


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


async def prepare(hub: BenchHub, venues: int) -> tuple[str, str, list[tuple[str, str]]]:
    """Venue terminals in the directory and the meeting: (meeting id, chair token, [(person id, token)])."""
    unit_ids = [MAIN_UNIT] + [f"bench-venue-{i:03d}" for i in range(1, venues + 1)]
    names = ["主会场"] + [f"分会场 {i}" for i in range(1, venues + 1)]
    person_ids = [f"{unit}-terminal" for unit in unit_ids]
    units: list[dict[str, Any]] = [{"id": u, "name": n, "kind": "office"} for u, n in zip(unit_ids, names, strict=True)]
    people: list[dict[str, Any]] = [
        {"id": p, "name": f"{n} 视频终端", "org_unit": u, "roles": ["terminal"], "active": True}
        for p, u, n in zip(person_ids, unit_ids, names, strict=True)]
    await hub.app[keys.DIRECTORY].import_data(DirectoryData(org_units=units, people=people))
    terminals = await hub.app[keys.DIRECTORY].people(person_ids)
    chair = (await hub.people(terminals=False))[0]
    chair_token = hub.token(chair)
    organizer = await hub.app[keys.AUTH].authenticate(chair_token)
    now = datetime.now(UTC)
    meeting = await hub.app[keys.MEETINGS].create(organizer, NewMeeting(
        title="全市视频会议", chair_id=chair.id, starts_at=now, ends_at=now + timedelta(hours=2),
        invited_units=tuple(unit_ids), main_unit=MAIN_UNIT, lobby=False))
    return meeting.id, chair_token, [(p, hub.token(terminals[p])) for p in person_ids]


async def counters(processes: list[ClientProcess]) -> dict[int, dict[str, Any]]:
    """Every venue's report, by venue index."""
    reports: dict[int, dict[str, Any]] = {}
    for answer in await asyncio.gather(*(p.request("report") for p in processes)):
        reports.update({int(i): r for i, r in answer.items()})
    return reports


def flowing(reports: dict[int, dict[str, Any]], expected_video: int) -> bool:
    """Every venue receives frames on `expected_video` video slots, and every sub-venue on at least one audio slot
    (the main venue's: the main venue itself may hear nobody while the sub-venues are muted)."""
    for index, report in reports.items():
        kinds = [s["kind"] for s in report["slots"].values() if s["frames"] > 0]
        if kinds.count("video") < expected_video or (index != 0 and "audio" not in kinds):
            return False
    return True


async def run_meeting(shape: Shape, args: argparse.Namespace) -> MeetingResult:
    """Join the venues, wait for media everywhere, then measure (with roll calls when the shape has them)."""
    result = MeetingResult(shape, ran=False)
    async with serve_hub({"last_n": shape.last_n, "audio_n": shape.audio_n,
                          "full_rate_tiles": shape.full_rate_tiles}) as hub:
        meeting_id, chair_token, venues = await prepare(hub, shape.venues)
        count = min(args.processes, shape.venues + 1)
        processes = [await ClientProcess.start(hub, meeting_id, args) for _ in range(count)]
        try:
            await measure(hub, shape, args, meeting_id, chair_token, venues, processes, result)
        except (TimeoutError, RuntimeError) as failure:
            result.failure = str(failure) or type(failure).__name__
        finally:
            await asyncio.gather(*(p.stop() for p in processes))
    return result


async def measure(hub: BenchHub, shape: Shape, args: argparse.Namespace, meeting_id: str, chair_token: str,
                  venues: list[tuple[str, str]], processes: list[ClientProcess], result: MeetingResult) -> None:
    def entry(index: int, wait: bool) -> list[Any]:
        return [index, venues[index][1], MAIN_LEVEL if index == 0 else VENUE_LEVEL, shape.muted and index > 0, wait]

    participants: dict[int, str] = {}
    joined = await processes[0].request("join", venues=[entry(0, False)], within=JOIN_DEADLINE)
    participants[0] = joined["0"]["participant_id"]
    last = len(venues) - 1
    batches = [[entry(i, True) for i in range(1, last) if i % len(processes) == n] for n in range(len(processes))]
    for answer in await asyncio.gather(*(p.request("join", venues=b) for p, b in zip(processes, batches, strict=True)
                                         if b)):
        participants.update({int(i): r["participant_id"] for i, r in answer.items()})
    timed = await processes[last % len(processes)].request("join", venues=[entry(last, True)], within=JOIN_DEADLINE)
    progress(f"{len(venues)} venues joined")
    result.last_join = {k: v for k, v in timed[str(last)].items() if k != "participant_id"}
    participants[last] = timed[str(last)]["participant_id"]
    expected = min(shape.last_n, shape.venues) if shape.last_n else shape.venues
    deadline = time.monotonic() + JOIN_DEADLINE
    while not flowing(reports := await counters(processes), expected):
        if time.monotonic() > deadline:
            short = sum(1 for i, r in reports.items() if not flowing({i: r}, expected))
            raise RuntimeError(f"{short} venues did not receive {expected} videos")
        await asyncio.sleep(1)
    progress("media flows to every venue")
    await asyncio.sleep(args.warmup)

    sfu = hub.app[keys.MEETING_ROOMS].sfu
    before, stats, cpu, wall = await counters(processes), sfu.stats(), time.process_time(), time.monotonic()
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    if profiler is not None:
        profiler.enable()
    rolls = []
    # the venues that joined last are the ones nobody sees yet
    targets = [participants[i] for i in range(last - 1, 0, -1)][: shape.rolls]
    if targets:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {chair_token}"}) as http:
            person = {pid: venues[i][0] for i, pid in participants.items()}
            for target in targets:
                interval = time.process_time(), time.monotonic()
                ordered = time.monotonic()
                async with http.post(f"{hub.url}/api/v1/meetings/{meeting_id}/spotlight",
                                     json={"person": person[target]}) as response:
                    if response.status != 200:
                        raise RuntimeError(f"spotlight refused: {response.status} {await response.text()}")
                rolls.append((target, ordered))
                await asyncio.sleep(shape.roll_every - (time.monotonic() - ordered))
                result.interval_cpu.append((time.process_time() - interval[0]) / (time.monotonic() - interval[1]))
    else:
        await asyncio.sleep(shape.seconds)
    after_stats, result.cpu, result.seconds = sfu.stats(), time.process_time() - cpu, time.monotonic() - wall
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(args.profile)
    result.rss_mib = resident_mib()
    progress("measured")
    after = await counters(processes)
    result.packets_in = after_stats.packets_received - stats.packets_received
    result.packets_out = after_stats.packets_forwarded - stats.packets_forwarded
    for index, report in after.items():
        slots = {s: (c, before[index]["slots"].get(s, {"packets": 0, "frames": 0, "upper_frames": 0, "lost": 0}))
                 for s, c in report["slots"].items()}
        moved = {s: (c["kind"], c["packets"] - b["packets"], c["frames"] - b["frames"],
                     c["upper_frames"] - b["upper_frames"]) for s, (c, b) in slots.items()}
        result.video_streams.append(sum(1 for kind, n, _, _ in moved.values() if kind == "video" and n > 0))
        result.audio_streams.append(sum(1 for kind, n, _, _ in moved.values() if kind == "audio" and n > 0))
        for kind, n, frames, upper in moved.values():
            if kind == "video" and n > 0:  # a stream without upper-layer frames is a small tile's
                (result.video_fps if upper else result.small_fps).append(frames / result.seconds)
        result.lost += sum(c["lost"] - b["lost"] for c, b in slots.values())
    for name in sorted({n for r in after.values() for n in r["events"]}):
        moved = [r["events"].get(name, 0) - before[i]["events"].get(name, 0) for i, r in after.items()]
        result.events[name] = statistics.median(moved) / result.seconds
    for target, ordered in rolls:
        for answer in await asyncio.gather(*(p.request("switch", participant=target, at=ordered)
                                             for p in processes)):
            # 0.0: it was on that venue's screen already
            delays = [(switch, slots) for switch, slots in answer.values() if switch != 0.0]
            result.switches += [switch for switch, _ in delays if switch is not None]
            result.switches_missing += sum(1 for switch, _ in delays if switch is None)
            result.slots_delays += [slots for _, slots in delays if slots is not None]
    # keeping up: every stream a venue receives comes at (nearly) its frame rate: the clip's, or a quarter of it
    # for a small tile (the base of three temporal layers)
    large_ok = bool(result.video_fps) and pct(result.video_fps, 0.05) >= 0.9 * args.fps
    small_ok = not result.small_fps or pct(result.small_fps, 0.05) >= 0.9 * args.fps / 4
    result.ran = large_ok and small_ok
    if not result.ran:
        result.failure = (f"video at {fps_p5(result.video_fps)} frames/s (large) and {fps_p5(result.small_fps)} "
                          "(small) at the 5th percentile")


def resident_mib() -> float:
    """This process's resident memory (VmRSS), MiB."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fps_p5(values: list[float]) -> str:
    return f"{pct(values, 0.05):.1f}" if values else "-"


def progress(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


# --- the report ---------------------------------------------------------------------------------------------


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


async def hub_main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    clip = load_clip(args.width, args.height, args.fps, args.bitrate)  # encoded once, before the processes need it
    slotted = await run_meeting(Shape(args.venues, args.last_n, args.audio_n, args.rolls, args.roll_every,
                                      muted=not args.open_microphones, full_rate_tiles=args.full_rate_tiles), args)
    print_result("conference", slotted)
    whole = None
    if args.whole_tiles_too:
        whole = await run_meeting(Shape(args.venues, args.last_n, args.audio_n, args.rolls, args.roll_every,
                                        muted=not args.open_microphones, full_rate_tiles=MAX_TILES), args)
        print_result("every tile whole", whole)
    full: list[MeetingResult] = []
    for size in args.full_sizes:
        result = await run_meeting(Shape(size - 1, 0, args.audio_n, seconds=args.seconds,
                                           muted=not args.open_microphones), args)
        print_result("selection off", result)
        full.append(result)
        if not result.ran:
            break
    meeting = await four_and_twelve(args) if args.meeting_seconds > 0 else None
    text = report(args, slotted, whole, full, meeting, clip.video_bitrate())
    print()
    print(text)
    if args.write:
        write_section(args.write, SECTION, text)


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


async def four_and_twelve(args: argparse.Namespace) -> sfu_forwarding.RunResult:
    """Today's 4 + 12 meeting, measured by bench/sfu_forwarding.py's own run (SFU only)."""
    with tempfile.TemporaryDirectory() as tmp:
        sample = os.path.join(tmp, "sample.webm")
        options = argparse.Namespace(
            publishers=4, subscribers=12, width=args.width, height=args.height, fps=args.fps, sample=sample,
            warmup=2.0, seconds=args.meeting_seconds, queued_receive=False, profile=0)
        encode_sample(sample, width=args.width, height=args.height, fps=args.fps, bitrate=1_000_000,
                      seconds=sfu_forwarding.START_DEADLINE + 32 + args.meeting_seconds)
        result = await sfu_forwarding.run_once("sfu", options)
    print(f"4 + 12 meeting: {result.us_per_packet:.1f} us/pkt, {result.packets_per_second:.0f} pkt/s", flush=True)
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venues", type=int, default=90, help="sub-venues (the main venue comes on top)")
    parser.add_argument("--last-n", type=int, default=9)
    parser.add_argument("--audio-n", type=int, default=3)
    parser.add_argument("--full-rate-tiles", type=int, default=4,
                        help="tiles besides the stage sent whole; more are small (base temporal layer only)")
    parser.add_argument("--whole-tiles-too", action="store_true",
                        help="also run the same meeting with every tile whole (no temporal layer left out)")
    parser.add_argument("--rolls", type=int, default=12, help="roll calls to measure over")
    parser.add_argument("--roll-every", type=float, default=5.0)
    parser.add_argument("--open-microphones", action="store_true",
                        help="the sub-venues join with their microphones on")
    parser.add_argument("--processes", type=int, default=4, help="client processes the venues are spread over")
    parser.add_argument("--full-sizes", type=int, nargs="*", default=[12, 16, 20, 24, 28, 32],
                        help="selection off: participants to try, in order, until one does not keep up")
    parser.add_argument("--seconds", type=float, default=10.0, help="selection off: seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--meeting-seconds", type=float, default=8.0,
                        help="the 4 + 12 meeting (bench/sfu_forwarding.py): seconds measured; 0 skips it")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--bitrate", type=int, default=600_000, help="target bit/s of the venues' clip")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest hub functions of the window")
    parser.add_argument("--write", help="markdown file to put the results in (docs/benchmarks.md)")
    args = parser.parse_args()
    if args.venues < 1 or args.processes < 1 or args.last_n < 1:
        parser.error("need a sub-venue, a client process and last_n of at least 1")
    return args


def main() -> None:
    args = parse_args()
    asyncio.run(hub_main(args))


if __name__ == "__main__":
    main()

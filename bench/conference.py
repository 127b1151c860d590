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
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bench import conference_report, sfu_forwarding
from bench.conference_report import SECTION, MeetingResult, Shape, fps_p5, print_result
from bench.conference_venues import JOIN_DEADLINE, ClientProcess
from bench.hub import BenchHub, serve_hub
from bench.report import pct, write_section
from hub import keys
from hub.directory.model import DirectoryData
from hub.meetings.service import NewMeeting
from signaling.media_sample import encode_sample
from signaling.venue_clip import load_clip

MAIN_UNIT = "bench-main"
MAIN_LEVEL, VENUE_LEVEL = 20, 60  # the main venue speaks; the others are quieter (-dBov)
MAX_TILES = 25  # meetings.full_rate_tiles at its largest: no tile is small


# --- the hub side -------------------------------------------------------------------------------------------


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
        counts = [r["events"].get(name, 0) - before[i]["events"].get(name, 0) for i, r in after.items()]
        result.events[name] = statistics.median(counts) / result.seconds
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


def progress(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)




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
    text = conference_report.report(args, slotted, whole, full, meeting, clip.video_bitrate())
    print()
    print(text)
    if args.write:
        write_section(args.write, SECTION, text)


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

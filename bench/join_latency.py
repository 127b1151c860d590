"""Join benchmark: from WebSocket connect to the first remote video frame, and hub memory per participant.

The hub (create_app on SQLite, the in-process bus, the SFU) serves in this process. A second process runs
the Python meeting clients (signaling/client.py): one host publishing a camera and a microphone, then
`--joiners` participants joining one after the other. For each joiner the client process times WebSocket
connect -> authenticated -> meeting.join answered -> SDP answer applied -> first remote video frame.
Joiners publish nothing by default and decode what they receive (MediaClient): the client process decodes one
stream per joiner and the hub is what is measured. With `--publish` every joiner publishes a camera and a
microphone too, as light venues (signaling/light_venue.py: a pre-encoded clip, nothing decoded; the first frame
is the end of the first complete key frame received), so the client process does not compete with the hub for
the cores. Hub memory is this process's RSS with the host alone, then with every joiner connected.

    python -m bench.join_latency --joiners 20
    python -m bench.join_latency --joiners 30 --publish
    python -m bench.join_latency --joiners 20 --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.hub import serve_hub, timed_join
from bench.report import write_section
from hub import keys
from hub.meetings.service import NewMeeting
from signaling.client import MeetingClient
from signaling.light_venue import LightMedia
from signaling.media_client import MediaClient
from signaling.venue_clip import load_clip

SECTION = "## Meeting join latency and memory per participant"
HOST_WIDTH, HOST_HEIGHT, HOST_FPS = 320, 240, 15  # MediaClient's camera


def rss_bytes() -> int:
    """This process's resident set size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# --- the client process ------------------------------------------------------------------------------------


async def clients_main(args: argparse.Namespace) -> None:
    tokens = json.loads(await asyncio.to_thread(Path(args.tokens).read_text))
    host = MeetingClient(args.url, tokens[0], args.meeting, MediaClient("host"))
    await host.join()
    clip = load_clip(HOST_WIDTH, HOST_HEIGHT, HOST_FPS, 300_000) if args.publish else None
    print(json.dumps({"host": "joined"}), flush=True)
    joined: list[MeetingClient[Any]] = []
    results = []
    for i, token in enumerate(tokens[1:], 1):
        media = LightMedia(f"joiner{i}", clip) if clip is not None else MediaClient(f"joiner{i}", video=False,
                                                                                    audio=False)
        client = MeetingClient(args.url, token, args.meeting, media)
        start, phases = await timed_join(client)
        await client.wait(lambda m=media: first_frame(m) is not None,  # type: ignore[misc]
                          within=30, what="first remote video frame")
        first = first_frame(media)
        assert first is not None
        results.append({**phases, "first_frame": first - start})
        joined.append(client)
    print(json.dumps({"results": results}), flush=True)
    print(json.dumps({"all_joined": len(joined)}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for client in [*joined, host]:
        await client.close()


def first_frame(media: MediaClient | LightMedia) -> float | None:
    """When the first remote video frame was decoded (MediaClient) or completely received (LightMedia)."""
    if isinstance(media, LightMedia):
        return media.first_video_at()
    return min((t.first_frame_at for t in media.live_tracks("video") if t.first_frame_at), default=None)


# --- the hub process ---------------------------------------------------------------------------------------


async def hub_main(args: argparse.Namespace) -> dict[str, Any]:
    async with serve_hub() as hub:
        app, tmp = hub.app, hub.tmp
        directory, auth = app[keys.DIRECTORY], app[keys.AUTH]
        people = [p for p in await directory.members([u.id for u in await directory.units()]) if p.active]
        people = [p for p in people if "terminal" not in {r.value for r in p.roles}][: args.joiners + 1]
        organizer = await auth.authenticate(auth.issue_for(people[0])[0])
        now = datetime.now(UTC)
        meeting = await app[keys.MEETINGS].create(organizer, NewMeeting(
            title="bench", chair_id=people[0].id, starts_at=now, ends_at=now + timedelta(hours=1),
            invited_people=tuple(p.id for p in people), lobby=False))
        tokens_file = tmp / "tokens.json"
        tokens_file.write_text(json.dumps([auth.issue_for(p)[0] for p in people]))
        cmd = [sys.executable, "-m", "bench.join_latency", "--clients", "--url", hub.ws_url,
               "--tokens", str(tokens_file), "--meeting", meeting.id]
        if args.publish:
            cmd.append("--publish")
        child = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE,
                                                     stdout=asyncio.subprocess.PIPE)
        assert child.stdout is not None and child.stdin is not None
        results: list[dict[str, float]] = []
        rss_host = rss_all = 0
        while True:
            line = await asyncio.wait_for(child.stdout.readline(), 300)
            if not line:
                raise RuntimeError("the client process ended early")
            message = json.loads(line)
            if "host" in message:
                await asyncio.sleep(2)
                rss_host = rss_bytes()
            elif "results" in message:
                results = message["results"]
            elif "all_joined" in message:
                await asyncio.sleep(3)
                rss_all = rss_bytes()
                child.stdin.write(b"done\n")
                await child.stdin.drain()
                break
        await child.wait()
    first = sorted(r["first_frame"] * 1000 for r in results)
    return {
        "load": os.getloadavg()[0],
        "joiners": len(results),
        "publish": args.publish,
        "p50_ms": statistics.median(first),
        "p95_ms": first[max(0, round(0.95 * len(first)) - 1)],
        "max_ms": first[-1],
        "phases_ms": {k: statistics.median(r[k] * 1000 for r in results) for k in ("connect", "join", "negotiate")},
        "rss_host_mb": rss_host / 2**20,
        "rss_all_mb": rss_all / 2**20,
        "mb_per_participant": (rss_all - rss_host) / 2**20 / max(1, len(results)),
    }


def report(result: dict[str, Any]) -> str:
    phases = result["phases_ms"]
    mode = "publishing camera + microphone, light venues" if result["publish"] else "receive-only"
    first = "first complete remote video key frame" if result["publish"] else "first decoded remote video frame"
    return "\n".join([
        SECTION,
        "",
        f"`python -m bench.join_latency --joiners {result['joiners']}{' --publish' if result['publish'] else ''}`"
        f" on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f" ({datetime.now(UTC):%Y-%m-%d}, 1-minute load average {result['load']:.1f} at the end)."
        f" One host publishes a 320x240 15 fps VP8 camera and Opus;"
        f" {result['joiners']} Python clients ({mode}) join one after another over /ws.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| WebSocket connect -> {first}, p50 | {result['p50_ms']:.0f} ms |",
        f"| same, p95 | {result['p95_ms']:.0f} ms |",
        f"| same, max | {result['max_ms']:.0f} ms |",
        f"| median phases: connect+auth / meeting.join / offer->answer | {phases['connect']:.0f} / "
        f"{phases['join']:.0f} / {phases['negotiate']:.0f} ms |",
        f"| hub RSS with the host alone -> with all joiners | {result['rss_host_mb']:.0f} -> "
        f"{result['rss_all_mb']:.0f} MiB |",
        f"| hub memory per connected participant | {result['mb_per_participant']:.2f} MiB |",
        "",
        "Most of the time to the first frame is waiting for a key frame: the SFU asks the publisher for one",
        "(PLI) as soon as the new subscriber's sender is ready, and key-frame requests to one publisher are",
        "paced, so joiners arriving back to back can wait for the next one. With `--publish` every joiner also",
        "publishes, as a light venue (signaling/light_venue.py: a pre-encoded 320x240 15 fps VP8 clip and Opus,",
        "nothing decoded, the first frame is the end of the first complete key frame received) and receives at",
        "most meetings.last_n of the others' videos through its receive slots. (Joiners that encoded and decoded",
        "in real time, N^2 streams in one client process competing with the hub for the two cores, gave p95",
        "1.06-2.8 s with 6 joiners.) Not a timed test: numbers vary with load.",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--joiners", type=int, default=20)
    parser.add_argument("--publish", action="store_true", help="joiners publish camera and microphone too")
    parser.add_argument("--write", help="update this markdown file's section (docs/benchmarks.md)")
    parser.add_argument("--clients", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    parser.add_argument("--meeting", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clients:
        asyncio.run(clients_main(args))
        return
    result = asyncio.run(hub_main(args))
    text = report(result)
    print(text)
    if args.write:
        write_section(args.write, SECTION, text.removeprefix(SECTION))


if __name__ == "__main__":
    main()

"""Signaling soak: many sessions in many meetings, chatting and changing presence, for minutes on one node.

A real `cityhub serve` (bench/cluster.py: PostgreSQL, Redis, demo directory) holds `--meetings` meetings of
`--per-meeting` WebSocket sessions each (signaling only, no media), opened from this process. Every session sends
a chat message about every `--chat-every` seconds and turns its microphone off or on about every
`--presence-every` seconds; everyone in its meeting receives both. Throughout, /readyz is polled five times a
second. The baseline is the same node before the sessions came: its /readyz latency and its memory.

Measured: requests refused or unanswered and sockets closed unasked (errors), chat messages delivered per
expected, the node's resident memory after everyone joined and at the end (growth), /readyz p50/p99/max.

    python -m bench.signaling_soak --seconds 60
    python -m bench.signaling_soak --write docs/benchmarks.md        # 500 sessions, 50 meetings, 10 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench.cluster import LOCAL_PG_DSN, LOCAL_REDIS_URL, Cluster, Node, create_database, drop_database
from bench.report import pct, write_section
from hub.app import DEMO_DIRECTORY
from hub.directory.importer import load_file
from signaling.ws_client import SignalingClient, SignalingError

SECTION = "## Signaling soak: 500 sessions in 50 meetings for 10 minutes on one node"


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class Tally:
    errors: list[str] = field(default_factory=list)
    sent: int = 0
    expected: int = 0
    delivered: int = 0
    updates: int = 0


async def readyz(node: Node, stop: asyncio.Event, out: list[float]) -> None:
    """/readyz latency in ms, five times a second, until stopped."""
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.perf_counter()
            async with http.get(f"{node.url}/readyz") as response:
                await response.read()
                if response.status == 200:
                    out.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.2)


async def session(client: SignalingClient, meeting_id: str, size: int, args: argparse.Namespace,
                  stop: asyncio.Event, tally: Tally) -> None:
    """One participant: chat and presence now and then; count what reaches it."""

    async def listen() -> None:
        while True:
            item = await client.events.get()
            if item["event"] == "chat.message":
                tally.delivered += 1
            elif item["event"] == "error":
                tally.errors.append(f"error event: {item['data']}")

    listener = asyncio.create_task(listen())
    rng = random.Random()
    audio = True
    next_chat = time.monotonic() + rng.uniform(0, args.chat_every)
    next_presence = time.monotonic() + rng.uniform(0, args.presence_every)
    try:
        while not stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_chat:
                    await client.request("chat.send", meeting_id=meeting_id, text=f"进度汇报 {tally.sent}")
                    tally.sent += 1
                    tally.expected += size  # the sender receives its own message too
                    next_chat = now + rng.uniform(0.5, 1.5) * args.chat_every
                if now >= next_presence:
                    audio = not audio
                    await client.request("media.state", meeting_id=meeting_id, audio=audio)
                    tally.updates += 1
                    next_presence = now + rng.uniform(0.5, 1.5) * args.presence_every
            except (SignalingError, TimeoutError, ConnectionError) as exc:
                tally.errors.append(f"{type(exc).__name__}: {exc}")
            if client.ws is None or client.ws.closed:
                tally.errors.append("socket closed by the hub")
                return
            await asyncio.sleep(min(next_chat, next_presence) - time.monotonic())
    finally:
        listener.cancel()


async def run(args: argparse.Namespace) -> str:
    url = create_database(args.pg_dsn)
    people = [p["id"] for p in load_file(DEMO_DIRECTORY).people if p.get("active", True)]
    units = sorted({str(p["org_unit"]) for p in load_file(DEMO_DIRECTORY).people})
    tally = Tally()
    idle: list[float] = []
    loaded: list[float] = []
    clients: list[SignalingClient] = []
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp), url, args.redis, heartbeat=5.0,
                          settings={"CITYHUB_MEETINGS_PRESENCE_TTL": "30"})
        try:
            node = await cluster.start("node-a")
            baseline_stop = asyncio.Event()
            probe = asyncio.create_task(readyz(node, baseline_stop, idle))
            await asyncio.sleep(5)
            baseline_stop.set()
            await probe
            rss_idle = rss_mb(node.process.pid)

            meetings = [await cluster.create_meeting(node, "p-xie", invited_units=units, title=f"专题会 {i}")
                        for i in range(args.meetings)]
            joined_at = time.perf_counter()
            for index in range(args.meetings * args.per_meeting):
                meeting = meetings[index % args.meetings]
                client = SignalingClient(node.ws, token=cluster.token(people[index % len(people)]))
                await client.connect()
                await client.request("meeting.join", meeting_id=meeting["id"])
                clients.append(client)
            join_seconds = time.perf_counter() - joined_at
            for client in clients:  # what came while everybody was arriving is not counted
                while not client.events.empty():
                    client.events.get_nowait()
            await asyncio.sleep(2)
            rss_joined = rss_mb(node.process.pid)

            stop = asyncio.Event()
            probe = asyncio.create_task(readyz(node, stop, loaded))
            talking = [asyncio.create_task(session(c, meetings[i % args.meetings]["id"], args.per_meeting, args,
                                                   stop, tally)) for i, c in enumerate(clients)]
            await asyncio.sleep(args.seconds)
            stop.set()
            await asyncio.gather(probe, *talking)
            await asyncio.sleep(2)  # the last messages on their way
            rss_end = rss_mb(node.process.pid)
            node_log = node.log.read_text(errors="replace")
        finally:
            for client in clients:
                await client.close()
            await cluster.stop()
            drop_database(url, args.pg_dsn)
    logged_errors = sum(1 for line in node_log.splitlines() if " ERROR " in line or "Traceback" in line)
    growth = (rss_end - rss_joined) / rss_joined * 100
    sessions = args.meetings * args.per_meeting
    lines = [
        SECTION, "",
        f"`python -m bench.signaling_soak --meetings {args.meetings} --per-meeting {args.per_meeting} "
        f"--seconds {args.seconds:g}` on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()} ({datetime.now(UTC).date()}, 1-minute load average "
        f"{os.getloadavg()[0]:.1f} at the end). One `cityhub serve` on PostgreSQL and Redis (loopback); "
        f"{sessions} WebSocket sessions (signaling only) from one client process, each sending a chat message "
        f"about every {args.chat_every:g} s and switching its microphone about every {args.presence_every:g} s; "
        "/readyz polled five times a second. Baseline: the same node idle, before the sessions came.", "",
        "| measure | idle node (baseline) | under load |", "|---|---|---|",
        f"| /readyz p50 | {statistics.median(idle):.1f} ms | {statistics.median(loaded):.1f} ms |",
        f"| /readyz p99 | {pct(idle, 0.99):.1f} ms | {pct(loaded, 0.99):.1f} ms |",
        f"| /readyz max | {max(idle):.1f} ms | {max(loaded):.1f} ms |",
        f"| resident memory | {rss_idle:.0f} MB | {rss_joined:.0f} MB after the joins, {rss_end:.0f} MB at the "
        f"end ({growth:+.1f} %) |",
        "",
        f"- {sessions} sessions joined in {join_seconds:.1f} s; {tally.sent} chat messages sent, "
        f"{tally.delivered} of {tally.expected} deliveries arrived "
        f"({tally.delivered / max(tally.expected, 1) * 100:.2f} %); {tally.updates} presence changes.",
        f"- Errors: {len(tally.errors)} refused or unanswered requests or closed sockets"
        + (f" (first: {tally.errors[0]})" if tally.errors else "") + f"; {logged_errors} error lines in the "
        "node's log.",
        f"- Target: no error, memory growth under 10 %, /readyz p99 under 50 ms: "
        f"{'held' if not tally.errors and growth < 10 and pct(loaded, 0.99) < 50 else 'NOT held'}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=50)
    parser.add_argument("--per-meeting", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--chat-every", type=float, default=10.0)
    parser.add_argument("--presence-every", type=float, default=30.0)
    parser.add_argument("--redis", default=LOCAL_REDIS_URL)
    parser.add_argument("--pg-dsn", default=LOCAL_PG_DSN)
    parser.add_argument("--write", help="replace this benchmark's section in that markdown file")
    args = parser.parse_args()
    if args.meetings < 1 or args.per_meeting < 2 or args.seconds <= 0:
        sys.exit("--meetings at least 1, --per-meeting at least 2, --seconds positive")
    text = asyncio.run(run(args))
    print(text)
    if args.write:
        write_section(args.write, SECTION, text.removeprefix(SECTION))


if __name__ == "__main__":
    main()

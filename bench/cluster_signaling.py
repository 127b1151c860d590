"""Signaling across nodes: join latency and message fan-out, participants on one node versus split over two.

Real `cityhub serve` processes on a fresh PostgreSQL database and a random Redis prefix (bench/cluster.py, which
the cross-node tests use too). In one run: a meeting with `--participants` WebSocket clients all on node A, then a
second meeting with them alternating between node A and node B. Join latency is meeting.join sent -> answered
(placement, presence, and for participants off the owner node the relayed media join). Fan-out latency is
chat.send on one client -> chat.message received by each of the others (bus within a node, Redis between nodes).

    python -m bench.cluster_signaling --participants 10 --messages 20
    python -m bench.cluster_signaling --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.cluster import LOCAL_PG_DSN, LOCAL_REDIS_URL, Cluster, Node, create_database, drop_database
from bench.report import pct, write_section
from signaling.ws_client import SignalingClient

SECTION = "## Signaling across nodes: join and fan-out, one node versus two"
PEOPLE = ["p-xie", "pub-util-02", "pub-util-03", "pub-util-04", "pub-util-05"]


async def scenario(cluster: Cluster, nodes: list[Node], participants: int, messages: int) -> dict[str, list[float]]:
    meeting = await cluster.create_meeting(nodes[0], "p-xie")
    clients: list[SignalingClient] = []
    joins: list[float] = []
    for i in range(participants):
        node = nodes[i % len(nodes)]
        client = SignalingClient(node.ws, token=cluster.token(PEOPLE[i % len(PEOPLE)]))
        await client.connect()
        clients.append(client)
        started = time.perf_counter()
        await client.request("meeting.join", meeting_id=meeting["id"])
        joins.append((time.perf_counter() - started) * 1000)
    fanout: list[float] = []
    sender, receivers = clients[0], clients[1:]
    for n in range(messages):
        text = f"m{n}"

        async def receive(client: SignalingClient, wanted: str = text) -> float:
            while True:
                data = await client.event("chat.message", within=10)
                if data["message"]["text"] == wanted:
                    return time.perf_counter()

        waiting = [asyncio.create_task(receive(c)) for c in receivers]
        sent = time.perf_counter()
        await sender.request("chat.send", meeting_id=meeting["id"], text=text)
        fanout.extend((t - sent) * 1000 for t in await asyncio.gather(*waiting))
    for client in clients:
        await client.close()
    return {"join": joins, "fanout": fanout}


async def run(args: argparse.Namespace) -> str:
    url = create_database(args.pg_dsn)
    with tempfile.TemporaryDirectory() as tmp:
        cluster = Cluster(Path(tmp), url, args.redis, heartbeat=1.0)
        try:
            a = await cluster.start("node-a")
            one = await scenario(cluster, [a], args.participants, args.messages)  # node B not there yet
            b = await cluster.start("node-b")
            two = await scenario(cluster, [a, b], args.participants, args.messages)
        finally:
            await cluster.stop()
            drop_database(url, args.pg_dsn)
    load = os.getloadavg()[0]
    lines = [
        SECTION, "",
        f"`python -m bench.cluster_signaling --participants {args.participants} --messages {args.messages}` on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({datetime.now(UTC).date()}, 1-minute load average {load:.1f} at the end). "
        "`cityhub serve` nodes on one PostgreSQL and one Redis (loopback): first node A alone with every "
        "participant, then node B started and the participants alternating between A and B. Signaling only (no "
        "media negotiated); each meeting.join still creates the participant's peer on the owner node.", "",
        "| measure | all on one node | split over two nodes |", "|---|---|---|",
    ]
    for name, key in (("meeting.join answered", "join"), ("chat.send -> chat.message at each other", "fanout")):
        for q, label in ((0.5, "p50"), (0.95, "p95")):
            lines.append(f"| {name}, {label} | {pct(one[key], q):.1f} ms | {pct(two[key], q):.1f} ms |")
    lines += ["", "Split over two nodes, half the participants join through the relay (their node asks the "
              "owner over Redis to create their peer) and half of every fan-out crosses Redis pub/sub. "
              "Not a timed test: numbers vary with load.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--redis", default=LOCAL_REDIS_URL)
    parser.add_argument("--pg-dsn", default=LOCAL_PG_DSN,
                        help="a PostgreSQL server to make a scratch database on (dropped afterwards)")
    parser.add_argument("--write", help="replace this benchmark's section in that markdown file")
    args = parser.parse_args()
    if args.participants < 2 or args.messages < 1:
        sys.exit("--participants must be at least 2 and --messages at least 1")
    text = asyncio.run(run(args))
    print(text)
    if args.write:
        write_section(args.write, SECTION, text.removeprefix(SECTION))


if __name__ == "__main__":
    main()

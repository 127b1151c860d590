"""Benchmark: N pycrdt editors (in another process) typing into one shared document through the hub.

Measures the fan-out latency (an update sent by one editor until each other editor has it: p50/p99/max),
the hub's CPU time per update (the hub runs in this process, the editors in a child process), and the
memory one open document takes (rooms opened on documents of a typical minutes size).

    python -m bench.doc_fanout --editors 50 --rate 1 --seconds 20
    python -m bench.doc_fanout --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

Not a test: numbers go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import random
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pycrdt import Doc, Text, YSyncMessageType

from hub import keys
from hub.app import create_app
from hub.docs.model import DocRole, Grant, SubjectKind
from hub.docs.sync_protocol import ASK_ACKS, MSG_STORED, CloseCode, Reader, sync_message
from hub.docs.sync_room import DocAccess
from hub.settings import Settings, load_settings


def rss_bytes() -> int:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# ---- the editors' process ---------------------------------------------------------------------------------

class Editor:
    """One y-websocket client: sends its own updates, timestamps the others' updates as they arrive."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, index: int) -> None:
        self.ws = ws
        self.index = index
        self.doc: Doc = Doc()
        self.text = self.doc.get("t", type=Text)
        self.synced = asyncio.Event()
        self.received: dict[bytes, float] = {}
        self.acked = 0
        self.sent_at: list[float] = []
        self.ack_ms: list[float] = []  # update sent -> the hub's "stored" acknowledgement

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.BINARY:
                break
            now = time.perf_counter()
            reader = Reader(msg.data)
            kind = reader.var_uint()
            if kind == 0:
                sub = reader.var_uint()
                payload = reader.var_bytes()
                if sub == YSyncMessageType.SYNC_STEP1:
                    await self.ws.send_bytes(sync_message(YSyncMessageType.SYNC_STEP2, self.doc.get_update(payload)))
                    continue
                if sub == YSyncMessageType.SYNC_UPDATE:
                    self.received[payload] = now
                self.doc.apply_update(payload)
                if sub == YSyncMessageType.SYNC_STEP2:
                    self.synced.set()
            elif kind == MSG_STORED:
                acked = reader.var_uint()
                # The first acknowledged message is the sync step 2; updates follow in order.
                for n in range(max(self.acked, 1), acked):
                    if n - 1 < len(self.sent_at):
                        self.ack_ms.append((now - self.sent_at[n - 1]) * 1000)
                self.acked = acked

    async def type_once(self, counter: int) -> tuple[bytes, float]:
        before = self.doc.get_state()
        self.text.insert(len(self.text), f"e{self.index}.{counter};")
        update = self.doc.get_update(before)
        sent = time.perf_counter()
        self.sent_at.append(sent)
        await self.ws.send_bytes(sync_message(YSyncMessageType.SYNC_UPDATE, update))
        return update, sent


async def run_editors(url: str, tokens: list[str], rate: float, seconds: float,
                      ready: Connection | None = None) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        editors = []
        for index, token in enumerate(tokens):
            ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {token}"}, max_msg_size=0)
            editor = Editor(ws, index)
            editors.append(editor)
        readers = [asyncio.create_task(e.read()) for e in editors]
        for e in editors:
            await e.ws.send_bytes(ASK_ACKS)  # acknowledgements of stored updates: the latency measured
            await e.ws.send_bytes(sync_message(YSyncMessageType.SYNC_STEP1, e.doc.get_state()))
        await asyncio.wait_for(asyncio.gather(*(e.synced.wait() for e in editors)), 30)
        if ready is not None:
            ready.send("ready")  # the hub starts counting its CPU time here
        sent: dict[bytes, tuple[int, float]] = {}
        started = time.perf_counter()
        cpu0 = time.process_time()

        async def typist(editor: Editor) -> None:
            counter = 0
            await asyncio.sleep(random.random() / rate)  # spread the editors over one period
            while time.perf_counter() - started < seconds:
                update, at = await editor.type_once(counter)
                sent[update] = (editor.index, at)
                counter += 1
                await asyncio.sleep(random.expovariate(rate))

        await asyncio.gather(*(typist(e) for e in editors))
        # Let the last updates arrive everywhere.
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            if all(len(e.received) >= len(sent) - sum(1 for _, (i, _) in sent.items() if i == e.index)
                   for e in editors):
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        typing = min(elapsed, seconds)
        cpu = time.process_time() - cpu0
        acks = sorted(ms for e in editors for ms in e.ack_ms)
        latencies = []
        missing = 0
        for update, (origin, at) in sent.items():
            for e in editors:
                if e.index == origin:
                    continue
                got = e.received.get(update)
                if got is None:
                    missing += 1
                else:
                    latencies.append((got - at) * 1000)
        converged = len({str(e.text) for e in editors}) == 1
        for e in editors:
            await e.ws.close()
        for task in readers:
            task.cancel()
        return {"updates": len(sent), "deliveries": len(latencies), "missing": missing, "typing_s": typing,
                "editors_cpu_share": cpu / elapsed,
                "ack_ms": {"p50": acks[len(acks) // 2], "p99": acks[int(len(acks) * 0.99)]} if acks else None,
                "latencies_ms": latencies, "converged": converged}


def editors_process(conn: Connection, url: str, tokens: list[str], rate: float, seconds: float) -> None:
    conn.send(asyncio.run(run_editors(url, tokens, rate, seconds, conn)))
    conn.close()


# ---- the hub's process ------------------------------------------------------------------------------------

class _Holder:
    """Keeps a room open without a socket (memory measurement)."""

    access = DocAccess(can_write=True, label="bench")

    def send(self, message: bytes) -> None:
        pass

    def close(self, code: CloseCode, reason: str) -> None:
        pass


def minutes_like_updates(paragraphs: int) -> list[bytes]:
    """Updates as an editor typing a typical set of minutes produces them (one per sentence)."""
    doc: Doc = Doc()
    text = doc.get("t", type=Text)
    updates = []
    for i in range(paragraphs):
        before = doc.get_state()
        text.insert(len(text), f"第{i}项：关于城市供水保障工作的讨论意见，由相关部门负责落实。\n")
        updates.append(doc.get_update(before))
    return updates


async def memory_per_document(app: web.Application, documents: int, paragraphs: int) -> dict[str, float]:
    rooms = app[keys.DOC_ROOMS]
    store = rooms.store
    updates = minutes_like_updates(paragraphs)
    ids = [f"bench-mem-{i}" for i in range(documents)]
    for doc_id in ids:
        for update in updates:
            await store.append_update(doc_id, update)
    gc.collect()
    before = rss_bytes()
    holder = _Holder()
    opened = [await rooms.join(doc_id, holder) for doc_id in ids]
    gc.collect()
    after = rss_bytes()
    size = len(opened[0].doc.get_update())
    for room in opened:
        rooms.leave(room, holder)
    return {"documents": documents, "doc_bytes": size, "rss_per_doc_kib": (after - before) / documents / 1024}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cityhub-bench-"))
    base: Settings = load_settings(environ={})
    settings = base.replace(server={"var_dir": tmp, "demo": True, "port": 0, "log_level": "WARNING"},
                            database={"url": args.database_url})
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        directory = app[keys.DIRECTORY]
        people = [p for p in (await directory.search("", limit=200))[0] if p.active][: args.editors]
        if len(people) < args.editors:
            raise SystemExit(f"the demo directory has only {len(people)} active people")
        auth = app[keys.AUTH]
        owner = await auth.authenticate(auth.issue_for(people[0])[0])
        service = app[keys.DOCS]
        doc = await service.create(owner, "fan-out benchmark", unit_role=None,
                                   grants=[Grant(SubjectKind.PERSON, p.id, DocRole.EDITOR) for p in people])
        tokens = [auth.issue_for(p, ttl=3600)[0] for p in people]
        url = f"http://127.0.0.1:{port}/docs/{doc.id}/ws"

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=editors_process, args=(child, url, tokens, args.rate, args.seconds))
        proc.start()

        async def receive() -> Any:
            return await asyncio.get_running_loop().run_in_executor(None, parent.recv)

        assert await receive() == "ready"
        cpu0 = time.process_time()
        result = await receive()
        cpu = time.process_time() - cpu0
        proc.join()
        memory = await memory_per_document(app, args.documents, args.paragraphs)
    finally:
        await runner.cleanup()
    lat = sorted(result.pop("latencies_ms"))

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

    return {
        "editors": args.editors, "rate_per_editor": args.rate, "seconds": args.seconds,
        "database": app[keys.SETTINGS].database_url.split(":")[0],
        **result,
        "updates_per_s": result["updates"] / result["typing_s"],
        "fanout_ms": {"p50": pct(50), "p99": pct(99), "max": lat[-1] if lat else None,
                      "mean": statistics.fmean(lat) if lat else None},
        # The hub's whole CPU (storing, applying, relaying, acks, the connection setup) per update stored.
        "hub_cpu_ms_per_update": cpu * 1000 / max(1, result["updates"]),
        "hub_cpu_share": cpu / result["typing_s"],
        "memory": memory,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--editors", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1.0, help="updates per second per editor")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--documents", type=int, default=50, help="documents opened for the memory figure")
    parser.add_argument("--paragraphs", type=int, default=200, help="sentences per document for memory")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    cli()

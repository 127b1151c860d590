"""Several real `cityhub serve` processes on this machine, sharing one PostgreSQL database and one Redis prefix.

For benchmarks (bench/cluster_signaling.py) and the cross-node tests (tests/cluster/): a development tool, so it
lives here and not in the hub package (it is not shipped: the wheel holds hub, signaling and web only); tests
import it from bench, and nothing in bench imports tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from hub.app import DEMO_DIRECTORY
from hub.auth.tokens import TokenCodec
from hub.clock import Clock
from hub.directory.importer import load_file
from hub.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
# The PostgreSQL server (a database any role may create databases from) and Redis of a developer's machine.
LOCAL_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _admin_async(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _admin(dsn: str, statement: str) -> None:
    """Run an admin statement on its own loop in a thread: callers may be inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(_admin_async(dsn, statement))).result()


def create_database(admin_dsn: str = LOCAL_PG_DSN) -> str:
    """A new, randomly named PostgreSQL database on the server of `admin_dsn`; returns its SQLAlchemy URL."""
    name = f"cityhub_test_{uuid.uuid4().hex[:10]}"
    _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def drop_database(url: str, admin_dsn: str = LOCAL_PG_DSN) -> None:
    """Drop a database made by create_database (connections still open to it are ended)."""
    name = url.rsplit("/", 1)[1]
    _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Node:
    """One `cityhub serve` subprocess."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def kill(self) -> None:
        """kill -9: no draining, no goodbye."""
        if self.process.returncode is None:
            self.process.kill()

    def pause(self) -> None:
        """SIGSTOP: the node stays connected but answers nothing (a stalled or hung node)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after pause()."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)


@dataclass
class Cluster:
    """Nodes sharing a database URL, a Redis URL and prefix, and a var dir (so one JWT secret)."""

    tmp: Path
    database_url: str
    redis_url: str
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    nodes: list[Node] = field(default_factory=list)
    heartbeat: float = 0.5
    # More CITYHUB_* settings for every node started afterwards (they win over the ones below).
    settings: dict[str, str] = field(default_factory=dict)

    def env(self, name: str, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
        env.update({
            "CITYHUB_DATABASE_URL": self.database_url,
            "CITYHUB_REDIS_URL": self.redis_url,
            "CITYHUB_REDIS_PREFIX": self.prefix,
            "CITYHUB_SERVER_VAR_DIR": str(self.tmp / "var"),
            "CITYHUB_SERVER_DEMO": "true",
            "CITYHUB_SERVER_HOST": "127.0.0.1",
            "CITYHUB_SERVER_PORT": str(port),
            "CITYHUB_SERVER_NODE_ID": name,
            "CITYHUB_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CITYHUB_SERVER_HEARTBEAT": str(self.heartbeat),
            "CITYHUB_SERVER_DRAIN_SECONDS": "1",
            "CITYHUB_SERVER_CHECK_RESPONSES": "true",  # a test's REST calls keep to the OpenAPI document
            "CITYHUB_MEETINGS_PRESENCE_TTL": "3",
            "CITYHUB_CALLS_RING_TIMEOUT": "4",
            **self.settings,
        })
        return env

    async def start(self, name: str) -> Node:
        """Start a node and wait until /readyz says ready (at most 30 s)."""
        port = free_port()
        log = self.tmp / f"{name}.log"
        handle = log.open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "serve", cwd=ROOT, env=self.env(name, port),
            stdin=asyncio.subprocess.DEVNULL, stdout=handle, stderr=handle,
        )
        handle.close()
        node = Node(name, port, process, log)
        self.nodes.append(node)
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                if process.returncode is not None:
                    raise RuntimeError(f"node {name} exited: {log.read_text()[-3000:]}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{node.url}/readyz") as response:
                        if response.status == 200:
                            return node
                await asyncio.sleep(0.1)
        raise TimeoutError(f"node {name} not ready: {log.read_text()[-3000:]}")

    async def stop(self) -> None:
        for node in self.nodes:
            node.resume()  # a paused node cannot drain
            if node.process.returncode is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            try:
                await asyncio.wait_for(node.process.wait(), 10)
            except TimeoutError:
                node.kill()
                await node.process.wait()

    def token(self, person_id: str) -> str:
        """A token signed with the nodes' shared secret, for a demo directory person."""
        settings = load_settings(environ=self.env("tokens", 0))
        person = next(p for p in load_file(DEMO_DIRECTORY).people if p["id"] == person_id)
        codec = TokenCodec(settings, Clock())
        return codec.issue(sub=person_id, org=str(person["org_unit"]), roles=list(person.get("roles", [])))[0]

    async def create_meeting(self, node: Node, organizer: str, **fields: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        body = {
            "title": "跨节点协调会", "chair": organizer, "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(), "invited_units": ["pub-util"],
            "invited_people": [], "lobby": False, **fields,
        }
        async with aiohttp.ClientSession() as http, http.post(
            f"{node.url}/api/v1/meetings", json=body, headers={"Authorization": f"Bearer {self.token(organizer)}"}
        ) as response:
            if response.status != 201:
                raise RuntimeError(f"creating a meeting failed: {response.status} {await response.text()}")
            return dict(await response.json())

"""Several real `cityhub serve` processes on one PostgreSQL database and one Redis prefix, made for a test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from hub.app import DEMO_DIRECTORY
from hub.auth.tokens import TokenCodec
from hub.clock import Clock
from hub.directory.importer import load_file
from hub.settings import load_settings
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]


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


@dataclass
class Cluster:
    """Nodes sharing a database URL, a Redis URL and prefix, and a var dir (so one JWT secret)."""

    tmp: Path
    database_url: str
    redis_url: str
    prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    nodes: list[Node] = field(default_factory=list)
    heartbeat: float = 0.5

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
            "CITYHUB_MEETINGS_PRESENCE_TTL": "3",
            "CITYHUB_CALLS_RING_TIMEOUT": "4",
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
            assert response.status == 201, await response.text()
            return dict(await response.json())

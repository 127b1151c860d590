"""A hub serving in the benchmark's own process (create_app on SQLite in a temporary directory, the in-process
bus, the demo directory), so the benchmark can read its CPU time and SFU counters directly."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from hub import keys
from hub.app import create_app
from hub.directory.model import Person
from hub.settings import load_settings
from signaling.client import MeetingClient


@dataclass
class BenchHub:
    """The running hub: its app, where it listens, and its scratch directory."""

    app: web.Application
    url: str
    tmp: Path

    @property
    def ws_url(self) -> str:
        """The /ws endpoint."""
        return self.url.replace("http://", "ws://") + "/ws"

    def token(self, person: Person) -> str:
        """A fresh token for a directory person."""
        return str(self.app[keys.AUTH].issue_for(person)[0])

    async def people(self, *, terminals: bool) -> list[Person]:
        """Active people of the directory: terminals (venues) or not."""
        directory = self.app[keys.DIRECTORY]
        people = [p for p in await directory.members([u.id for u in await directory.units()]) if p.active]
        return [p for p in people if ("terminal" in {r.value for r in p.roles}) == terminals]


@asynccontextmanager
async def serve_hub(meetings: dict[str, Any] | None = None) -> AsyncIterator[BenchHub]:
    """Start a hub on 127.0.0.1 (a free port) with these meeting settings; stopped on exit."""
    tmp = Path(tempfile.mkdtemp(prefix="cityhub-bench-"))
    settings = load_settings(environ={}).replace(
        server={"var_dir": tmp, "demo": True, "port": 0, "public_url": "http://127.0.0.1", "log_level": "WARNING"},
        redis={"prefix": f"bench{uuid.uuid4().hex[:6]}"},
        **({"meetings": meetings} if meetings else {}),
    )
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield BenchHub(app, f"http://127.0.0.1:{port}", tmp)
    finally:
        await runner.cleanup()


async def timed_join(client: MeetingClient[Any]) -> tuple[float, dict[str, float]]:
    """Join a meeting phase by phase: when it started, and seconds of connect + auth, meeting.join, offer -> answer."""
    start = time.monotonic()
    await client.connect()
    connected = time.monotonic()
    await client.join(negotiate=False)
    joined = time.monotonic()
    await client.negotiate()
    return start, {"connect": connected - start, "join": joined - connected, "negotiate": time.monotonic() - joined}

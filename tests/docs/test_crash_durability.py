"""A hub process killed outright (SIGKILL: no shutdown, no compaction) loses no acknowledged update."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from pycrdt import YSyncMessageType

from hub.docs.sync_protocol import sync_message
from tests.docs.ysync_client import YClient
from tests.services import create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parents[2]
# A hub on an ephemeral port that prints the port it got.
SERVE = """
import asyncio
from aiohttp import web
from hub.app import create_app
from hub.settings import load_settings

async def main():
    runner = web.AppRunner(create_app(load_settings()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""

Start = Callable[[], Awaitable[tuple[asyncio.subprocess.Process, str]]]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/hub.db"
    url = create_pg_database()
    request.addfinalizer(lambda: drop_pg_database(url))
    return url


@pytest.fixture
async def start_hub_process(tmp_path: Path, database_url: str) -> AsyncIterator[Start]:
    started: list[asyncio.subprocess.Process] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env.update(CITYHUB_SERVER_VAR_DIR=str(tmp_path / "var"), CITYHUB_SERVER_DEMO="true",
               CITYHUB_DATABASE_URL=database_url, CITYHUB_SERVER_LOG_LEVEL="WARNING",
               PYTHONPATH=str(ROOT))

    async def start() -> tuple[asyncio.subprocess.Process, str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", SERVE, cwd=ROOT, env=env,
                                                    stdout=asyncio.subprocess.PIPE)
        started.append(proc)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        return proc, f"http://127.0.0.1:{int(line)}"

    yield start
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def signed_in(base: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1
    response = await session.post(f"{base}/login", data={"person": "p-xie", "next": "/"}, allow_redirects=False)
    if response.status != 303:
        await session.close()
        raise AssertionError(f"demo sign-in failed: {response.status}")
    return session


async def editor(session: aiohttp.ClientSession, base: str, doc_id: str) -> YClient:
    ws = await session.ws_connect(f"{base.replace('http', 'ws')}/docs/{doc_id}/ws")
    client = YClient(ws)
    await client.send_raw(sync_message(YSyncMessageType.SYNC_STEP1, client.doc.get_state()))
    await asyncio.wait_for(client.synced.wait(), 10)
    return client


async def test_acknowledged_updates_survive_a_killed_hub(start_hub_process: Start) -> None:
    proc, base = await start_hub_process()
    session = await signed_in(base)
    try:
        response = await session.post(f"{base}/api/v1/docs", json={"title": "kill -9"})
        assert response.status == 201, await response.text()
        doc_id = (await response.json())["id"]
        ann = await editor(session, base, doc_id)
        for i in range(40):
            await ann.edit(lambda t, i=i: t.insert(len(t), f"{i},"))
        await ann.wait_saved()  # every one of the 40 was acknowledged as stored
        expected = ann.content
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await ann.wait_closed()
    finally:
        await session.close()

    _, base = await start_hub_process()
    session = await signed_in(base)
    try:
        bob = await editor(session, base, doc_id)
        assert bob.content == expected
        await bob.close()
    finally:
        await session.close()

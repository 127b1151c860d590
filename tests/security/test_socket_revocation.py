"""Revocations and deactivations made by real `cityhub` commands close the open sockets of a running
`cityhub serve` within 5 s: on SQLite with the in-process bus (the CLI's own bus reaches no one: the database's
change log does) and on PostgreSQL with Redis (issue #11, item 2)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from tests.directory.conftest import SMALL
from tests.services import REDIS_URL, create_pg_database, drop_pg_database, redis_available
from tests.sockets import close_code

ROOT = Path(__file__).resolve().parents[2]
WITHIN = 5.0
KONG = '{id: p-kong, name: 孔刚, org_unit: pub-util, title: 副局长, roles: [official], extension: "8102"}'
WANG = ('  - {id: p-wang, name: 王丽华, org_unit: shinan-office, title: 秘书, roles: [official, secretary], '
        'extension: "8201"}\n')


@pytest.fixture(params=["sqlite-memory-bus", "postgresql-redis"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment every `cityhub` process of the test shares: one var dir, database and bus."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    environ.update(CITYHUB_SERVER_VAR_DIR=str(tmp_path / "var"), CITYHUB_SERVER_LOG_LEVEL="INFO")
    if request.param == "sqlite-memory-bus":
        yield environ
        return
    redis_available()
    url = create_pg_database()
    environ.update(CITYHUB_DATABASE_URL=url, CITYHUB_REDIS_URL=REDIS_URL,
                   CITYHUB_REDIS_PREFIX=f"t{uuid.uuid4().hex[:8]}")
    try:
        yield environ
    finally:
        drop_pg_database(url)


async def cityhub(env: dict[str, str], *args: str) -> str:
    """Run one `cityhub` command to its end; its stdout."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, (args, err.decode())
    return out.decode()


@asynccontextmanager
async def serving(env: dict[str, str], log: Path) -> AsyncIterator[str]:
    """`cityhub serve` on a free port; its base URL. Its log goes to a file (a full pipe would stall it)."""
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "serve", "--port", "0", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )
        try:
            assert process.stdout is not None
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
            if not line.startswith("CityHub is running: open http://"):
                raise AssertionError(f"{line!r}: {await asyncio.to_thread(log.read_text)}")
            yield line.split("open ", 1)[1].strip()
        finally:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class Sockets:
    """One person's open /ws and document socket."""

    person: str
    jti: str
    ws: aiohttp.ClientWebSocketResponse
    doc: aiohttp.ClientWebSocketResponse


async def open_sockets(http: aiohttp.ClientSession, base: str, person: str, token: str) -> Sockets:
    bearer = {"Authorization": f"Bearer {token}"}
    ws = await http.ws_connect(f"{base}/ws")
    assert (await ws.receive_json(timeout=10))["data"]["authenticated"] is False
    await ws.send_json({"id": 1, "type": "auth", "token": token})
    assert (await result(ws, 1))["success"] is True
    created = await http.post(f"{base}/api/v1/docs", json={"title": f"{person} 的笔记"}, headers=bearer)
    assert created.status == 201, await created.text()
    doc = await http.ws_connect(f"{base}/docs/{(await created.json())['id']}/ws", headers=bearer)
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    return Sockets(person, jti, ws, doc)


async def result(ws: aiohttp.ClientWebSocketResponse, request_id: int) -> dict[str, Any]:
    while True:
        message = await ws.receive_json(timeout=10)
        if message.get("type") == "result" and message.get("id") == request_id:
            return dict(message)


async def assert_closed_in_time(sockets: Sockets, since: float) -> None:
    """Both sockets closed as revoked (/ws 4003, document 4401) within WITHIN seconds of the command's end."""
    ws_code, doc_code = await asyncio.gather(close_code(sockets.ws, WITHIN + 1), close_code(sockets.doc, WITHIN + 1))
    took = time.monotonic() - since
    assert (ws_code, doc_code) == (4003, 4401), f"{sockets.person}: /ws {ws_code}, document {doc_code}"
    assert took <= WITHIN, f"{sockets.person}: closed after {took:.1f} s"


async def assert_open(sockets: Sockets, request_id: int) -> None:
    await sockets.ws.send_json({"id": request_id, "type": "ping"})
    assert (await result(sockets.ws, request_id))["success"] is True, sockets.person
    assert await close_code(sockets.doc, 0.2) is None, sockets.person


async def test_cli_revocation_and_deactivation_close_the_running_hubs_sockets(
    env: dict[str, str], tmp_path: Path,
) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text(SMALL, encoding="utf-8")
    await cityhub(env, "directory", "import", str(directory))
    log = tmp_path / "serve.log"
    async with serving(env, log) as base, aiohttp.ClientSession() as http:
        people = ("p-xie", "p-kong", "p-wang")
        tokens = [(await cityhub(env, "token", "issue", "--person", p, "--ttl", "600")).strip() for p in people]
        xie, kong, wang = [await open_sockets(http, base, p, t) for p, t in zip(people, tokens, strict=True)]

        # `cityhub token revoke`: only that token's sockets go
        await cityhub(env, "token", "revoke", xie.jti)
        await assert_closed_in_time(xie, time.monotonic())
        await assert_open(kong, 2)
        await assert_open(wang, 2)

        # an import that sets `active: false`
        directory.write_text(SMALL.replace(KONG, KONG[:-1] + ", active: false}"), encoding="utf-8")
        await cityhub(env, "directory", "import", str(directory))
        await assert_closed_in_time(kong, time.monotonic())
        await assert_open(wang, 3)

        # `--prune`: a person missing from the file is deactivated
        assert WANG in SMALL
        directory.write_text(SMALL.replace(WANG, ""), encoding="utf-8")
        await cityhub(env, "directory", "import", "--prune", str(directory))
        await assert_closed_in_time(wang, time.monotonic())

        # what was refused stays refused: a new /ws with the revoked token does not open
        ws = await http.ws_connect(f"{base}/ws")
        await ws.receive_json(timeout=10)
        await ws.send_json({"id": 1, "type": "auth", "token": tokens[0]})
        assert (await result(ws, 1))["error"]["code"] == "token_revoked"
        await ws.close()
    text = log.read_text(encoding="utf-8")
    assert "token of p-xie revoked, closing" in text and "p-kong no longer allowed (person_inactive)" in text
    assert "Traceback" not in text

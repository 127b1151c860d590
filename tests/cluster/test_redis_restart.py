"""Redis restarted under two running nodes (a throwaway redis-server of this test, never the shared one)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from signaling.ws_client import SignalingClient
from tests.cluster.nodes import ROOT, Cluster, Node
from tests.services import ThrowawayRedis, create_pg_database, drop_pg_database


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def own_cluster(tmp_path: Path, redis_server: ThrowawayRedis) -> AsyncIterator[Cluster]:
    url = create_pg_database()
    made = Cluster(tmp_path, url, redis_server.url)
    try:
        yield made
    finally:
        await made.stop()
        drop_pg_database(url)


async def ready(node: Node) -> bool:
    async with aiohttp.ClientSession() as http, http.get(f"{node.url}/readyz") as response:
        return response.status == 200


async def until(predicate: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.2)


async def test_nodes_report_not_ready_keep_serving_and_recover_after_redis_restarts(
    own_cluster: Cluster, redis_server: ThrowawayRedis,
) -> None:
    cluster = own_cluster
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    meeting = await cluster.create_meeting(a, "p-xie")
    on_a = SignalingClient(a.ws, token=cluster.token("p-xie"))
    on_b = SignalingClient(b.ws, token=cluster.token("pub-util-02"))
    await on_a.connect()
    await on_b.connect()
    try:
        for client in (on_a, on_b):
            assert (await client.request("meeting.join", meeting_id=meeting["id"]))["status"] == "joined"

        redis_server.stop()
        async def a_down() -> bool:
            return not await ready(a)

        async def both_up() -> bool:
            return await ready(a) and await ready(b)

        await until(a_down, 10, "node-a not ready without Redis")
        # what a node holds locally still works, and what goes to PostgreSQL is kept
        kept = await cluster.create_meeting(b, "p-xie", title="Redis 停止期间创建的会议")
        await on_a.request("chat.send", meeting_id=meeting["id"], text="停机期间")
        assert (await on_a.event("chat.message"))["message"]["text"] == "停机期间"

        redis_server.start()
        await until(both_up, 20, "both nodes ready again")
        async with aiohttp.ClientSession() as http, http.get(
            f"{a.url}/api/v1/meetings/{kept['id']}", headers={"Authorization": f"Bearer {cluster.token('p-xie')}"}
        ) as got:
            assert got.status == 200 and (await got.json())["title"] == "Redis 停止期间创建的会议"
        # the nodes announced themselves again, and events cross nodes again
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "nodes", env=cluster.env("cli", 0), cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert b"node-a" in out and b"node-b" in out
        for _ in range(50):
            await on_a.request("chat.send", meeting_id=meeting["id"], text="恢复了")
            with contextlib.suppress(TimeoutError):
                message = await on_b.event("chat.message", within=0.5)
                if message["message"]["text"] == "恢复了":
                    break
        else:
            raise AssertionError("chat from node-a never reached node-b after Redis came back")
    finally:
        await on_a.close()
        await on_b.close()


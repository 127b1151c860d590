"""Redis restarted under two running nodes (a throwaway redis-server of this test, never the shared one)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from hub.storage.db import Database
from hub.supervision.tables import followups, items
from signaling.ws_client import SignalingClient
from tests.calls.terminals import InProcessTerminal, media_flowing, next_line
from tests.cluster.api import api
from tests.cluster.documents import converged, editor, holds, lines_of, stored, write
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


async def nodes_ready(nodes: list[Node], wanted: bool) -> bool:
    """Whether every node's /readyz says ready (wanted=True) or every one says not ready (False)."""
    return all([await ready(node) == wanted for node in nodes])


async def until(predicate: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.2)


async def two_nodes_and_a_meeting(cluster: Cluster) -> tuple[Node, Node, dict[str, Any]]:
    """node-a and node-b, and a meeting chaired by p-xie created through node-a."""
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    return a, b, await cluster.create_meeting(a, "p-xie")


async def test_nodes_report_not_ready_keep_serving_and_recover_after_redis_restarts(
    own_cluster: Cluster, redis_server: ThrowawayRedis,
) -> None:
    cluster = own_cluster
    a, b, meeting = await two_nodes_and_a_meeting(cluster)
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



LEAD = "pub-util-04"  # a member of the lead department of every decision here


async def decide(cluster: Cluster, node: Node, meeting_id: str, text: str) -> str:
    """The chair records a decision through node; its supervision item's id."""
    due = (date.today() + timedelta(days=14)).isoformat()
    body = {"text": text, "lead_unit": "pub-util", "responsible": LEAD, "due_date": due}
    recorded = await api(cluster, node, "POST", f"/api/v1/meetings/{meeting_id}/decisions", "p-xie", json=body,
                         expect=201)
    return str(recorded["item"]["id"])


async def progress(cluster: Cluster, node: Node, item_id: str, percent: int, *, accept: bool = False) -> None:
    """The lead department (accepts the item and) reports progress through node."""
    if accept:
        await api(cluster, node, "POST", f"/api/v1/supervision/items/{item_id}/actions", LEAD,
                  json={"action": "accept"})
    await api(cluster, node, "POST", f"/api/v1/supervision/items/{item_id}/reports", LEAD,
              json={"text": f"完成 {percent}%", "percent": percent}, expect=201)


async def test_supervision_and_document_work_through_a_redis_outage_is_all_there_afterwards(
    own_cluster: Cluster, redis_server: ThrowawayRedis,
) -> None:
    cluster = own_cluster
    a, b, meeting = await two_nodes_and_a_meeting(cluster)
    minutes = meeting["minutes_doc_id"]

    async def both_down() -> bool:
        return not await ready(a) and not await ready(b)

    async def both_up() -> bool:
        return await ready(a) and await ready(b)

    async with aiohttp.ClientSession() as http:
        # the meeting's minutes open on both nodes, edited through each
        alice = await editor(http, cluster, a, minutes, "p-xie")
        bob = await editor(http, cluster, b, minutes, "pub-util-02")
        first = await decide(cluster, a, meeting["id"], "一号决定：排查管网")
        await progress(cluster, b, first, 20, accept=True)
        await write(alice, ["会前甲"])
        await write(bob, ["会前乙"])
        typed = {"会前甲", "会前乙"}
        await converged([alice, bob], typed)

        redis_server.stop()
        await until(both_down, 10, "both nodes not ready without Redis")
        # work through both nodes while Redis is away: all of it goes to PostgreSQL
        second = await decide(cluster, b, meeting["id"], "二号决定：更换阀门")
        await progress(cluster, a, first, 50)
        await progress(cluster, b, second, 10, accept=True)
        outage = {f"停机{who}{i}" for who in "甲乙" for i in range(5)}
        await asyncio.gather(write(alice, sorted(w for w in outage if "甲" in w)),
                             write(bob, sorted(w for w in outage if "乙" in w)))
        for client in (alice, bob):
            await client.wait_saved()  # acknowledged: stored

        redis_server.start()
        await until(both_up, 20, "both nodes ready again")
        # without reconnecting, each editor gets what the other node stored while Redis was away
        typed |= outage
        final = await converged([alice, bob], typed)
        assert all(any(text in line for line in final) for text in ("一号决定", "二号决定"))
        for node in (a, b):
            listed = await api(cluster, node, "GET", "/api/v1/supervision/items", "supervision-01")
            assert {first, second} <= {i["id"] for i in listed["items"]}
            got = await api(cluster, node, "GET", f"/api/v1/supervision/items/{first}", "supervision-01")
            assert got["item"]["percent"] == 50
            assert [f["percent"] for f in got["timeline"] if f["kind"] == "report"] == [20, 50]
            markdown = await api(cluster, node, "GET", f"/api/v1/docs/{minutes}/export?format=md", "p-xie")
            assert all(line in markdown for line in typed)
        # new work goes through, and across nodes again
        third = await decide(cluster, b, meeting["id"], "三号决定：通报结果")
        await write(alice, ["恢复后甲"])
        typed.add("恢复后甲")
        final = await converged([alice, bob], typed)
        assert any("三号决定" in line for line in final)
        await progress(cluster, a, third, 5, accept=True)
        for client in (alice, bob):
            await client.wait_saved()
            await client.close()

    await cluster.stop()
    kept = await stored(cluster.database_url, minutes)
    assert lines_of(kept) == final
    assert all(holds(kept, update) for client in (alice, bob) for update in client.acknowledged)
    db = Database(cluster.database_url)
    try:
        async with db.engine.connect() as conn:
            rows = (await conn.execute(sa.select(items.c.id, items.c.percent))).all()
            reports = (await conn.execute(sa.select(followups.c.item_id, followups.c.percent)
                                          .where(followups.c.kind == "report"))).all()
    finally:
        await db.close()
    assert dict(rows) == {first: 50, second: 10, third: 5}
    assert sorted(reports) == sorted([(first, 20), (first, 50), (second, 10), (third, 5)])


async def test_an_answered_call_across_nodes_goes_on_through_a_redis_restart(
    own_cluster: Cluster, redis_server: ThrowawayRedis,
) -> None:
    cluster = own_cluster
    # devices renew their presence every 10 s, and every node sweeps twice a second: a sweep comes right after
    # Redis is back (empty: the throwaway redis-server keeps nothing), long before the devices renew
    cluster.settings.update({"CITYHUB_CALLS_PRESENCE_TTL": "30", "CITYHUB_CALLS_SWEEP_INTERVAL": "0.5"})
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    office = await InProcessTerminal(b.url, cluster.token("shinan-office-term"), auto_answer=True).start()
    city = await InProcessTerminal(a.url, cluster.token("drc-01"), dial="6119").start()
    try:
        call_id = (await next_line(city.sink.lines, "answered"))["call"]
        await media_flowing(office.sink.lines)
        redis_server.stop()
        await until(lambda: nodes_ready([a, b], False), 10, "both nodes not ready without Redis")
        redis_server.start()
        await until(lambda: nodes_ready([a, b], True), 20, "both nodes ready again")
        await asyncio.sleep(4 * 0.5)  # sweeps on both nodes
        for node, person in ((a, "drc-01"), (b, "shinan-office-term")):
            assert (await api(cluster, node, "GET", f"/api/v1/calls/{call_id}", person))["state"] == "active"
        before = int((await next_line(office.sink.lines, "media"))["video_frames"])
        assert int((await next_line(office.sink.lines, "media"))["video_frames"]) > before
        assert not [name for name, _ in office.sink.seen + city.sink.seen if name in ("ended", "stopped")]
    finally:
        assert await city.stop() == 0
    ended = await next_line(office.sink.lines, "ended")
    assert (ended["call"], ended["outcome"]) == (call_id, "answered")
    await office.stop()

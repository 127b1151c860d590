"""The node registry: nodes announce themselves with a TTL; a draining node says so and refuses new sockets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from hub import keys
from hub.app import drain
from hub.bus import RedisBus
from hub.bus.nodes import NodeRegistry
from signaling.ws_client import SignalingClient
from tests.conftest import Hub
from tests.services import REDIS_URL, redis_available


async def test_a_hub_lists_itself_and_reports_draining(hub: Hub) -> None:
    registry = hub.app[keys.NODES]
    listed = await registry.nodes()
    assert [n.id for n in listed] == [hub.app[keys.BUS].node_id]
    client = SignalingClient(str(hub.client.make_url("/ws")), token=hub.token("p-xie"))
    await client.connect()
    try:
        await drain(hub.app, 0.2)
        assert (await client.event("server.draining"))["reconnect"] is True
    finally:
        await client.close()
    assert (await registry.nodes())[0].draining is True
    ready = await hub.client.get("/readyz")
    assert ready.status == 503 and (await ready.json())["draining"] is True
    refused = await hub.client.get("/ws")
    assert refused.status == 503
    assert (await refused.json())["error"]["code"] == "node_draining"


async def test_nodes_expire_without_heartbeat() -> None:
    redis_available()
    prefix = f"t{uuid.uuid4().hex[:8]}"
    a, b = (RedisBus(REDIS_URL, prefix=prefix, node_id=n) for n in ("node-a", "node-b"))
    await a.start()
    await b.start()
    # Half a second between heartbeats (entries live three): shorter lets a busy two-core CI machine expire a
    # live node between its start and the first look.
    reg_a = NodeRegistry(a, signaling_url="http://10.0.0.1:8080", media_address="10.0.0.1", interval=0.5)
    reg_b = NodeRegistry(b, signaling_url="http://10.0.0.2:8080", media_address="10.0.0.2", interval=0.5)
    try:
        await reg_a.start()
        await reg_b.start()
        assert {n.id for n in await reg_a.nodes()} == {"node-a", "node-b"}
        # node-b dies without leaving: no more heartbeats, its entry expires after three intervals.
        assert reg_b._task is not None
        reg_b._task.cancel()
        await asyncio.sleep(2.0)
        assert {n.id for n in await reg_a.nodes()} == {"node-a"}
    finally:
        await reg_a.stop()
        await a.stop()
        await b.stop()


def test_cityhub_nodes_lists_live_nodes(tmp_path: Path) -> None:
    redis_available()
    prefix = f"t{uuid.uuid4().hex[:8]}"

    async def announce() -> Any:
        bus = RedisBus(REDIS_URL, prefix=prefix, node_id="hub-7")
        await bus.start()
        registry = NodeRegistry(bus, signaling_url="http://127.0.0.1:9999", media_address="127.0.0.1", interval=5)
        await registry.start()
        env = {**os.environ, "CITYHUB_REDIS_URL": REDIS_URL, "CITYHUB_REDIS_PREFIX": prefix,
               "CITYHUB_SERVER_VAR_DIR": str(tmp_path)}
        env.pop("CITYHUB_CONFIG", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "nodes", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await proc.communicate()
        await registry.stop()
        await bus.stop()
        return proc.returncode, out.decode(), err.decode()

    code, out, err = asyncio.run(announce())
    assert code == 0, err
    assert "hub-7" in out and "http://127.0.0.1:9999" in out and "serving" in out


async def test_without_redis_nodes_says_one_node(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env["CITYHUB_SERVER_VAR_DIR"] = str(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "nodes", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert b"one node" in out

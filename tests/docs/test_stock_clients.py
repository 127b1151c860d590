"""Stock clients welcome: two stock y-websocket providers in Node (npm y-websocket with ws) sync through the hub,
converge, share awareness and log nothing, since the hub sends its acknowledgements of stored updates only to
clients that ask for them."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Hub
from tests.docs.test_documents_api import create

SCRIPT = Path(__file__).with_name("stock_clients.mjs")
ROOT = Path(__file__).resolve().parents[2]


async def test_two_stock_y_websocket_clients(hub: Hub) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "ws").is_dir():
        pytest.fail("node and the npm packages are installed by scripts/setup.sh")
    doc = await create(hub, "p-xie")
    base = str(hub.client.make_url("/")).rstrip("/").replace("http://", "ws://")
    process = await asyncio.create_subprocess_exec(
        node, str(SCRIPT), base, doc["id"], hub.token("p-xie"), hub.token("pub-util-04"), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["a"] == result["b"] and sorted(result["a"]) == sorted("hello world")
    assert result["awareness"] == [2, 2]
    assert result["logged"] == [], result["logged"]  # no "Unable to compute message", nothing

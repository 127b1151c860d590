"""Log lines: the request id on every line of a request, and JSON lines on demand."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from hub.logs import JsonFormatter, _ContextFilter, own_context, request_id
from tests.conftest import Hub

ROOT = Path(__file__).resolve().parent.parent

async def test_refusals_are_logged_with_the_request_id(hub: Hub) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(JsonFormatter())
    watched = [logging.getLogger("hub.middleware"), logging.getLogger("hub.auth.service")]
    for logger in watched:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        response = await hub.client.get(
            "/api/v1/me", headers={"Authorization": "Bearer not.a.jwt", "X-Request-ID": "req-4711"}
        )
        assert response.status == 401
    finally:
        for logger in watched:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "no log line for the refusal"
    assert all(line["request_id"] == "req-4711" for line in lines)
    assert any("token_malformed" in line["message"] for line in lines)
    assert {"time", "level", "logger", "message"} <= set(lines[0])

def test_cli_writes_json_lines_when_asked(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env.update(CITYHUB_SERVER_VAR_DIR=str(tmp_path / "var"), CITYHUB_SERVER_LOG_JSON="true")
    done = subprocess.run(
        [sys.executable, "-m", "hub", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert lines and all(line["level"] in {"INFO", "WARNING"} for line in lines)
    assert any(line["logger"] == "hub.storage.db" and "schema" in line["message"] for line in lines)

async def test_a_rooms_own_task_logs_under_its_own_label_not_its_openers() -> None:
    seen: list[str] = []

    async def work() -> None:
        seen.append(request_id.get())

    token = request_id.set("req-that-opened-it")
    try:
        await asyncio.create_task(work(), context=own_context("meeting:m1"))
        assert seen == ["meeting:m1"] and request_id.get() == "req-that-opened-it"
    finally:
        request_id.reset(token)

async def test_a_socket_is_told_the_id_its_lines_carry(hub: Hub) -> None:
    named = await hub.client.ws_connect("/ws", headers={"X-Request-ID": "socket-7"})
    made_up = await hub.client.ws_connect("/ws")
    try:
        assert named._response.headers["X-Request-ID"] == "socket-7"
        assert len(made_up._response.headers["X-Request-ID"]) == 16
    finally:
        await named.close()
        await made_up.close()

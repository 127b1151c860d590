"""The `cityhub` command, run as `python -m hub` in a subprocess on a var dir of the test's own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from hub.auth.service import REVOKED_CHANNEL
from hub.bus import RedisBus
from hub.settings import load_settings
from tests.conftest import start_hub
from tests.directory.conftest import SMALL
from tests.services import REDIS_URL, redis_available

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Cli:
    env: dict[str, str]

    def run(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "hub", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60
        )
        if check is not None:
            assert done.returncode == check, (done.returncode, done.stdout, done.stderr)
        return done

    def settings_env(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if k.startswith("CITYHUB_")}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env.update(CITYHUB_SERVER_VAR_DIR=str(tmp_path / "var"), CITYHUB_SERVER_LOG_LEVEL="WARNING")
    return Cli(env)


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "directory.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_db_upgrade_twice(cli: Cli, tmp_path: Path) -> None:
    first = cli.run("db", "upgrade")
    assert "latest schema" in first.stdout and (tmp_path / "var" / "cityhub.db").exists()
    assert "latest schema" in cli.run("db", "upgrade").stdout


def test_directory_import_twice_prune_and_export_round_trip(cli: Cli, small_file: Path, tmp_path: Path) -> None:
    first = json.loads(cli.run("directory", "import", str(small_file)).stdout)
    assert first == {"org_units": 4, "people": 3, "created": 7, "updated": 0, "deactivated": 0}
    second = json.loads(cli.run("directory", "import", str(small_file)).stdout)
    assert (second["created"], second["updated"]) == (0, 7)
    exported = cli.run("directory", "export").stdout
    data = yaml.safe_load(exported)
    assert {p["id"] for p in data["people"]} == {"p-xie", "p-kong", "p-wang"}
    assert "谢继成" in exported  # readable Chinese, not escapes
    round_trip = tmp_path / "export.yaml"
    round_trip.write_text(exported, encoding="utf-8")
    assert json.loads(cli.run("directory", "import", str(round_trip)).stdout)["created"] == 0
    as_json = json.loads(cli.run("directory", "export", "--format", "json").stdout)
    assert as_json == data
    # --prune: one person left out of the file is deactivated, not deleted.
    data["people"] = [p for p in data["people"] if p["id"] != "p-kong"]
    fewer = tmp_path / "fewer.json"
    fewer.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert json.loads(cli.run("directory", "import", str(fewer), "--prune").stdout)["deactivated"] == 1
    kong = next(p for p in yaml.safe_load(cli.run("directory", "export").stdout)["people"] if p["id"] == "p-kong")
    assert kong["active"] is False


def test_bad_directory_file_exits_1_naming_the_record(cli: Cli, small_file: Path, tmp_path: Path) -> None:
    cli.run("directory", "import", str(small_file))
    before = cli.run("directory", "export").stdout
    data = yaml.safe_load(SMALL)
    data["people"][0]["title"] = "改了"
    data["people"].append({"id": "p-new", "name": "新人", "org_unit": "nowhere"})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    failed = cli.run("directory", "import", str(bad), check=1)
    assert "people[3] (p-new).org_unit" in failed.stderr and "nowhere" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert cli.run("directory", "export").stdout == before
    missing = cli.run("directory", "import", str(tmp_path / "absent.yaml"), check=1)
    assert "absent.yaml" in missing.stderr


async def test_token_issue_works_against_the_app_and_revoke_ends_it(
    cli: Cli, small_file: Path, aiohttp_client: Any
) -> None:
    cli.run("directory", "import", str(small_file))
    token = cli.run("token", "issue", "--person", "p-xie", "--ttl", "300", "--scope", "meeting:7").stdout.strip()
    unverified = jwt.decode(token, options={"verify_signature": False})
    assert unverified["sub"] == "p-xie" and unverified["exp"] - unverified["iat"] == 300
    hub = await start_hub(aiohttp_client, load_settings(environ=cli.settings_env()))
    headers = {"Authorization": f"Bearer {token}"}
    me = await hub.client.get("/api/v1/me", headers=headers)
    body = await me.json()
    assert me.status == 200 and body["person"]["id"] == "p-xie" and body["scope"] == "meeting:7"
    assert "revoked" in cli.run("token", "revoke", unverified["jti"]).stdout
    assert "already" in cli.run("token", "revoke", unverified["jti"]).stdout
    refused = await hub.client.get("/api/v1/me", headers=headers)
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "token_revoked"


def test_token_issue_refusals(cli: Cli, small_file: Path) -> None:
    cli.run("directory", "import", str(small_file))
    unknown = cli.run("token", "issue", "--person", "p-nobody", check=1)
    assert "person_not_found" in unknown.stderr and "p-nobody" in unknown.stderr
    for ttl in ("0", "-60"):
        bad_ttl = cli.run("token", "issue", "--person", "p-xie", "--ttl", ttl, check=1)
        assert "invalid_ttl" in bad_ttl.stderr
    missing_person = cli.run("token", "issue", check=2)
    assert "--person" in missing_person.stderr


def test_bad_setting_exits_2_naming_it(cli: Cli) -> None:
    cli.env["CITYHUB_SERVER_PROT"] = "1"
    failed = cli.run("db", "upgrade", check=2)
    assert "CITYHUB_SERVER_PROT" in failed.stderr and "Traceback" not in failed.stderr
    del cli.env["CITYHUB_SERVER_PROT"]
    cli.env.update(CITYHUB_JWT_ALGORITHM="EdDSA", CITYHUB_JWT_PRIVATE_KEY_FILE="/nonexistent/key.pem")
    keyless = cli.run("db", "upgrade", check=None)
    assert keyless.returncode == 0  # the database does not need the key
    token = cli.run("token", "issue", "--person", "p-xie", check=2)
    assert "jwt.private_key_file" in token.stderr and "Traceback" not in token.stderr


def test_serve_prints_the_url_answers_and_stops_on_sigterm(cli: Cli) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", "0", "--demo"], cwd=ROOT, env=cli.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # A hub that never starts must fail the test, not hang it.
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("CityHub is running: open http://127.0.0.1:"), line
        url = line.split("open ", 1)[1].strip()
        assert url.endswith("/login") and not url.startswith("http://127.0.0.1:0/")
        base = url.removesuffix("/login")
        import urllib.request

        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert json.loads(response.read())["status"] == "alive"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert "演示" in response.read().decode()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "CityHub stopped" in out and "Traceback" not in err
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_token_revoke_reaches_running_nodes_through_redis(cli: Cli) -> None:
    redis_available()
    prefix = f"t{uuid.uuid4().hex[:8]}"
    cli.env.update(CITYHUB_REDIS_URL=REDIS_URL, CITYHUB_REDIS_PREFIX=prefix)
    watcher = RedisBus(REDIS_URL, prefix=prefix, node_id="running-node")
    await watcher.start()
    try:
        revoked = await watcher.subscribe(REVOKED_CHANNEL)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "token", "revoke", "abc123", cwd=ROOT, env=cli.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err
        assert await asyncio.wait_for(revoked.get(), 30) == {"jti": "abc123"}
    finally:
        await watcher.stop()

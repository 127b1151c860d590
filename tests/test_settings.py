"""Settings: defaults, a TOML file, CITYHUB_* overrides, errors naming the key, the generated HS256 secret."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.settings import SettingsError, load_settings
from tests.conftest import make_settings, start_hub


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cityhub.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.server.port == 8080 and settings.server.demo is False
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("/var/cityhub.db")
    assert settings.redis.url == "" and settings.jwt.algorithm == "HS256"
    assert settings.public_url == "http://127.0.0.1:8080"


def test_environment_overrides() -> None:
    settings = load_settings(environ={
        "CITYHUB_DATABASE_URL": "postgresql+asyncpg://hub@db/cityhub",
        "CITYHUB_REDIS_URL": "redis://cache:6379/1",
        "CITYHUB_SERVER_PORT": "9443",
        "CITYHUB_SERVER_DEMO": "yes",
        "CITYHUB_SERVER_PUBLIC_URL": "https://hub.city.example/",
        "CITYHUB_ICE_SERVERS": "stun:turn.city.example:3478, turn:turn.city.example:3478?transport=udp",
        "CITYHUB_ICE_TURN_SECRET": "s3cret",
        "CITYHUB_JWT_TTL": "600",
        "CITYHUB_JWT_ISSUER": "city-portal",
    })
    assert settings.database_url == "postgresql+asyncpg://hub@db/cityhub"
    assert settings.redis.url == "redis://cache:6379/1"
    assert settings.server.port == 9443 and settings.server.demo is True
    assert settings.public_url == "https://hub.city.example"
    assert settings.ice.servers == ("stun:turn.city.example:3478", "turn:turn.city.example:3478?transport=udp")
    assert settings.jwt.ttl == 600 and settings.jwt.issuer == "city-portal"


def test_toml_file_and_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, """
[server]
port = 9000
demo = true
allowed_origins = ["https://a.example", "https://b.example"]
var_dir = "/srv/cityhub"

[jwt]
audience = "cityhub-prod"
""")
    from_file = load_settings(path, environ={})
    assert from_file.server.port == 9000 and from_file.server.demo is True
    assert from_file.server.allowed_origins == ("https://a.example", "https://b.example")
    assert from_file.server.var_dir == Path("/srv/cityhub") and from_file.jwt.audience == "cityhub-prod"
    both = load_settings(path, environ={"CITYHUB_SERVER_PORT": "9100"})
    assert both.server.port == 9100 and both.server.demo is True
    via_env = load_settings(environ={"CITYHUB_CONFIG": str(path)})
    assert via_env.server.port == 9000


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CITYHUB_SERVER_PROT": "1"}, "CITYHUB_SERVER_PROT"),
        ({"CITYHUB_DATABSE_URL": "x"}, "CITYHUB_DATABSE_URL"),
        ({"CITYHUB_SERVER_PORT": "eighty"}, "CITYHUB_SERVER_PORT"),
        ({"CITYHUB_SERVER_DEMO": "maybe"}, "CITYHUB_SERVER_DEMO"),
        ({"CITYHUB_JWT_TTL": "1.5h"}, "CITYHUB_JWT_TTL"),
        ({"CITYHUB_SERVER_PORT": "70000"}, "server.port"),
        ({"CITYHUB_DATABASE_URL": "mysql://db/x"}, "database.url"),
        ({"CITYHUB_REDIS_URL": "http://cache"}, "redis.url"),
        ({"CITYHUB_JWT_TTL": "0"}, "jwt.ttl"),
        ({"CITYHUB_JWT_SESSION_TTL": "-5"}, "jwt.session_ttl"),
        ({"CITYHUB_JWT_ALGORITHM": "HS512"}, "jwt.algorithm"),
        ({"CITYHUB_SERVER_MAX_BODY_BYTES": "0"}, "server.max_body_bytes"),
        ({"CITYHUB_MEETINGS_RELAY_TIMEOUT": "0"}, "meetings.relay_timeout"),
    ],
)
def test_bad_environment_names_the_key(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert named in str(caught.value)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[server]\nprot = 1\n", "server.prot"),
        ("[srever]\nport = 1\n", "srever"),
        ("server = 5\n", "server"),
        ('[server]\nport = "eighty"\n', "server.port"),
        ("[server]\nport = 80.5\n", "server.port"),
        ('[server]\ndemo = "maybe"\n', "server.demo"),
        ("[server]\npublic_url = true\n", "server.public_url"),
        ("[server]\nvar_dir = 3\n", "server.var_dir"),
        ("[ice]\nservers = 5\n", "ice.servers"),
        ("[jwt]\nttl = true\n", "jwt.ttl"),
        ("[server\nport = 1\n", "cityhub.toml"),
    ],
)
def test_bad_file_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, text), environ={})
    assert named in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "absent.toml", environ={})


async def test_hs256_secret_generated_on_first_run_and_reused(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    secret = tmp_path / "var" / "jwt-secret"
    assert not secret.exists()
    first = await start_hub(aiohttp_client, settings)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    content = secret.read_text()
    assert len(content) >= 32
    token = first.token("p-xie")
    await first.client.close()
    second = await start_hub(aiohttp_client, settings)
    assert secret.read_text() == content
    assert (await second.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status == 200
    # Another var dir means another secret: the first hub's tokens are refused there.
    other = await start_hub(aiohttp_client, make_settings(tmp_path / "other"))
    refused = await other.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "token_bad_signature"
    assert other.app[keys.SETTINGS].server.var_dir != settings.server.var_dir

"""A hub that signs with RS256 or EdDSA key files generated for the test, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.settings import Settings
from tests.auth.jwtkit import KeyPair, make_keypair
from tests.conftest import Hub, _truncate, start_hub


@dataclass
class AsymHub:
    hub: Hub
    algorithm: str
    key: KeyPair
    other: KeyPair


@pytest.fixture(params=["RS256", "EdDSA"])
async def asym_hub(
    request: pytest.FixtureRequest, aiohttp_client: Any, settings: Settings, tmp_path: Path
) -> AsyncIterator[AsymHub]:
    algorithm = str(request.param)
    key = make_keypair(tmp_path / "keys", algorithm, "k1")
    other = make_keypair(tmp_path / "other", algorithm, "k1")
    configured = settings.replace(jwt={"algorithm": algorithm, "private_key_file": str(key.private_file), "kid": "k1"})
    running = await start_hub(aiohttp_client, configured)
    yield AsymHub(running, algorithm, key, other)
    if running.app[keys.DB].dialect == "postgresql":
        await _truncate(running.app)

"""Fixtures: a real hub (create_app) on SQLite + the in-process bus and on PostgreSQL + Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient

import hub.storage.tables  # noqa: F401 - every table on the metadata
from hub import keys
from hub.app import create_app
from hub.clock import Clock
from hub.directory import store as directory_store
from hub.directory.model import Person
from hub.settings import Settings, load_settings
from hub.storage.db import Database
from hub.storage.meta import metadata
from tests.services import REDIS_URL, create_pg_database, drop_pg_database, redis_available

BACKENDS = ["sqlite-memory", "postgresql-redis"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One PostgreSQL database for the session; tests empty its tables after themselves."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


def make_settings(tmp_path: Path, database_url: str = "", redis_url: str = "", **sections: dict[str, Any]) -> Settings:
    """Settings for a test hub: its own var dir, demo directory, random Redis prefix."""
    base = load_settings(environ={})
    server = {"var_dir": tmp_path / "var", "demo": True, "port": 0, "public_url": "http://127.0.0.1",
              "check_responses": True}
    server.update(sections.pop("server", {}))
    return base.replace(
        server=server,
        database={"url": database_url},
        redis={"url": redis_url, "prefix": f"t{uuid.uuid4().hex[:8]}"},
        **sections,
    )


async def _truncate(app: web.Application) -> None:
    """Empty every table of the app's database, on a connection of its own: the app may have been stopped (a
    restart test), and a stopped app's database hands out no connections."""
    db = Database(app[keys.DB].url)
    try:
        async with db.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(sa.delete(table))
    finally:
        await db.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which storage and bus the test runs on."""
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if backend == "sqlite-memory":
        return make_settings(tmp_path)
    redis_available()
    pg = request.getfixturevalue("pg_url")
    return make_settings(tmp_path, pg, REDIS_URL)


@dataclass
class Hub:
    """A running hub and a client for it."""

    client: TestClient
    app: web.Application
    people: dict[str, Person] = field(default_factory=dict)

    def token(self, person_id: str, **options: Any) -> str:
        """A fresh token for a directory person."""
        return self.app[keys.AUTH].issue_for(self.people[person_id], **options)[0]

    def auth(self, person_id: str, **options: Any) -> dict[str, str]:
        """Headers of a request made as this person."""
        return {"Authorization": f"Bearer {self.token(person_id, **options)}"}

    async def load_people(self) -> None:
        """Remember the directory's people, for tokens."""
        async with self.app[keys.DB].connect() as conn:
            self.people = {p.id: p for p in await directory_store.all_people(conn)}


async def start_hub(aiohttp_client: Any, settings: Settings, clock: Clock | None = None) -> Hub:
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    hub = Hub(client=client, app=app)
    await hub.load_people()
    return hub


@pytest.fixture
async def hub(aiohttp_client: Any, settings: Settings) -> AsyncIterator[Hub]:
    """A hub with the demo directory, on the parametrised backend."""
    running = await start_hub(aiohttp_client, settings)
    yield running
    if running.app[keys.DB].dialect == "postgresql":
        await _truncate(running.app)

"""Fixtures for shared-document tests: a database per backend, a document server, y-websocket clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.docs.store import DocUpdateStore, SqlDocUpdateStore
from hub.docs.sync_room import DocAccess, DocLimits
from hub.docs.sync_rooms import DocRooms
from hub.docs.sync_ws import doc_ws_handler
from hub.storage.db import Database
from tests.browser.conftest import browser  # noqa: F401 - the shared Chromium fixture
from tests.services import create_pg_database, drop_pg_database


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A randomly named PostgreSQL database for this test session, dropped afterwards."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """The same tests run on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/docs.db"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The database migrated as the hub does it (Alembic, every branch)."""
    db = Database(database_url)
    await db.upgrade()
    yield db.engine
    await db.close()


@pytest.fixture
def store(engine: AsyncEngine) -> SqlDocUpdateStore:
    return SqlDocUpdateStore(engine)


@pytest.fixture
def doc_id() -> str:
    return f"doc-{uuid.uuid4().hex[:10]}"


async def header_access(request: web.Request, doc_id: str) -> DocAccess:
    """Test access check: header X-Test-Role (browsers: cookie test_role) says editor, reader or denied."""
    role = request.headers.get("X-Test-Role") or request.cookies.get("test_role", "editor")
    name = request.headers.get("X-Test-Name") or request.cookies.get("test_name", "")
    if role == "denied":
        raise web.HTTPForbidden(text='{"error": {"code": "forbidden", "message": "no access"}}',
                                content_type="application/json")
    user = {"name": name} if name else None
    return DocAccess(can_write=role == "editor", user=user, label="{}:{}".format(role, name or "?"))


ServerFactory = Callable[..., Awaitable[tuple[TestClient, DocRooms]]]


@pytest.fixture
async def doc_server(aiohttp_client: Callable[..., Awaitable[TestClient]],
                     store: SqlDocUpdateStore) -> AsyncIterator[ServerFactory]:
    """Start a document server (its own DocRooms) on ``store``; several may run one after another."""
    started: list[DocRooms] = []

    async def start(limits: DocLimits | None = None,
                    with_store: DocUpdateStore | None = None) -> tuple[TestClient, DocRooms]:
        rooms = DocRooms(with_store or store, limits or DocLimits())
        await rooms.start()
        started.append(rooms)
        app = web.Application()
        app.router.add_get("/docs/{doc_id}/ws", doc_ws_handler(rooms, header_access))

        async def close_rooms(_app: web.Application) -> None:
            await rooms.stop()

        app.on_shutdown.append(close_rooms)
        client = await aiohttp_client(app)
        return client, rooms

    yield start
    for rooms in started:
        await rooms.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s

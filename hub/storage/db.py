"""The database: one SQLAlchemy async engine (SQLite by default, PostgreSQL in production) and its migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# How long close() waits for connections in use to come back before it disposes of the pool anyway.
CLOSE_GRACE = 10.0


class DatabaseClosed(RuntimeError):
    """The database was closed (the node is stopping): no new connection is handed out."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer commits; busy_timeout makes writers queue instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at CityHub's migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Database:
    """One engine; `begin()` for a transaction, `connect()` for reads."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        # Connections handed out and not yet back: close() waits for them. A connection still checked out when
        # the pool is disposed of is never closed (its socket is left to the garbage collector).
        self._in_use = 0
        self._all_back = asyncio.Event()
        self._closing = False
        event.listen(self.engine.sync_engine, "checkout", self._checked_out)
        event.listen(self.engine.sync_engine, "checkin", self._checked_in)

    def _checked_out(self, *_: Any) -> None:
        self._in_use += 1

    def _checked_in(self, *_: Any) -> None:
        self._in_use -= 1
        if self._in_use == 0:
            self._all_back.set()

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    async def upgrade(self, revision: str = "heads") -> None:
        """Create or migrate the schema to `revision`.

        Each domain's migrations form their own branch off the directory's (0001), so "heads" brings them all.
        """

        def run(connection: Connection) -> None:
            command.upgrade(alembic_config(connection), revision)

        async with self.engine.begin() as conn:
            await conn.run_sync(run)
        log.info("database schema at %s (%s)", revision, self.dialect)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that commits on success and rolls back on any error."""
        self._refuse_when_closed()
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads."""
        self._refuse_when_closed()
        async with self.engine.connect() as conn:
            yield conn

    def _refuse_when_closed(self) -> None:
        if self._closing:
            raise DatabaseClosed("the database is closed: this node is stopping")

    async def ping(self) -> bool:
        """Whether the database answers."""
        try:
            async with self.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - readiness reports any failure as "down"
            log.warning("database ping failed", exc_info=True)
            return False

    async def close(self) -> None:
        """Close every connection: no new ones are handed out, those in use are waited for (up to CLOSE_GRACE
        seconds), then the pool is disposed of."""
        self._closing = True
        if self._in_use > 0:
            log.info("database closing: waiting for %d connection(s) in use", self._in_use)
            self._all_back.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_back.wait(), CLOSE_GRACE)
        if self._in_use > 0:
            log.warning("database closed with %d connection(s) still in use", self._in_use)
        await self.engine.dispose()

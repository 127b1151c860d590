"""Closing the database leaves no connection behind, on SQLite and PostgreSQL: a connection in use is waited
for, and a stopped database hands out no new one (it used to build a fresh pool nobody would ever close, and the
PostgreSQL socket was left to the garbage collector: an unclosed-socket warning at the end of a full run)."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from hub.storage.db import Database, DatabaseClosed
from tests.storage.test_migrations import fresh_pg, fresh_url  # noqa: F401 - fixtures

HELD = 0.3


async def test_close_waits_for_a_connection_in_use_then_refuses_new_ones(fresh_url: str) -> None:  # noqa: F811
    db = Database(fresh_url)
    taken = asyncio.Event()

    async def slow_read() -> int:
        async with db.connect() as conn:
            taken.set()
            await asyncio.sleep(HELD)
            return int((await conn.execute(sa.text("SELECT 1"))).scalar_one())

    reader = asyncio.create_task(slow_read())
    await taken.wait()
    started = time.monotonic()
    await db.close()
    assert time.monotonic() - started >= HELD * 0.8, "close() must wait for the connection in use"
    assert reader.done() and reader.result() == 1, "the read under way finishes on its connection"
    with pytest.raises(DatabaseClosed):
        async with db.begin():
            pass
    with pytest.raises(DatabaseClosed):
        async with db.connect():
            pass
    assert await db.ping() is False

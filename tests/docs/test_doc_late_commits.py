"""Two nodes storing updates of one document at once (PostgreSQL): a transaction that took its seq before the
other node's but commits after it, and after that node compacted or opened the document, is kept and relayed."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pycrdt import Doc, Text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.bus import RedisBus
from hub.docs.store import SqlDocUpdateStore
from hub.docs.sync_room import DocLimits
from hub.docs.sync_rooms import DocRooms
from hub.docs.sync_ws import doc_ws_handler
from hub.docs.tables import doc_updates
from tests.docs.conftest import header_access
from tests.docs.test_doc_sync import connect, stored_text
from tests.services import REDIS_URL, redis_available

# Only PostgreSQL lets two transactions write one document at once (SQLite serialises writers).
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def typed(word: str) -> bytes:
    """An update inserting a word, from an editor of its own."""
    doc = Doc()
    doc.get("t", type=Text).insert(0, word)
    return doc.get_update()


async def insert_uncommitted(conn: AsyncConnection, doc_id: str, update: bytes) -> int:
    """What a node's append does up to its commit: the row has its seq, nobody else sees it yet."""
    result = await conn.execute(doc_updates.insert().values(doc_id=doc_id, update=update, created_at=datetime.now(UTC))
                                .returning(doc_updates.c.seq))
    return int(result.scalar_one())


async def test_an_update_committed_after_another_nodes_compaction_is_still_loaded(engine: AsyncEngine) -> None:
    store, doc_id = SqlDocUpdateStore(engine), f"doc-{uuid.uuid4().hex[:10]}"
    async with engine.connect() as late:
        transaction = await late.begin()
        seq_late = await insert_uncommitted(late, doc_id, typed("late "))
        seq_other = await store.append_update(doc_id, typed("other "))
        assert seq_other > seq_late
        # the other node folds what it can see (its own update) and removes the log up to its seq
        await store.compact(doc_id, typed("other "), seq_other)
        await transaction.commit()  # acknowledged to its editor from here on
    text = await stored_text(store, doc_id)
    assert "late" in text and "other" in text


async def test_an_update_committed_after_another_node_opened_the_document_reaches_its_editors(
    engine: AsyncEngine, aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    redis_available()
    store, doc_id, prefix = SqlDocUpdateStore(engine), f"doc-{uuid.uuid4().hex[:10]}", f"t{uuid.uuid4().hex[:8]}"
    node_a, node_b = RedisBus(REDIS_URL, prefix=prefix, node_id="node-a"), RedisBus(REDIS_URL, prefix=prefix,
                                                                                     node_id="node-b")
    await node_a.start()
    await node_b.start()
    rooms = DocRooms(store, DocLimits(), node_b)
    await rooms.start()
    app = web.Application()
    app.router.add_get("/docs/{doc_id}/ws", doc_ws_handler(rooms, header_access))
    client = await aiohttp_client(app)
    try:
        async with engine.connect() as late:
            transaction = await late.begin()
            seq_late = await insert_uncommitted(late, doc_id, typed("late "))
            await store.append_update(doc_id, typed("other "))
            # node-b opens the document now: it loads "other", and "late" is not committed yet
            bob = await connect(client, doc_id)
            await asyncio.wait_for(bob.synced.wait(), 10)
            assert "other" in bob.content and "late" not in bob.content
            await transaction.commit()
        # node-a stored it and says so on the bus, as a room does after its commit
        await node_a.publish(f"doc.{doc_id}", {"node": "node-a", "seq": seq_late,
                                                "update": base64.b64encode(typed("late ")).decode()})
        await bob.wait_for(lambda: "late" in bob.content, 5)
        assert rooms.get(doc_id) is not None and "late" in str(rooms.get(doc_id).doc.get("t", type=Text))  # type: ignore[union-attr]
        await bob.close()
    finally:
        await rooms.stop()
        await node_a.stop()
        await node_b.stop()

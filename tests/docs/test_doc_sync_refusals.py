"""Refusals on /docs/{id}/ws: each closes only the offending connection, stores nothing, logs the doc id."""

from __future__ import annotations

import asyncio
import logging
import os

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pycrdt import Doc, Text, YSyncMessageType

from hub.docs.store import SqlDocUpdateStore
from hub.docs.sync_protocol import CloseCode, sync_message
from hub.docs.sync_room import DocLimits
from tests.docs.conftest import ServerFactory
from tests.docs.test_doc_sync import connect, stored_text
from tests.docs.ysync_client import YClient


def text_update(text: str, base: Doc | None = None) -> bytes:
    """A genuine Yjs update inserting ``text`` into Text ``t``."""
    doc = base or Doc()
    before = doc.get_state()
    t = doc.get("t", type=Text)
    t.insert(len(t), text)
    return doc.get_update(before)


async def refused(client: TestClient, doc_id: str, store: SqlDocUpdateStore, frame: bytes | str,
                  expected: CloseCode, caplog: pytest.LogCaptureFixture, role: str = "editor") -> YClient:
    """Send ``frame`` from a fresh connection next to a working editor; check only that connection suffers."""
    bob = await connect(client, doc_id)
    await asyncio.wait_for(bob.synced.wait(), 10)
    await bob.edit(lambda t: t.insert(len(t), "before;"))
    await bob.wait_saved()
    stored_before = await store.load(doc_id)

    mallory = await connect(client, doc_id, role=role)
    await asyncio.wait_for(mallory.synced.wait(), 10)
    with caplog.at_level(logging.WARNING, logger="hub.docs"):
        if isinstance(frame, str):
            await mallory.ws.send_str(frame)
        else:
            await mallory.send_raw(frame)
        assert await mallory.wait_closed() == expected
    assert any(doc_id in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert (await store.load(doc_id)) == stored_before  # nothing stored for the refused frame

    # Bob goes on editing; a newcomer sees exactly Bob's text.
    await bob.edit(lambda t: t.insert(len(t), "after;"))
    await bob.wait_saved()
    carol = await connect(client, doc_id)
    await asyncio.wait_for(carol.synced.wait(), 10)
    assert carol.content == "before;after;" == bob.content
    assert await stored_text(store, doc_id) == "before;after;"
    await bob.close()
    await carol.close()
    return mallory


async def test_garbage_binary_frame_refused(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                            doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server()
    mallory = await refused(client, doc_id, store, b"\x07" + os.urandom(64), CloseCode.MALFORMED, caplog)
    assert "unknown message type" in mallory.close_reason


async def test_truncated_sync_message_refused(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                              doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server()
    frame = sync_message(YSyncMessageType.SYNC_UPDATE, text_update("evil"))
    mallory = await refused(client, doc_id, store, frame[:-4], CloseCode.MALFORMED, caplog)
    assert "truncated" in mallory.close_reason


async def test_invalid_update_inside_valid_message_refused(doc_server: ServerFactory,
                                                           store: SqlDocUpdateStore, doc_id: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server()
    frame = sync_message(YSyncMessageType.SYNC_UPDATE, b"\x01\x01\xff\xff\xff\x07garbage")
    mallory = await refused(client, doc_id, store, frame, CloseCode.MALFORMED, caplog)
    assert "not a valid Yjs update" in mallory.close_reason


async def test_trailing_bytes_refused(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                      doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server()
    frame = sync_message(YSyncMessageType.SYNC_UPDATE, text_update("evil")) + b"\x00"
    await refused(client, doc_id, store, frame, CloseCode.MALFORMED, caplog)


async def test_text_frame_refused(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                  doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server()
    mallory = await refused(client, doc_id, store, '{"type": "update"}', CloseCode.MALFORMED, caplog)
    assert "text frames" in mallory.close_reason


async def test_malformed_awareness_refused(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                           doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server()
    frame = b"\x01\x08\x01\x05\x01\x04{no}"  # one entry whose state is not JSON
    await refused(client, doc_id, store, frame, CloseCode.MALFORMED, caplog)


async def test_reader_update_refused(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                     doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server()
    frame = sync_message(YSyncMessageType.SYNC_UPDATE, text_update("reader wrote this"))
    mallory = await refused(client, doc_id, store, frame, CloseCode.READ_ONLY, caplog, role="reader")
    assert "only read" in mallory.close_reason


async def test_reader_step2_with_content_refused(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                                 doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server()
    frame = sync_message(YSyncMessageType.SYNC_STEP2, text_update("sneaked in as step 2"))
    await refused(client, doc_id, store, frame, CloseCode.READ_ONLY, caplog, role="reader")


async def test_reader_reads_live(doc_server: ServerFactory, doc_id: str) -> None:
    client, _ = await doc_server()
    alice = await connect(client, doc_id)
    await asyncio.wait_for(alice.synced.wait(), 10)
    await alice.edit(lambda t: t.insert(0, "minutes: "))
    reader = await connect(client, doc_id, role="reader")
    await asyncio.wait_for(reader.synced.wait(), 10)
    await alice.edit(lambda t: t.insert(len(t), "item 1"))
    await reader.wait_for(lambda: reader.content == "minutes: item 1")
    assert reader.close_code is None
    await alice.close()
    await reader.close()


async def test_oversized_update_refused(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                        doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server(DocLimits(max_update_bytes=1000))
    frame = sync_message(YSyncMessageType.SYNC_UPDATE, text_update("x" * 2000))
    mallory = await refused(client, doc_id, store, frame, CloseCode.UPDATE_TOO_LARGE, caplog)
    assert "exceeds the limit of 1000 bytes" in mallory.close_reason


async def test_huge_frame_cut_by_aiohttp(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                         doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await doc_server(DocLimits(max_update_bytes=1000, max_awareness_bytes=1000))
    frame = sync_message(YSyncMessageType.SYNC_UPDATE, text_update("x" * 10_000))
    await refused(client, doc_id, store, frame, 1009, caplog)  # type: ignore[arg-type]


async def test_document_size_limit(doc_server: ServerFactory, store: SqlDocUpdateStore, doc_id: str) -> None:
    client, _ = await doc_server(DocLimits(max_update_bytes=1000, max_document_bytes=3000))
    alice = await connect(client, doc_id)
    await asyncio.wait_for(alice.synced.wait(), 10)
    for _ in range(3):
        await alice.edit(lambda t: t.insert(len(t), "y" * 900))
    await alice.wait_saved()
    await alice.edit(lambda t: t.insert(len(t), "z" * 900))
    assert await alice.wait_closed() == CloseCode.DOCUMENT_TOO_LARGE
    assert "above the limit of 3000 bytes" in alice.close_reason
    assert await stored_text(store, doc_id) == "y" * 2700


async def test_denied_and_unknown_doc_refused_before_upgrade(doc_server: ServerFactory, doc_id: str) -> None:
    client, rooms = await doc_server()
    with pytest.raises(aiohttp.WSServerHandshakeError) as denied:
        await connect(client, doc_id, role="denied")
    assert denied.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as bad:
        await connect(client, "no%20such%20doc")
    assert bad.value.status == 404
    assert rooms.get(doc_id) is None


async def test_awareness_for_another_client_id_not_relayed(doc_server: ServerFactory, doc_id: str) -> None:
    client, _ = await doc_server()
    alice = await connect(client, doc_id, name="Alice")
    mallory = await connect(client, doc_id, name="Mallory")
    bob = await connect(client, doc_id)
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), mallory.synced.wait(), bob.synced.wait()), 10)
    await alice.set_awareness(alice.doc.client_id, 1, {"user": {"name": "x", "color": "#00f"}})
    await bob.wait_for(lambda: alice.doc.client_id in bob.awareness)
    # Mallory claims Alice's client id with a newer clock, then announces herself honestly.
    await mallory.set_awareness(alice.doc.client_id, 9, {"user": {"name": "fake", "color": "#f00"}})
    await mallory.set_awareness(mallory.doc.client_id, 1, {"user": {"color": "#0f0"}})
    await bob.wait_for(lambda: mallory.doc.client_id in bob.awareness)
    assert bob.awareness[alice.doc.client_id] == {"user": {"name": "Alice", "color": "#00f"}}
    assert bob.awareness[mallory.doc.client_id] == {"user": {"name": "Mallory", "color": "#0f0"}}
    assert mallory.close_code is None
    for c in (alice, mallory, bob):
        await c.close()


async def test_storage_failure_closes_writer_and_relays_nothing(doc_server: ServerFactory,
                                                                store: SqlDocUpdateStore, doc_id: str,
                                                                engine: object) -> None:
    client, _ = await doc_server()
    alice = await connect(client, doc_id)
    bob = await connect(client, doc_id)
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)
    await alice.edit(lambda t: t.insert(0, "saved;"))
    await bob.wait_for(lambda: bob.content == "saved;")
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.exec_driver_sql("ALTER TABLE doc_updates RENAME TO doc_updates_away")
    try:
        await alice.edit(lambda t: t.insert(len(t), "lost"))
        assert await alice.wait_closed() == CloseCode.INTERNAL_ERROR
        await asyncio.sleep(0.1)
        assert bob.content == "saved;" and bob.close_code is None
    finally:
        async with engine.begin() as conn:  # type: ignore[attr-defined]
            await conn.exec_driver_sql("ALTER TABLE doc_updates_away RENAME TO doc_updates")
    await bob.close()


async def test_load_failure_closes_with_1011_and_recovers(doc_server: ServerFactory, doc_id: str,
                                                          engine: object) -> None:
    client, rooms = await doc_server()
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        await conn.exec_driver_sql("ALTER TABLE doc_snapshots RENAME TO doc_snapshots_away")
    try:
        first = await connect(client, doc_id)
        assert await first.wait_closed() == CloseCode.INTERNAL_ERROR
        assert first.close_reason == "the document could not be opened"
        assert rooms.get(doc_id) is None
    finally:
        async with engine.begin() as conn:  # type: ignore[attr-defined]
            await conn.exec_driver_sql("ALTER TABLE doc_snapshots_away RENAME TO doc_snapshots")
    second = await connect(client, doc_id)
    await asyncio.wait_for(second.synced.wait(), 10)
    await second.edit(lambda t: t.insert(0, "works again"))
    await second.wait_saved()
    await second.close()

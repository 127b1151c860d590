"""Two or more y-websocket clients (pycrdt) editing one document through the real server and database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient
from pycrdt import Doc, Text

from hub.docs.store import LoadedDoc, SqlDocUpdateStore
from hub.docs.sync_room import DocLimits
from tests.docs.conftest import ServerFactory
from tests.docs.ysync_client import YClient


async def connect(client: TestClient, doc_id: str, role: str = "editor", name: str = "") -> YClient:
    return await YClient.connect(client.session, str(client.make_url(f"/docs/{doc_id}/ws")), role, name)


async def stored_text(store: SqlDocUpdateStore, doc_id: str) -> str:
    """The document's text as the database has it, read back independently of any room."""
    loaded = await store.load(doc_id)
    doc = Doc()
    for update in ([loaded.snapshot] if loaded.snapshot else []) + loaded.updates:
        doc.apply_update(update)
    return str(doc.get("t", type=Text))


async def test_two_editors_converge_and_late_joiner_sees_all(doc_server: ServerFactory, doc_id: str) -> None:
    client, _rooms = await doc_server()
    alice = await connect(client, doc_id)
    bob = await connect(client, doc_id)
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)

    async def type_words(editor: YClient, words: list[str]) -> None:
        for word in words:
            await editor.edit(lambda t, w=word: t.insert(len(t), w))
            await asyncio.sleep(0)

    await asyncio.gather(type_words(alice, ["a1 ", "a2 ", "a3 "] * 5), type_words(bob, ["b1 ", "b2 "] * 5))
    await alice.wait_for(lambda: alice.content == bob.content and len(alice.content) == 75)
    await bob.wait_for(lambda: bob.content == alice.content)
    assert alice.content.count("a2 ") == 5 and bob.content.count("b2 ") == 5

    carol = await connect(client, doc_id)
    await asyncio.wait_for(carol.synced.wait(), 10)
    assert carol.content == alice.content
    for c in (alice, bob, carol):
        await c.close()


async def test_relayed_update_is_already_stored(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                                doc_id: str) -> None:
    client, _rooms = await doc_server()
    alice = await connect(client, doc_id)
    bob = await connect(client, doc_id)
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)
    for i in range(5):
        await alice.edit(lambda t, i=i: t.insert(len(t), f"line {i}\n"))
        await bob.wait_for(lambda i=i: f"line {i}" in bob.content)
        # Bob has just seen the update relayed: the database must already hold it.
        assert f"line {i}" in await stored_text(store, doc_id)
    await alice.wait_saved()
    assert alice.acked == alice.sent_updates
    await alice.close()
    await bob.close()


async def test_restart_keeps_content(doc_server: ServerFactory, doc_id: str) -> None:
    client1, rooms1 = await doc_server(DocLimits(compact_every_updates=3))
    alice = await connect(client1, doc_id)
    await asyncio.wait_for(alice.synced.wait(), 10)
    for i in range(10):
        await alice.edit(lambda t, i=i: t.insert(len(t), f"{i},"))
    await alice.wait_saved()
    await alice.close()
    await rooms1.stop()

    client2, _rooms2 = await doc_server()
    bob = await connect(client2, doc_id)
    await asyncio.wait_for(bob.synced.wait(), 10)
    assert bob.content == "".join(f"{i}," for i in range(10))
    await bob.close()


async def test_room_closes_after_last_client_and_reopens(doc_server: ServerFactory, doc_id: str) -> None:
    client, rooms = await doc_server()
    alice = await connect(client, doc_id)
    await asyncio.wait_for(alice.synced.wait(), 10)
    await alice.edit(lambda t: t.insert(0, "kept"))
    await alice.wait_saved()
    assert rooms.get(doc_id) is not None
    await alice.close()
    await eventually(lambda: rooms.get(doc_id) is None)

    bob = await connect(client, doc_id)
    await asyncio.wait_for(bob.synced.wait(), 10)
    assert bob.content == "kept"
    await bob.close()


async def test_compaction_during_edits_loses_nothing(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                                     doc_id: str) -> None:
    client, _rooms = await doc_server(DocLimits(compact_every_updates=4, compact_idle_seconds=0.05))
    alice = await connect(client, doc_id)
    bob = await connect(client, doc_id)
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)
    for i in range(40):
        editor = alice if i % 2 else bob
        await editor.edit(lambda t, i=i: t.insert(len(t), f"<{i}>"))
    await alice.wait_saved()
    await bob.wait_saved()
    await alice.wait_for(lambda: alice.content == bob.content and alice.content.count("<") == 40)
    expected = alice.content

    async def compacted() -> bool:
        loaded = await store.load(doc_id)
        return loaded.snapshot is not None and len(loaded.updates) < 40

    for _ in range(200):
        if await compacted():
            break
        await asyncio.sleep(0.05)
    assert await stored_text(store, doc_id) == expected
    await alice.close()
    await bob.close()
    assert await stored_text(store, doc_id) == expected


async def test_awareness_relayed_and_stamped(doc_server: ServerFactory, doc_id: str) -> None:
    client, rooms = await doc_server()
    alice = await connect(client, doc_id, name="Alice Directory")
    bob = await connect(client, doc_id)
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)
    await alice.set_awareness(alice.doc.client_id, 1,
                              {"user": {"name": "Mallory", "color": "#ff0000"}, "cursor": None})
    await bob.wait_for(lambda: alice.doc.client_id in bob.awareness)
    seen = bob.awareness[alice.doc.client_id]
    assert seen == {"user": {"name": "Alice Directory", "color": "#ff0000"}, "cursor": None}

    carol = await connect(client, doc_id)
    await carol.wait_for(lambda: alice.doc.client_id in carol.awareness)

    await alice.close()
    await bob.wait_for(lambda: alice.doc.client_id not in bob.awareness)
    room = rooms.get(doc_id)
    assert room is not None and alice.doc.client_id not in room.awareness_states
    await bob.close()
    await carol.close()


async def test_shutdown_compacts_and_says_going_away(doc_server: ServerFactory, store: SqlDocUpdateStore,
                                                     doc_id: str) -> None:
    client, rooms = await doc_server(DocLimits(compact_idle_seconds=3600))
    alice = await connect(client, doc_id)
    await asyncio.wait_for(alice.synced.wait(), 10)
    for word in ("one ", "two ", "three"):
        await alice.edit(lambda t, w=word: t.insert(len(t), w))
    await alice.wait_saved()
    assert len((await store.load(doc_id)).updates) == 3
    await rooms.stop()
    assert await alice.wait_closed() == 1001
    loaded = await store.load(doc_id)
    assert loaded.snapshot is not None and loaded.updates == []
    assert await stored_text(store, doc_id) == "one two three"
    late = await connect(client, doc_id)
    assert await late.wait_closed() == 1001
    assert late.close_reason == "server shutting down"


async def test_awareness_echo_ignored_quietly_and_reconnect_reclaims_id(
        doc_server: ServerFactory, doc_id: str, caplog: pytest.LogCaptureFixture) -> None:
    client, rooms = await doc_server()
    alice = await connect(client, doc_id, name="Alice")
    bob = await connect(client, doc_id, name="Bob")
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)
    alice_id = alice.doc.client_id
    await alice.set_awareness(alice_id, 3, {"user": {"color": "#00f"}})
    await bob.wait_for(lambda: alice_id in bob.awareness)
    with caplog.at_level(logging.WARNING, logger="hub.docs"):
        # y-websocket re-broadcasts every awareness change it receives, other clients' included.
        await bob.set_awareness(alice_id, 3, {"user": {"name": "Alice", "color": "#00f"}})
        await bob.set_awareness(bob.doc.client_id, 1, {"user": {"color": "#0f0"}})
        await alice.wait_for(lambda: bob.doc.client_id in alice.awareness)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []

    # Alice's tab loses its socket and reconnects with the same Yjs client id.
    await alice.close()
    await bob.wait_for(lambda: alice_id not in bob.awareness)
    again = await connect(client, doc_id, name="Alice")
    await again.set_awareness(alice_id, 4, {"user": {"color": "#00f"}})
    await bob.wait_for(lambda: alice_id in bob.awareness)
    room = rooms.get(doc_id)
    assert room is not None and room.awareness_states[alice_id]["user"]["name"] == "Alice"
    await again.close()
    await bob.close()


async def test_an_editor_alone_hears_its_own_awareness(doc_server: ServerFactory, doc_id: str) -> None:
    # y-websocket's client drops a connection that heard nothing for 30 s; alone in a document, an editor's
    # awareness renewal (every 15 s) coming back is all it hears, as from y-websocket's own server.
    client, _ = await doc_server()
    alice = await connect(client, doc_id, name="Alice")
    await asyncio.wait_for(alice.synced.wait(), 10)
    alice_id = alice.doc.client_id
    await alice.set_awareness(alice_id, 1, {"user": {"color": "#00f"}})
    await alice.wait_for(lambda: alice_id in alice.awareness)
    await alice.close()


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait (up to 10 s) for something the server does in the background."""
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached within 10 s")


class PausingStore:
    """The real SQL store, except that a compaction waits for ``release`` before it writes."""

    def __init__(self, inner: SqlDocUpdateStore) -> None:
        self.inner = inner
        self.compacting = asyncio.Event()
        self.release = asyncio.Event()
        self.compacted_upto: list[int] = []

    async def load(self, doc_id: str) -> LoadedDoc:
        return await self.inner.load(doc_id)

    async def append_update(self, doc_id: str, update: bytes) -> int:
        return await self.inner.append_update(doc_id, update)

    async def append_updates(self, doc_id: str, updates: list[bytes]) -> list[int]:
        return await self.inner.append_updates(doc_id, updates)

    async def compact(self, doc_id: str, snapshot: bytes, upto_seq: int) -> None:
        self.compacting.set()
        await self.release.wait()
        await self.inner.compact(doc_id, snapshot, upto_seq)
        self.compacted_upto.append(upto_seq)


async def test_updates_stored_during_a_compaction_are_kept(doc_server: ServerFactory,
                                                           store: SqlDocUpdateStore, doc_id: str) -> None:
    pausing = PausingStore(store)
    client, rooms = await doc_server(DocLimits(compact_every_updates=3, compact_idle_seconds=3600),
                                     with_store=pausing)
    alice = await connect(client, doc_id)
    await asyncio.wait_for(alice.synced.wait(), 10)
    for word in ("a", "b", "c"):
        await alice.edit(lambda t, w=word: t.insert(len(t), w))
    await asyncio.wait_for(pausing.compacting.wait(), 10)  # snapshot of a, b, c computed, not yet written
    for word in ("d", "e"):
        await alice.edit(lambda t, w=word: t.insert(len(t), w))
    await alice.wait_saved()
    pausing.release.set()
    await eventually(lambda: len(pausing.compacted_upto) == 1)

    loaded = await store.load(doc_id)
    assert loaded.snapshot is not None and len(loaded.updates) == 2  # d and e stayed in the log
    assert await stored_text(store, doc_id) == "abcde"
    await alice.close()
    # Closing the room folds d and e into the snapshot too.
    await eventually(lambda: rooms.get(doc_id) is None and len(pausing.compacted_upto) == 2)
    loaded = await store.load(doc_id)
    assert loaded.updates == [] and await stored_text(store, doc_id) == "abcde"

"""A document open on two nodes (two DocRooms, one store, one Redis): edits through either converge, once each."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.bus import RedisBus
from hub.docs import sync_awareness
from hub.docs.store import SqlDocUpdateStore
from hub.docs.sync_room import DocLimits
from hub.docs.sync_rooms import DocRooms
from hub.docs.sync_ws import doc_ws_handler
from tests.docs.conftest import header_access
from tests.docs.test_doc_sync import connect, stored_text
from tests.docs.ysync_client import YClient
from tests.services import REDIS_URL, redis_available

Node = tuple[TestClient, DocRooms]


@pytest.fixture
async def two_nodes(aiohttp_client: Callable[..., Awaitable[TestClient]],
                    store: SqlDocUpdateStore) -> AsyncIterator[Callable[[DocLimits], Awaitable[list[Node]]]]:
    redis_available()
    prefix = f"t{uuid.uuid4().hex[:8]}"
    buses: list[RedisBus] = []
    made: list[DocRooms] = []

    async def start(limits: DocLimits) -> list[Node]:
        nodes = []
        for name in ("node-a", "node-b"):
            bus = RedisBus(REDIS_URL, prefix=prefix, node_id=name)
            await bus.start()
            buses.append(bus)
            rooms = DocRooms(store, limits, bus)
            await rooms.start()
            made.append(rooms)
            app = web.Application()
            app.router.add_get("/docs/{doc_id}/ws", doc_ws_handler(rooms, header_access))
            nodes.append((await aiohttp_client(app), rooms))
        return nodes

    yield start
    for rooms in made:
        await rooms.stop()
    for bus in buses:
        await bus.stop()


async def type_words(editor: YClient, words: list[str]) -> None:
    for word in words:
        await editor.edit(lambda t, w=word: t.insert(len(t), w))
        await asyncio.sleep(0)


async def converged(first: YClient, second: YClient, complete: Callable[[str], bool]) -> None:
    """Both editors show the same, complete text (polled: each client only wakes on its own changes)."""
    for _ in range(200):
        if first.content == second.content and complete(first.content):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not converged: {first.content!r} / {second.content!r}")


async def test_editors_on_two_nodes_converge_and_each_update_is_stored_once(
    two_nodes: Callable[[DocLimits], Awaitable[list[Node]]], store: SqlDocUpdateStore, doc_id: str,
) -> None:
    (client_a, _), (client_b, _) = await two_nodes(DocLimits(compact_every_updates=1000))
    alice = await connect(client_a, doc_id)
    bob = await connect(client_b, doc_id)
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)
    await asyncio.gather(type_words(alice, ["a1 ", "a2 ", "a3 "] * 5), type_words(bob, ["b1 ", "b2 "] * 5))
    await converged(alice, bob, lambda text: len(text) == 75)
    await alice.wait_saved()
    await bob.wait_saved()
    assert alice.acked == alice.sent_updates and bob.acked == bob.sent_updates
    assert await stored_text(store, doc_id) == alice.content
    loaded = await store.load(doc_id)
    # every acknowledged update stored exactly once: nothing relayed from the other node was stored again
    assert len(loaded.updates) == 15 + 10  # one per word typed
    # a third editor opening the document on node B sees everything
    carol = await connect(client_b, doc_id)
    await asyncio.wait_for(carol.synced.wait(), 10)
    assert carol.content == alice.content
    for editor in (alice, bob, carol):
        await editor.close()


async def test_compaction_on_one_node_keeps_the_other_nodes_updates(
    two_nodes: Callable[[DocLimits], Awaitable[list[Node]]], store: SqlDocUpdateStore, doc_id: str,
) -> None:
    (client_a, _), (client_b, _) = await two_nodes(DocLimits(compact_every_updates=3))
    alice = await connect(client_a, doc_id)
    bob = await connect(client_b, doc_id)
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)
    await asyncio.gather(type_words(alice, [f"a{i} " for i in range(12)]),
                         type_words(bob, [f"b{i} " for i in range(12)]))
    await converged(alice, bob, lambda text: text.count(" ") == 24)
    await alice.wait_saved()
    await bob.wait_saved()
    await alice.close()
    await bob.close()
    await asyncio.sleep(0.5)  # rooms close and compact
    text = await stored_text(store, doc_id)
    assert all(f"a{i} " in text and f"b{i} " in text for i in range(12)), text


async def test_editors_on_two_nodes_see_each_others_awareness_until_they_leave(
    two_nodes: Callable[[DocLimits], Awaitable[list[Node]]], doc_id: str,
) -> None:
    (client_a, rooms_a), (client_b, rooms_b) = await two_nodes(DocLimits())
    alice = await connect(client_a, doc_id, name="谢敏")
    bob = await connect(client_b, doc_id, name="Bob")
    await asyncio.wait_for(asyncio.gather(alice.synced.wait(), bob.synced.wait()), 10)
    alice_id, bob_id = alice.doc.client_id, bob.doc.client_id
    await alice.set_awareness(alice_id, 1, {"user": {"name": "Mallory", "color": "#f00"}, "cursor": {"at": 3}})
    await bob.wait_for(lambda: alice_id in bob.awareness)
    # stamped by node A with the directory's name, relayed as such by node B
    assert bob.awareness[alice_id] == {"user": {"name": "谢敏", "color": "#f00"}, "cursor": {"at": 3}}
    await bob.set_awareness(bob_id, 1, {"user": {"color": "#0f0"}, "cursor": {"at": 0}})
    await alice.wait_for(lambda: bob_id in alice.awareness)
    assert alice.awareness[bob_id]["user"] == {"name": "Bob", "color": "#0f0"}
    # a cursor moves: the newer clock goes through, an echo of the old one does not come back
    await alice.set_awareness(alice_id, 2, {"user": {"color": "#f00"}, "cursor": {"at": 9}})
    await bob.wait_for(lambda: bob.awareness.get(alice_id, {}).get("cursor") == {"at": 9})

    # a third editor on node B sees node A's editor at once (asked for nothing)
    carol = await connect(client_b, doc_id, name="Carol")
    await carol.wait_for(lambda: {alice_id, bob_id} <= set(carol.awareness))

    await alice.close()
    await bob.wait_for(lambda: alice_id not in bob.awareness)
    await carol.wait_for(lambda: alice_id not in carol.awareness)
    room_b = rooms_b.get(doc_id)
    assert room_b is not None and set(room_b.awareness_states) == {bob_id}
    await bob.close()
    await carol.close()
    assert rooms_a.get(doc_id) is None


async def test_a_room_opening_on_a_node_learns_the_awareness_of_the_other_nodes(
    two_nodes: Callable[[DocLimits], Awaitable[list[Node]]], doc_id: str,
) -> None:
    (client_a, _), (client_b, _) = await two_nodes(DocLimits())
    alice = await connect(client_a, doc_id, name="Alice")
    await asyncio.wait_for(alice.synced.wait(), 10)
    await alice.set_awareness(alice.doc.client_id, 5, {"user": {"color": "#f00"}})
    await asyncio.sleep(0.2)  # node A has it; the document is not open on node B yet
    bob = await connect(client_b, doc_id, name="Bob")
    # Alice's browser would renew its state only 15 s later: node B's room asked node A when it opened
    await bob.wait_for(lambda: alice.doc.client_id in bob.awareness, limit=5)
    assert bob.awareness[alice.doc.client_id]["user"]["name"] == "Alice"
    # a tab that moves to node B (same Yjs client id, newer clock) takes its id along
    await alice.close()
    moved = await connect(client_b, doc_id, name="Alice")
    await moved.set_awareness(alice.doc.client_id, 6, {"user": {"color": "#f00"}})
    await bob.wait_for(lambda: bob.awareness.get(alice.doc.client_id, {}).get("user", {}).get("name") == "Alice")
    await asyncio.sleep(0.3)  # node A's removal of the old tab must not take the moved tab's state away
    assert alice.doc.client_id in bob.awareness
    await moved.close()
    await bob.wait_for(lambda: alice.doc.client_id not in bob.awareness)
    await bob.close()


def test_states_from_a_node_that_stopped_renewing_them_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_awareness, "REMOTE_TIMEOUT", 0.05)
    relay = sync_awareness.AwarenessRelay("doc-x")
    state = sync_awareness.AwarenessEntry(7, 1, '{"user":{"name":"A"}}')
    assert relay.apply_remote("node-a", [state]) == [state]
    # a removal from another node than the one the id came from is not taken
    assert relay.apply_remote("node-b", [sync_awareness.AwarenessEntry(7, 1, "null")]) == []
    assert relay.states() == {7: {"user": {"name": "A"}}}
    time.sleep(0.1)  # node-a died: no removal ever comes, and no renewal
    assert relay.states() == {} and relay.all_entries() == []

"""Group commit: updates arriving while a commit is in flight are stored together in the next transaction,
and none of them is relayed or acknowledged before that transaction committed."""

from __future__ import annotations

import asyncio

from hub.docs.store import LoadedDoc, SqlDocUpdateStore
from tests.docs.conftest import ServerFactory
from tests.docs.test_doc_sync import connect, eventually, stored_text


class GatedStore:
    """The real SQL store; while ``gate`` is closed, storing waits (a slow commit)."""

    def __init__(self, inner: SqlDocUpdateStore) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = asyncio.Event()
        self.batches: list[int] = []
        self.fail_next = False

    async def load(self, doc_id: str) -> LoadedDoc:
        return await self.inner.load(doc_id)

    async def append_update(self, doc_id: str, update: bytes) -> int:
        return (await self.append_updates(doc_id, [update]))[0]

    async def append_updates(self, doc_id: str, updates: list[bytes]) -> list[int]:
        self.waiting.set()
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        self.batches.append(len(updates))
        return await self.inner.append_updates(doc_id, updates)

    async def compact(self, doc_id: str, snapshot: bytes, upto_seq: int) -> None:
        await self.inner.compact(doc_id, snapshot, upto_seq)


async def test_updates_waiting_for_a_commit_are_stored_together(doc_server: ServerFactory,
                                                                store: SqlDocUpdateStore, doc_id: str) -> None:
    gated = GatedStore(store)
    client, _rooms = await doc_server(with_store=gated)
    editors = [await connect(client, doc_id) for _ in range(4)]
    await asyncio.wait_for(asyncio.gather(*(e.synced.wait() for e in editors)), 10)
    watcher = await connect(client, doc_id, role="reader")
    await asyncio.wait_for(watcher.synced.wait(), 10)

    gated.gate.clear()
    gated.waiting.clear()
    await editors[0].edit(lambda t: t.insert(0, "first;"))
    await asyncio.wait_for(gated.waiting.wait(), 10)  # its commit is in flight
    for i, editor in enumerate(editors[1:], 1):
        await editor.edit(lambda t, i=i: t.insert(len(t), f"e{i};"))
    await asyncio.sleep(0.2)
    # Nothing is relayed or acknowledged while the commit is pending.
    assert watcher.content == "" and all(e.acked == 1 for e in editors)
    gated.gate.set()
    await watcher.wait_for(lambda: watcher.content.count(";") == 4)
    for editor in editors:
        await editor.wait_saved()
    assert gated.batches[-2:] == [1, 3]  # the three that waited went in one transaction
    assert sorted(watcher.content.split(";")[:-1]) == ["e1", "e2", "e3", "first"]
    assert await stored_text(store, doc_id) == watcher.content
    for c in (*editors, watcher):
        await c.close()


async def test_a_failed_batch_closes_its_senders_and_relays_nothing(doc_server: ServerFactory,
                                                                   store: SqlDocUpdateStore, doc_id: str) -> None:
    gated = GatedStore(store)
    client, _rooms = await doc_server(with_store=gated)
    ann, ben, cyd = [await connect(client, doc_id) for _ in range(3)]
    await asyncio.wait_for(asyncio.gather(ann.synced.wait(), ben.synced.wait(), cyd.synced.wait()), 10)
    await ann.edit(lambda t: t.insert(0, "kept;"))
    await cyd.wait_for(lambda: cyd.content == "kept;")

    gated.gate.clear()
    gated.waiting.clear()
    gated.fail_next = True
    await ann.edit(lambda t: t.insert(len(t), "lost-a;"))
    await asyncio.wait_for(gated.waiting.wait(), 10)
    gated.gate.set()
    assert await ann.wait_closed() == 1011
    await ben.edit(lambda t: t.insert(len(t), "ben;"))  # the next batch is stored normally
    await cyd.wait_for(lambda: "ben;" in cyd.content)
    await eventually(lambda: ben.acked >= ben.sent_updates)
    assert "lost-a" not in cyd.content and "lost-a" not in await stored_text(store, doc_id)
    assert ben.close_code is None and cyd.close_code is None
    await ben.close()
    await cyd.close()

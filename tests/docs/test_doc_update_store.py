"""SqlDocUpdateStore on SQLite and PostgreSQL: order, compaction boundaries, sequence numbers never reused."""

from __future__ import annotations

from pycrdt import Doc, Text, merge_updates

from hub.docs.store import SqlDocUpdateStore


def edits(words: list[str]) -> list[bytes]:
    doc = Doc()
    text = doc.get("t", type=Text)
    updates: list[bytes] = []
    for word in words:
        before = doc.get_state()
        text.insert(len(text), word)
        updates.append(doc.get_update(before))
    return updates


def text_of(snapshot: bytes | None, updates: list[bytes]) -> str:
    doc = Doc()
    for update in ([snapshot] if snapshot else []) + updates:
        doc.apply_update(update)
    return str(doc.get("t", type=Text))


async def test_empty_document_loads_nothing(store: SqlDocUpdateStore, doc_id: str) -> None:
    loaded = await store.load(doc_id)
    assert loaded.snapshot is None and loaded.updates == [] and loaded.last_seq == 0


async def test_compaction_keeps_later_updates_and_seq_keeps_growing(store: SqlDocUpdateStore,
                                                                    doc_id: str) -> None:
    ups = edits(["a", "b", "c", "d", "e"])
    seqs = [await store.append_update(doc_id, u) for u in ups[:3]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    await store.compact(doc_id, merge_updates(*ups[:2]), seqs[1])
    loaded = await store.load(doc_id)
    assert loaded.updates == [ups[2]] and text_of(loaded.snapshot, loaded.updates) == "abc"

    await store.compact(doc_id, merge_updates(*ups[:3]), seqs[2])  # the log is now empty
    later = await store.append_update(doc_id, ups[3])
    assert later > seqs[2]  # a number of a deleted row is never handed out again
    await store.append_update(doc_id, ups[4])
    loaded = await store.load(doc_id)
    assert text_of(loaded.snapshot, loaded.updates) == "abcde" and len(loaded.updates) == 2


async def test_older_snapshot_never_replaces_newer(store: SqlDocUpdateStore, doc_id: str) -> None:
    ups = edits(["x", "y"])
    s1 = await store.append_update(doc_id, ups[0])
    s2 = await store.append_update(doc_id, ups[1])
    await store.compact(doc_id, merge_updates(*ups), s2)
    await store.compact(doc_id, ups[0], s1)  # a late, older compaction
    loaded = await store.load(doc_id)
    assert text_of(loaded.snapshot, loaded.updates) == "xy"


async def test_documents_are_separate(store: SqlDocUpdateStore, doc_id: str) -> None:
    await store.append_update(doc_id, edits(["mine"])[0])
    await store.append_update(doc_id + "-other", edits(["theirs"])[0])
    loaded = await store.load(doc_id)
    assert text_of(loaded.snapshot, loaded.updates) == "mine"

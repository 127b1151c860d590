"""Shared documents on cluster nodes: editors speaking the Yjs sync protocol (pycrdt) to /docs/{id}/ws of a
node, paragraphs as TipTap writes them, and what PostgreSQL holds once the nodes are gone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import aiohttp
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from hub.docs.content import doc_from_state, plain_text
from hub.docs.store import SqlDocUpdateStore
from hub.storage.db import Database
from tests.cluster.nodes import Cluster, Node
from tests.docs.ysync_client import YClient


async def editor(http: aiohttp.ClientSession, cluster: Cluster, node: Node, doc_id: str, person: str) -> YClient:
    """A pycrdt editor of the document on node, signed in with a bearer token, once it is in sync."""
    client = await YClient.connect(http, f"ws://127.0.0.1:{node.port}/docs/{doc_id}/ws",
                                   headers={"Authorization": f"Bearer {cluster.token(person)}"})
    await asyncio.wait_for(client.synced.wait(), 10)
    return client


def lines_of(doc: Doc) -> list[str]:
    """The document's paragraphs, in order."""
    return [line for line in plain_text(doc).splitlines() if line]


async def write(client: YClient, lines: Iterable[str]) -> None:
    """Append each line as a paragraph at the end of the document, one update each, as typing would."""
    for line in lines:
        await client.edit_doc(lambda doc, text=line: doc.get("default", type=XmlFragment).children.append(
            XmlElement("paragraph", None, [XmlText(text)])))
        await asyncio.sleep(0)


async def converged(editors: list[YClient], expected: set[str], within: float = 15) -> list[str]:
    """Until every editor shows the same paragraphs, all of the expected among them; those paragraphs."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        seen = [lines_of(e.doc) for e in editors]
        if all(s == seen[0] for s in seen) and expected <= set(seen[0]):
            return seen[0]
        if asyncio.get_running_loop().time() > deadline:
            missing = [sorted(expected - set(s)) for s in seen]
            raise AssertionError(f"not converged within {within}s; missing per editor: {missing}")
        await asyncio.sleep(0.05)


async def stored(database_url: str, doc_id: str) -> Doc:
    """The document as PostgreSQL holds it (snapshot and updates), read with the hub's own store."""
    db = Database(database_url)
    try:
        loaded = await SqlDocUpdateStore(db.engine).load(doc_id)
    finally:
        await db.close()
    return doc_from_state(*([loaded.snapshot] if loaded.snapshot else []), *loaded.updates)


def holds(doc: Doc, update: bytes) -> bool:
    """Whether the document already contains everything an update brings (applying it changes nothing)."""
    copy = doc_from_state(doc.get_update())
    changes: list[object] = []
    copy.observe(changes.append)
    copy.apply_update(update)
    return not changes

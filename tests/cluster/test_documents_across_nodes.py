"""A document edited through two `cityhub serve` processes at once converges, and PostgreSQL keeps every
update a node acknowledged, even with both nodes compacting while the other writes."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.cluster.api import api
from tests.cluster.documents import converged, editor, holds, lines_of, stored, write
from tests.cluster.nodes import Cluster


async def test_a_document_edited_through_two_nodes_converges_and_every_acknowledged_update_is_stored(
    cluster: Cluster,
) -> None:
    cluster.settings["CITYHUB_DOCS_COMPACT_EVERY_UPDATES"] = "3"  # both nodes compact again and again meanwhile
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    doc_id = (await api(cluster, a, "POST", "/api/v1/docs", "p-xie", json={"title": "跨节点协同文档"},
                        expect=201))["id"]
    words = {"甲": "p-xie", "乙": "pub-util-02", "丙": "pub-util-03"}
    async with aiohttp.ClientSession() as http:
        # one editor on node A, two on node B (relayed to each other by B, to A through Redis)
        editors = [await editor(http, cluster, node, doc_id, person)
                   for node, person in ((a, "p-xie"), (b, "pub-util-02"), (b, "pub-util-03"))]
        lines = {word: [f"{word}{i}号" for i in range(40)] for word in words}
        await asyncio.gather(*(write(e, lines[word]) for e, word in zip(editors, words, strict=True)))
        expected = {line for written in lines.values() for line in written}
        final = await converged(editors, expected)
        assert len(final) == len(expected)  # every paragraph once: nothing lost, nothing applied twice
        for client in editors:
            await client.wait_saved()
        # each node's API serves the same content
        for node in (a, b):
            markdown = await api(cluster, node, "GET", f"/api/v1/docs/{doc_id}/export?format=md", "pub-util-04")
            assert [line for line in markdown.splitlines() if line and not line.startswith("#")] == final
        # someone opening it on node A after the others (node A's room is still open) sees it all
        late = await editor(http, cluster, a, doc_id, "pub-util-04")
        assert lines_of(late.doc) == final
        for client in [*editors, late]:
            await client.close()

    await cluster.stop()  # SIGTERM: both nodes compact and go
    kept = await stored(cluster.database_url, doc_id)
    assert lines_of(kept) == final
    for client in editors:
        assert client.acked == len(client.sent) > 25
        assert all(holds(kept, update) for update in client.acknowledged)

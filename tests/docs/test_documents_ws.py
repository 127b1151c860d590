"""/docs/{id}/ws on the real hub: people's tokens and grants decide, editors converge, readers only read,
outsiders never open, and a restart loses nothing that was acknowledged (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import pytest
from pycrdt import Doc, Text, YSyncMessageType

from hub import keys
from hub.app import drain
from hub.docs.content import doc_from_state
from hub.docs.service import colour_of
from hub.docs.sync_protocol import CloseCode, sync_message
from hub.settings import Settings
from tests.conftest import Hub, start_hub
from tests.docs.test_doc_sync_refusals import text_update
from tests.docs.test_documents_api import create
from tests.docs.ysync_client import YClient


async def join(hub: Hub, doc_id: str, person: str, session: aiohttp.ClientSession | None = None) -> YClient:
    """A pycrdt editor connected as ``person`` with a bearer token."""
    ws = await (session or hub.client.session).ws_connect(str(hub.client.make_url(f"/docs/{doc_id}/ws")),
                                                          headers=hub.auth(person))
    client = YClient(ws)
    await client.send_raw(sync_message(YSyncMessageType.SYNC_STEP1, client.doc.get_state()))
    await asyncio.wait_for(client.synced.wait(), 10)
    return client


async def refused_status(hub: Hub, doc_id: str, headers: dict[str, str]) -> tuple[int, Any]:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await hub.client.session.ws_connect(str(hub.client.make_url(f"/docs/{doc_id}/ws")), headers=headers)
    return refused.value.status, refused.value.message


async def test_two_editors_converge_through_the_hub(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    ann = await join(hub, doc["id"], "p-xie")
    ben = await join(hub, doc["id"], "pub-util-04")

    async def type_words(editor: YClient, words: list[str]) -> None:
        for word in words:
            await editor.edit(lambda t, w=word: t.insert(len(t), w))
            await asyncio.sleep(0)

    await asyncio.gather(type_words(ann, ["甲", "乙", "丙"] * 10), type_words(ben, ["a", "b"] * 10))
    await ann.wait_for(lambda: len(ann.content) == 50 and ann.content == ben.content)
    await ben.wait_for(lambda: ben.content == ann.content)
    await ann.wait_saved()
    await ben.wait_saved()
    late = await join(hub, doc["id"], "pub-util-05")
    assert late.content == ann.content
    for c in (ann, ben, late):
        await c.close()


async def test_awareness_shows_the_directory_name_and_colour(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    ann = await join(hub, doc["id"], "p-xie")
    ben = await join(hub, doc["id"], "pub-util-04")
    await ann.set_awareness(ann.doc.client_id, 1, {"user": {"name": "Somebody Else", "color": "#000000"}})
    await ben.wait_for(lambda: ann.doc.client_id in ben.awareness)
    assert ben.awareness[ann.doc.client_id] == {"user": {"name": "谢继成", "color": colour_of("p-xie")}}
    await ann.close()
    await ben.close()


async def test_reader_reads_live_and_cannot_change(hub: Hub) -> None:
    doc = await create(hub, "p-xie", unit_access="reader")
    ann = await join(hub, doc["id"], "p-xie")
    await ann.edit(lambda t: t.insert(0, "议程："))
    await ann.wait_saved()
    rita = await join(hub, doc["id"], "pub-util-04")
    assert rita.content == "议程："
    await ann.edit(lambda t: t.insert(len(t), "一"))
    await rita.wait_for(lambda: rita.content == "议程：一")

    await rita.send_raw(sync_message(YSyncMessageType.SYNC_UPDATE, text_update("reader wrote this")))
    assert await rita.wait_closed() == CloseCode.READ_ONLY
    await ann.edit(lambda t: t.insert(len(t), "二"))
    await ann.wait_saved()
    assert ann.close_code is None
    check = await join(hub, doc["id"], "p-xie")
    assert check.content == "议程：一二"
    await ann.close()
    await check.close()


async def test_outsider_unknown_unauthenticated_and_foreign_origin_refused(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    assert (await refused_status(hub, doc["id"], hub.auth("drc-04")))[0] == 403
    assert (await refused_status(hub, "no-such-document", hub.auth("p-xie")))[0] == 404
    assert (await refused_status(hub, "bad%20id", hub.auth("p-xie")))[0] == 404
    assert (await refused_status(hub, doc["id"], {}))[0] == 401
    assert (await refused_status(hub, doc["id"], {"Authorization": "Bearer not-a-token"}))[0] == 401
    foreign = {**hub.auth("p-xie"), "Origin": "https://evil.example"}
    assert (await refused_status(hub, doc["id"], foreign))[0] == 403
    assert hub.app[keys.DOC_ROOMS].get(doc["id"]) is None


async def test_garbage_and_oversized_frames_close_only_their_connection(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    ann = await join(hub, doc["id"], "p-xie")
    await ann.edit(lambda t: t.insert(0, "kept"))
    await ann.wait_saved()
    for frame, code in ((b"\x07garbage", CloseCode.MALFORMED),
                        (sync_message(YSyncMessageType.SYNC_UPDATE, text_update("x"))[:-3], CloseCode.MALFORMED),
                        (sync_message(YSyncMessageType.SYNC_UPDATE, text_update("y" * 1_100_000)), 4413)):
        mallory = await join(hub, doc["id"], "pub-util-04")
        await mallory.send_raw(frame)
        assert await mallory.wait_closed() == code
    await ann.edit(lambda t: t.insert(len(t), "+more"))
    await ann.wait_saved()
    assert ann.close_code is None
    again = await join(hub, doc["id"], "pub-util-05")
    assert again.content == "kept+more"
    await ann.close()
    await again.close()


async def test_losing_access_closes_the_connection(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    ben = await join(hub, doc["id"], "pub-util-04")
    ann = await join(hub, doc["id"], "p-xie")
    response = await hub.client.put(f"/api/v1/docs/{doc['id']}/access", json={}, headers=hub.auth("p-xie"))
    assert response.status == 200
    assert await ben.wait_closed() == CloseCode.ACCESS_REVOKED
    assert ann.close_code is None
    await ann.close()


async def test_deactivated_person_is_cut_off(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    ben = await join(hub, doc["id"], "pub-util-04")
    await hub.app[keys.DIRECTORY].set_active("pub-util-04", False)
    assert await ben.wait_closed() == CloseCode.ACCESS_REVOKED


async def test_restart_keeps_every_acknowledged_update(hub: Hub, settings: Settings, aiohttp_client: Any) -> None:
    doc = await create(hub, "p-xie")
    session = aiohttp.ClientSession()  # not the test client's, which closes with the hub
    ann = await join(hub, doc["id"], "p-xie", session)
    for i in range(30):
        await ann.edit(lambda t, i=i: t.insert(len(t), f"{i};"))
    await ann.wait_saved()  # the hub acknowledged all 30: they must survive
    expected = ann.content
    # Acknowledged means stored: the database has it all before any compaction or shutdown.
    stored = doc_from_state(await hub.app[keys.DOCS].current_state(doc["id"]))
    assert str(stored.get("t", type=Text)) == expected
    await hub.client.close()  # stops the hub: rooms compact and close, the database is closed
    assert await ann.wait_closed() == 1001
    await session.close()

    again = await start_hub(aiohttp_client, settings)
    bob = await join(again, doc["id"], "p-xie")
    assert bob.content == expected
    response = await again.client.get(f"/api/v1/docs/{doc['id']}", headers=again.auth("p-xie"))
    assert (await response.json())["title"] == "预算说明"
    await bob.close()


async def test_revoked_token_is_cut_off(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    token = hub.token("pub-util-04")
    ws = await hub.client.session.ws_connect(str(hub.client.make_url(f"/docs/{doc['id']}/ws")),
                                             headers={"Authorization": f"Bearer {token}"})
    ben = YClient(ws)
    await ben.send_raw(sync_message(YSyncMessageType.SYNC_STEP1, ben.doc.get_state()))
    await asyncio.wait_for(ben.synced.wait(), 10)
    ann = await join(hub, doc["id"], "p-xie")
    auth = hub.app[keys.AUTH]
    principal = await auth.authenticate(token)
    await auth.revoke(principal.jti, expires_at=principal.expires_at, by="pub-util-04")
    assert await ben.wait_closed() == CloseCode.ACCESS_REVOKED
    assert ann.close_code is None
    assert (await refused_status(hub, doc["id"], {"Authorization": f"Bearer {token}"}))[0] == 401
    await ann.close()


async def test_draining_node_sends_document_editors_elsewhere(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    ann = await join(hub, doc["id"], "p-xie")
    await ann.edit(lambda t: t.insert(0, "before the drain"))
    await ann.wait_saved()
    await drain(hub.app, 0.1)
    assert await ann.wait_closed() == 1001  # y-websocket reconnects, through the front door, to another node
    stored = doc_from_state(await hub.app[keys.DOCS].current_state(doc["id"]))
    assert str(stored.get("t", type=Text)) == "before the drain"


async def test_acknowledgements_go_only_to_clients_that_ask(hub: Hub) -> None:
    """A stock y-websocket client does not know message type 100: it gets none unless it asks (the hub's own
    editor and test clients send ASK_ACKS), and its updates are stored all the same."""
    doc = await create(hub, "p-xie")
    url = str(hub.client.make_url(f"/docs/{doc['id']}/ws"))
    stock = await hub.client.session.ws_connect(url, headers=hub.auth("p-xie"))
    other = Doc()
    other.get("t", type=Text).insert(0, "from a stock client")
    await stock.send_bytes(sync_message(YSyncMessageType.SYNC_STEP1, Doc().get_state()))
    await stock.send_bytes(sync_message(YSyncMessageType.SYNC_UPDATE, other.get_update()))
    asking = await join(hub, doc["id"], "p-xie")  # asks: its own edit is acknowledged
    await asking.wait_for(lambda: asking.content == "from a stock client")
    await asking.edit(lambda t: t.insert(0, "»"))
    await asking.wait_saved()
    kinds = []
    with contextlib.suppress(TimeoutError):
        while True:
            message = await stock.receive(timeout=0.5)
            kinds.append(message.data[0])
    assert kinds and 100 not in kinds, kinds  # sync and awareness messages only
    stored = doc_from_state(await hub.app[keys.DOCS].current_state(doc["id"]))
    assert str(stored.get("t", type=Text)) == "»from a stock client"
    await stock.close()
    await asking.close()

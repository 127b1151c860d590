"""A y-websocket client made of pycrdt and aiohttp, for tests: speaks sync, awareness and the stored ack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
from pycrdt import Doc, Text, YSyncMessageType

from hub.docs.sync_awareness import AwarenessEntry, decode_awareness, encode_awareness
from hub.docs.sync_protocol import (
    ASK_ACKS,
    MSG_STORED,
    Reader,
    awareness_message,
    sync_message,
)


class YClient:
    """One editor: a pycrdt Doc with a Text ``t``, kept in sync with the server over one WebSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.doc = Doc()
        self.text = self.doc.get("t", type=Text)
        self.synced = asyncio.Event()
        self.sent_updates = 0
        self.sent: list[bytes] = []  # every update sent, in order: the first ``acked`` of them are stored
        self.acked = 0
        self.relayed: list[bytes] = []  # updates the server relayed to us
        self.awareness: dict[int, object] = {}
        self.close_code: int | None = None
        self.close_reason = ""
        self._outbox: list[bytes] = []
        self._asked = False
        self._remote = False
        self._changed = asyncio.Event()
        self.doc.observe(self._on_update)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, url: str, role: str = "editor",
                      name: str = "", headers: dict[str, str] | None = None) -> YClient:
        """Connect and send sync step 1; ``headers`` (e.g. a bearer token) replace the test role headers."""
        ws = await session.ws_connect(url, headers=headers or {"X-Test-Role": role, "X-Test-Name": name})
        client = cls(ws)
        await client.send_raw(sync_message(YSyncMessageType.SYNC_STEP1, client.doc.get_state()))
        return client

    @property
    def content(self) -> str:
        return str(self.text)

    def _on_update(self, event: object) -> None:
        if not self._remote:
            self._outbox.append(event.update)  # type: ignore[attr-defined]

    @property
    def acknowledged(self) -> list[bytes]:
        """The updates the server said it stored."""
        return self.sent[:self.acked]

    async def send_raw(self, frame: bytes) -> None:
        if not self._asked:  # like the hub's editor: acknowledgements of stored updates, please
            self._asked = True
            await self.ws.send_bytes(ASK_ACKS)
        await self.ws.send_bytes(frame)

    async def _send_update(self, kind: YSyncMessageType, update: bytes) -> None:
        self.sent_updates += 1
        self.sent.append(update)
        await self.send_raw(sync_message(kind, update))

    async def edit(self, change: Callable[[Text], None]) -> None:
        """Change the text locally and send the resulting update, as a browser would."""
        with self.doc.transaction():
            change(self.text)
        outbox, self._outbox = self._outbox, []
        for update in outbox:
            await self._send_update(YSyncMessageType.SYNC_UPDATE, update)

    async def edit_doc(self, change: Callable[[Doc], None]) -> None:
        """Change anything in the document (e.g. its XmlFragment) in one transaction and send the update."""
        with self.doc.transaction():
            change(self.doc)
        outbox, self._outbox = self._outbox, []
        for update in outbox:
            await self._send_update(YSyncMessageType.SYNC_UPDATE, update)

    async def set_awareness(self, client_id: int, clock: int, state: dict[str, object] | None) -> None:
        entry = AwarenessEntry(client_id, clock, json.dumps(state))
        await self.send_raw(awareness_message(encode_awareness([entry])))

    async def wait_for(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def wait_saved(self) -> None:
        await self.wait_for(lambda: self.acked >= self.sent_updates)

    async def wait_closed(self) -> int | None:
        await asyncio.wait_for(asyncio.shield(self._reader), 10.0)
        return self.close_code

    async def close(self) -> None:
        await self.ws.close()
        await self._reader

    async def _read(self) -> None:
        try:
            while True:
                msg = await self.ws.receive()
                if msg.type == aiohttp.WSMsgType.CLOSE:
                    self.close_reason = str(msg.extra or "")
                    await self.ws.close()
                    break
                if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSING):
                    break
                if msg.type == aiohttp.WSMsgType.BINARY:
                    await self._handle(msg.data)
                    self._changed.set()
        finally:
            self.close_code = self.ws.close_code
            self._changed.set()

    async def _handle(self, frame: bytes) -> None:
        reader = Reader(frame)
        msg_type = reader.var_uint()
        if msg_type == 0:
            kind = reader.var_uint()
            payload = reader.var_bytes()
            if kind == YSyncMessageType.SYNC_STEP1:
                await self._send_update(YSyncMessageType.SYNC_STEP2, self.doc.get_update(payload))
                return
            if kind == YSyncMessageType.SYNC_UPDATE:
                self.relayed.append(payload)
            self._remote = True
            try:
                self.doc.apply_update(payload)
            finally:
                self._remote = False
            if kind == YSyncMessageType.SYNC_STEP2:
                self.synced.set()
        elif msg_type == 1:
            for entry in decode_awareness(reader.var_bytes()):
                state = json.loads(entry.state)
                if state is None:
                    self.awareness.pop(entry.client_id, None)
                else:
                    self.awareness[entry.client_id] = state
        elif msg_type == MSG_STORED:
            self.acked = reader.var_uint()

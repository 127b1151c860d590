"""A document room's link to the rooms of the same document on other nodes: the bus channel `doc.{id}`.

Every message carries the sender's `node`; a node ignores its own. Three kinds:
- `{"seq", "update"}`: an update the sender stored (base64); rooms elsewhere apply and relay it to their
  clients without storing it again (the seq says whether they have it already).
- `{"awareness"}`: awareness entries the sender accepted from its clients, removals included (a y-protocols
  awareness update, base64); rooms elsewhere relay them to their clients.
- `{"awareness_query": true}`: a room just opened on the sender; the others answer with their clients' states.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from typing import Protocol

from hub.bus.base import Bus, Message, Subscription
from hub.docs.sync_awareness import AwarenessEntry, decode_awareness, encode_awareness
from hub.docs.sync_protocol import ProtocolError
from hub.logs import own_context

log = logging.getLogger(__name__)

# How long a closing room waits for its last awareness removals to reach the bus.
FLUSH_SECONDS = 2.0


class FeedRoom(Protocol):
    """What a room does with what other nodes send."""

    async def remote_update(self, origin: str, seq: int, update: bytes) -> None: ...

    def remote_awareness(self, origin: str, entries: list[AwarenessEntry]) -> None: ...

    def local_awareness(self) -> list[AwarenessEntry]: ...


class DocFeed:
    """Publishes a room's stored updates and awareness to the other nodes, and hands theirs to the room."""

    def __init__(self, bus: Bus, doc_id: str, room: FeedRoom) -> None:
        self.bus = bus
        self.doc_id = doc_id
        self.channel = f"doc.{doc_id}"
        self._room = room
        self._subscription: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None
        # Awareness goes out in order from one task (a state must not overtake its own removal).
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    async def subscribe(self) -> None:
        """Start receiving (before the room loads the document, so nothing falls between load and feed)."""
        self._subscription = await self.bus.subscribe(self.channel)

    def start(self) -> None:
        """Hand what comes in to the room (once it is loaded), and ask the other nodes for their awareness."""
        assert self._subscription is not None
        self._reader = asyncio.create_task(self._read(self._subscription), name=f"doc-feed-{self.doc_id}",
                                           context=own_context(f"doc:{self.doc_id}"))
        self._sender = asyncio.create_task(self._send(), name=f"doc-feed-out-{self.doc_id}",
                                           context=own_context(f"doc:{self.doc_id}"))
        self._outbox.put_nowait({"node": self.bus.node_id, "awareness_query": True})

    async def stop(self) -> None:
        """Send what is queued (for a moment at most), then stop."""
        if self._subscription is not None:
            self._subscription.close()
        if self._sender is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), FLUSH_SECONDS)
        for task in (self._reader, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._reader = self._sender = None

    async def announce(self, seq: int, update: bytes) -> None:
        """An update this node stored, for the other nodes' rooms."""
        await self.bus.publish(self.channel, {
            "node": self.bus.node_id, "seq": seq, "update": base64.b64encode(update).decode(),
        })

    def send_awareness(self, entries: list[AwarenessEntry]) -> None:
        """Awareness entries this node accepted (or removed), for the other nodes' rooms."""
        if entries:
            payload = base64.b64encode(encode_awareness(entries)).decode()
            self._outbox.put_nowait({"node": self.bus.node_id, "awareness": payload})

    async def _send(self) -> None:
        while True:
            message = await self._outbox.get()
            try:
                await self.bus.publish(self.channel, message)
            except Exception:
                log.exception("doc %s: awareness not sent to the other nodes", self.doc_id)
            finally:
                self._outbox.task_done()

    async def _read(self, subscription: Subscription) -> None:
        async for message in subscription:
            origin = str(message.get("node", ""))
            if origin == self.bus.node_id:
                continue
            try:
                if "awareness" in message:
                    entries = decode_awareness(base64.b64decode(str(message["awareness"]), validate=True))
                    self._room.remote_awareness(origin, entries)
                elif message.get("awareness_query"):
                    self.send_awareness(self._room.local_awareness())
                else:
                    update = base64.b64decode(str(message["update"]), validate=True)
                    await self._room.remote_update(origin, int(message["seq"]), update)
            except (KeyError, TypeError, ValueError, binascii.Error, ProtocolError):
                log.warning("doc %s: unreadable message from node %s dropped", self.doc_id, origin or "?")

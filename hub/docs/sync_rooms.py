"""DocRooms: opens a DocRoom on the first connection to a document and closes it after the last one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hub.bus.base import Bus
from hub.docs.store import DocUpdateStore
from hub.docs.sync_protocol import CloseCode
from hub.docs.sync_room import DocAccess, DocClient, DocLimits, DocRoom, DocStats

log = logging.getLogger(__name__)


class DocRoomsClosed(Exception):
    """The manager is stopped; no document can be opened."""


class DocRooms:
    """All open documents of this process, one DocRoom per document id."""

    def __init__(self, store: DocUpdateStore, limits: DocLimits | None = None, bus: Bus | None = None) -> None:
        self.store = store
        self.bus = bus  # several nodes: rooms exchange stored updates on the bus
        self.limits = limits or DocLimits()
        self._rooms: dict[str, DocRoom] = {}
        self.stats = DocStats()  # what every room of this node did (read by /metrics)
        self._starting: dict[str, asyncio.Task[DocRoom]] = {}
        self._stopping: dict[str, asyncio.Task[None]] = {}
        self._running = False
        if bus is not None:
            bus.on_connect(self._bus_connected)

    async def _bus_connected(self, lost: bool) -> None:
        # Redis was away: other nodes' announcements of what they stored meanwhile never came.
        for room in list(self._rooms.values()):
            try:
                await room.catch_up()
            except Exception:
                log.exception("doc %s: catching up after the bus came back failed", room.doc_id)

    @property
    def open_count(self) -> int:
        """Documents open for editing on this node."""
        return len(self._rooms)

    def get(self, doc_id: str) -> DocRoom | None:
        """The open room of a document, if any."""
        return self._rooms.get(doc_id)

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        """Close every room (clients get 1001 going away) after compacting what each has pending."""
        self._running = False
        if self._starting:
            await asyncio.wait(list(self._starting.values()))
        rooms = list(self._rooms.values())
        self._rooms.clear()
        for room in rooms:
            self._stopping[room.doc_id] = asyncio.create_task(room.stop())
        if self._stopping:
            await asyncio.wait(list(self._stopping.values()))
        self._stopping.clear()

    async def join(self, doc_id: str, client: DocClient) -> DocRoom:
        """Add a client to the document's room, opening (loading) the room first if needed."""
        while True:
            if not self._running:
                raise DocRoomsClosed("document rooms are stopped")
            stopping = self._stopping.get(doc_id)
            if stopping is not None:
                # The last client just left; let the old room finish its compaction before reloading.
                await asyncio.wait([stopping])
                continue
            room = self._rooms.get(doc_id)
            if room is not None:
                room.add_client(client)
                return room
            starting = self._starting.get(doc_id)
            if starting is None:
                starting = asyncio.create_task(self._open(doc_id), name=f"doc-open-{doc_id}")
                self._starting[doc_id] = starting
            await asyncio.wait([starting])
            starting.result()  # re-raises a loading failure to every waiting client

    async def _open(self, doc_id: str) -> DocRoom:
        room = DocRoom(doc_id, self.store, self.limits, self.bus, self.stats)
        try:
            await room.start()
            if not self._running:
                await room.stop()
                raise DocRoomsClosed("document rooms are stopped")
            self._rooms[doc_id] = room
            return room
        finally:
            self._starting.pop(doc_id, None)

    def leave(self, room: DocRoom, client: DocClient) -> None:
        """Remove a client; the room stops in the background once it is empty."""
        if not room.remove_client(client) or self._rooms.get(room.doc_id) is not room:
            return
        del self._rooms[room.doc_id]
        task = asyncio.create_task(room.stop(), name=f"doc-close-{room.doc_id}")
        self._stopping[room.doc_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._stopping.get(room.doc_id) is done:
                del self._stopping[room.doc_id]
            if not done.cancelled() and done.exception() is not None:
                log.error("doc %s: closing failed: %r", room.doc_id, done.exception())

        task.add_done_callback(forget)

    def disconnect(self, match: Callable[[DocAccess], bool], reason: str, doc_id: str | None = None) -> int:
        """Close the connections whose access matches (e.g. a person deactivated); returns how many."""
        count = 0
        for room in list(self._rooms.values()):
            if doc_id is not None and room.doc_id != doc_id:
                continue
            for client in room.clients:
                if match(client.access):
                    client.close(CloseCode.ACCESS_REVOKED, reason)
                    count += 1
        return count

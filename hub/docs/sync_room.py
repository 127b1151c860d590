"""One open shared document: its pycrdt Doc, its connected clients, awareness, durable updates, compaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pycrdt import Doc, YSyncMessageType, merge_updates

from hub.bus.base import Bus
from hub.docs.store import DocUpdateStore
from hub.docs.sync_awareness import AwarenessEntry, AwarenessRelay, decode_awareness, encode_awareness
from hub.docs.sync_nodes import DocFeed
from hub.docs.sync_protocol import (
    EMPTY_UPDATE,
    AskAcksMessage,
    AwarenessMessage,
    CloseCode,
    ProtocolError,
    Refusal,
    SyncMessage,
    awareness_message,
    parse_message,
    stored_message,
    sync_message,
)
from hub.logs import own_context

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DocAccess:
    """What one connection may do, decided by the access check before the WebSocket is accepted."""

    can_write: bool
    # Fields written over this client's awareness ``user`` (e.g. the directory's name and colour).
    user: Mapping[str, Any] | None = None
    label: str = "anonymous"  # who is connected, for logs
    # When the credentials behind it run out (seconds since the epoch, by the hub's clock): the connection is
    # then closed with 4401 unless renewed in band (MSG_AUTH_RENEW). None: never.
    valid_until: float | None = None


@dataclass(frozen=True, slots=True)
class DocLimits:
    max_update_bytes: int = 1 << 20
    max_document_bytes: int = 16 << 20
    max_awareness_bytes: int = 64 << 10
    compact_every_updates: int = 200
    compact_idle_seconds: float = 10.0
    send_queue_messages: int = 1024


class DocClient(Protocol):
    """One connected client as the room sees it; sending never blocks (the connection queues)."""

    @property
    def access(self) -> DocAccess: ...

    def send(self, message: bytes) -> None: ...

    def close(self, code: CloseCode, reason: str) -> None: ...


def _crdt_error(exc: BaseException) -> bool:
    # A panic inside the Rust core surfaces as pyo3's PanicException, a BaseException.
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def check_update(update: bytes) -> None:
    """Raise ProtocolError unless ``update`` decodes as a Yjs v1 update (checked on an empty Doc)."""
    try:
        Doc().apply_update(update)
    except BaseException as exc:
        if not _crdt_error(exc):
            raise
        raise ProtocolError(f"not a valid Yjs update: {exc}") from exc


@dataclass
class DocStats:
    """What a node's document rooms did since it started (read by /metrics)."""

    updates_stored: int = 0
    store_batches: int = 0  # transactions that stored updates
    store_seconds: float = 0.0  # time they took
    compactions: int = 0
    slow_clients: int = 0  # document sockets closed because their send queue filled up

    def stored(self, updates: int, seconds: float) -> None:
        self.updates_stored += updates
        self.store_batches += 1
        self.store_seconds += seconds


class DocRoom:
    """One open document: every update is stored before it is applied, relayed or acknowledged."""

    def __init__(self, doc_id: str, store: DocUpdateStore, limits: DocLimits, bus: Bus | None = None,
                 stats: DocStats | None = None) -> None:
        self.doc_id = doc_id
        self._stats = stats or DocStats()
        # With a bus (several nodes): stored updates and awareness go out on `doc.{id}`; other nodes' come in,
        # relayed here (updates applied without being stored again: what this room has already changes nothing).
        self._feed = DocFeed(bus, doc_id, self) if bus is not None else None
        self._seen: set[int] = set()
        self._store = store
        self._limits = limits
        self.doc: Doc = Doc()
        self._clients: dict[DocClient, int] = {}  # client -> number of updates it sent (for acks)
        self._asking: set[DocClient] = set()  # clients that asked for MSG_STORED acknowledgements
        self._awareness = AwarenessRelay(doc_id)
        self._lock = asyncio.Lock()  # serialises store -> apply -> relay, so the relay order is the seq order
        self._snapshot: bytes | None = None
        self._uncompacted: list[tuple[int, bytes]] = []  # stored updates not yet folded into the snapshot
        self._size_bound = 0  # an upper bound of the encoded document size
        self._last_update = time.monotonic()
        self._compact_now = asyncio.Event()
        self._compactor: asyncio.Task[None] | None = None
        # Group commit: updates that arrive while a batch is being stored wait here and go in the next one.
        self._pending: list[tuple[DocClient, bytes, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def clients(self) -> list[DocClient]:
        return list(self._clients)

    @property
    def awareness_states(self) -> dict[int, Any]:
        return self._awareness.states()

    async def start(self) -> None:
        """Load the stored snapshot and updates, then start background compaction."""
        if self._feed is not None:
            await self._feed.subscribe()  # before loading: nothing falls between
        loaded = await self._store.load(self.doc_id)
        if loaded.snapshot is not None:
            self.doc.apply_update(loaded.snapshot)
            self._snapshot = loaded.snapshot
        for update in loaded.updates:
            try:
                self.doc.apply_update(update)
            except BaseException as exc:
                if not _crdt_error(exc):
                    raise
                # Never expected (updates are checked before they are stored); the next compaction drops it.
                log.error("doc %s: skipping an undecodable stored update: %s", self.doc_id, exc)
                continue
            self._uncompacted.append((loaded.last_seq, update))
        self._size_bound = len(self._snapshot or b"") + sum(len(u) for _, u in self._uncompacted)
        if loaded.updates and len(loaded.updates) != len(self._uncompacted):
            self._uncompacted.append((loaded.last_seq, EMPTY_UPDATE))  # so compaction covers last_seq
        self._compactor = asyncio.create_task(self._run_compactor(), name=f"doc-compactor-{self.doc_id}",
                                              context=own_context(f"doc:{self.doc_id}"))
        if self._feed is not None:
            self._feed.start()
        if len(self._uncompacted) >= self._limits.compact_every_updates:
            self._compact_now.set()
        log.info("doc %s: opened (%d stored updates after the snapshot)", self.doc_id, len(loaded.updates))

    async def stop(self) -> None:
        """Compact what is pending, disconnect whoever is left and free the document."""
        self.closed = True
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
            self._compactor = None
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer  # what was accepted before closing is stored
        async with self._lock:
            if self._uncompacted:
                await self._compact()
        if self._feed is not None:
            # the clients still here leave with the room: the other nodes drop their awareness too
            self._feed.send_awareness([e for c in self._clients for e in self._awareness.remove_owner(c)])
            await self._feed.stop()
        for client in list(self._clients):
            client.close(CloseCode.GOING_AWAY, "document closed")
        self._clients.clear()
        self._asking.clear()
        self.doc = Doc()
        self._snapshot = None
        self._uncompacted = []
        log.info("doc %s: closed", self.doc_id)

    def add_client(self, client: DocClient) -> None:
        self._clients[client] = 0
        if client.access.can_write:
            # A reader gets no sync step 1, so a well-behaved reader never answers with a step 2.
            client.send(sync_message(YSyncMessageType.SYNC_STEP1, self.doc.get_state()))
        entries = self._awareness.all_entries()
        if entries:
            client.send(awareness_message(encode_awareness(entries)))

    def remove_client(self, client: DocClient) -> bool:
        """Forget a client; True when the room is now empty."""
        self._clients.pop(client, None)
        self._asking.discard(client)
        removed = self._awareness.remove_owner(client)
        if removed:
            self._broadcast(awareness_message(encode_awareness(removed)), exclude=None)
            if self._feed is not None:
                self._feed.send_awareness(removed)
        return not self._clients

    async def receive(self, client: DocClient, frame: bytes) -> None:
        """Handle one binary frame from ``client``; raises Refusal when the connection must be closed."""
        try:
            message = parse_message(frame)
        except ProtocolError as exc:
            raise Refusal(CloseCode.MALFORMED, str(exc)) from exc
        if isinstance(message, SyncMessage):
            if message.kind == YSyncMessageType.SYNC_STEP1:
                self._answer_step1(client, message.payload)
            else:
                await self._receive_update(client, message.payload)
        elif isinstance(message, AwarenessMessage):
            self._receive_awareness(client, message.payload)
        elif isinstance(message, AskAcksMessage):
            self._asking.add(client)
        else:
            entries = self._awareness.all_entries()
            client.send(awareness_message(encode_awareness(entries)))

    def _answer_step1(self, client: DocClient, state_vector: bytes) -> None:
        # The doc only ever holds stored updates, so answering from it never leaks an unstored one.
        try:
            update = self.doc.get_update(state_vector)
        except BaseException as exc:
            if not _crdt_error(exc):
                raise
            raise Refusal(CloseCode.MALFORMED, "invalid state vector") from exc
        client.send(sync_message(YSyncMessageType.SYNC_STEP2, update))

    async def _receive_update(self, client: DocClient, update: bytes) -> None:
        if not client.access.can_write:
            if update == EMPTY_UPDATE:
                return
            raise Refusal(CloseCode.READ_ONLY, "this connection may only read the document")
        limit = self._limits.max_update_bytes
        if len(update) > limit:
            raise Refusal(CloseCode.UPDATE_TOO_LARGE,
                          f"update of {len(update)} bytes exceeds the limit of {limit} bytes")
        if update == EMPTY_UPDATE:
            self._ack(client)
            return
        try:
            check_update(update)
        except ProtocolError as exc:
            raise Refusal(CloseCode.MALFORMED, str(exc)) from exc
        if self.closed:
            raise Refusal(CloseCode.GOING_AWAY, "document closed")
        self._size_bound = self._checked_size(update)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((client, update, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name=f"doc-writer-{self.doc_id}",
                                               context=own_context(f"doc:{self.doc_id}"))
        await done  # stored, applied, relayed and acknowledged; or a Refusal when storing failed
        if len(self._uncompacted) >= self._limits.compact_every_updates:
            self._compact_now.set()

    async def _write_pending(self) -> None:
        """Store the waiting updates in one transaction, then apply, relay and acknowledge them in order."""
        try:
            while self._pending:
                async with self._lock:
                    batch, self._pending = self._pending, []
                    try:
                        started = time.perf_counter()
                        seqs = await self._store.append_updates(self.doc_id, [u for _, u, _ in batch])
                        self._stats.stored(len(batch), time.perf_counter() - started)
                    except Exception:
                        log.exception("doc %s: storing %d updates failed", self.doc_id, len(batch))
                        self._fail(batch)
                        self._size_bound = self._stored_size() + sum(len(u) for _, u, _ in self._pending)
                        continue
                    self._last_update = time.monotonic()
                    for (client, update, done), seq in zip(batch, seqs, strict=True):
                        self._uncompacted.append((seq, update))
                        try:
                            self.doc.apply_update(update)
                        except BaseException as exc:
                            if not _crdt_error(exc):
                                raise
                            log.error("doc %s: stored update %d did not apply: %s", self.doc_id, seq, exc)
                        self._broadcast(sync_message(YSyncMessageType.SYNC_UPDATE, update), exclude=client)
                        self._ack(client)
                        if self._feed is not None:
                            self._seen.add(seq)
                            await self._feed.announce(seq, update)
                        if not done.done():
                            done.set_result(None)
        except BaseException:
            self._fail(self._pending)
            self._pending = []
            raise

    async def remote_update(self, origin: str, seq: int, update: bytes) -> None:
        """An update another node stored: applied and relayed to this node's clients, once each."""
        # Not `seq <= last seq loaded`: another node's transaction may take its seq before one this room loaded
        # and commit after it. What the room has already changes nothing and is not relayed.
        if seq in self._seen:
            return
        async with self._lock:
            self._seen.add(seq)
            try:
                self._apply_stored(seq, update)
            except BaseException as exc:
                if not _crdt_error(exc):
                    raise
                log.error("doc %s: update %d from node %s did not apply: %s", self.doc_id, seq, origin, exc)

    def _apply_stored(self, seq: int, update: bytes) -> bool:
        """Apply an update stored elsewhere; relay to this room's clients what it changed (False: nothing)."""
        changes: list[bytes] = []
        subscription = self.doc.observe(lambda event: changes.append(event.update))
        try:
            self.doc.apply_update(update)
        finally:
            self.doc.unobserve(subscription)
        for change in changes:
            self._uncompacted.append((seq, change))
            self._size_bound += len(change)
            self._broadcast(sync_message(YSyncMessageType.SYNC_UPDATE, change), exclude=None)
        return bool(changes)

    def remote_awareness(self, origin: str, entries: list[AwarenessEntry]) -> None:
        """Awareness another node accepted from its clients (or removed): relayed to this node's clients."""
        accepted = self._awareness.apply_remote(origin, entries)
        if accepted:
            self._broadcast(awareness_message(encode_awareness(accepted)), exclude=None)

    def local_awareness(self) -> list[AwarenessEntry]:
        """The awareness states of this node's clients."""
        return self._awareness.local_entries()

    async def catch_up(self) -> None:
        """Apply and relay what other nodes stored while their announcements could not come (Redis was away)."""
        if self.closed:
            return
        loaded = await self._store.load(self.doc_id)
        async with self._lock:
            stored: Doc = Doc()
            for part in [p for p in (loaded.snapshot,) if p is not None] + loaded.updates:
                stored.apply_update(part)
            if self._apply_stored(loaded.last_seq, stored.get_update(self.doc.get_state())):
                log.info("doc %s: caught up with updates stored by other nodes (up to seq %d)",
                         self.doc_id, loaded.last_seq)

    @staticmethod
    def _fail(batch: list[tuple[DocClient, bytes, asyncio.Future[None]]]) -> None:
        for _, _, done in batch:
            if not done.done():
                done.set_exception(Refusal(CloseCode.INTERNAL_ERROR, "the update could not be stored"))

    def _stored_size(self) -> int:
        return len(self._snapshot or b"") + sum(len(u) for _, u in self._uncompacted)

    def _checked_size(self, update: bytes) -> int:
        """The document size bound after ``update``; raises Refusal above the document limit."""
        limit = self._limits.max_document_bytes
        bound = self._size_bound + len(update)
        if bound <= limit:
            return bound
        # The cheap bound counts every update in full; only near the limit is the real size computed.
        parts = [p for p in (self._snapshot,) if p is not None] + [u for _, u in self._uncompacted]
        parts += [u for _, u, _ in self._pending]
        exact = len(merge_updates(*parts, update))
        if exact > limit:
            raise Refusal(CloseCode.DOCUMENT_TOO_LARGE,
                          f"the document would grow to {exact} bytes, above the limit of {limit} bytes")
        return exact

    def _ack(self, client: DocClient) -> None:
        if client in self._clients:
            self._clients[client] += 1
            if client in self._asking:
                client.send(stored_message(self._clients[client]))

    def _receive_awareness(self, client: DocClient, payload: bytes) -> None:
        limit = self._limits.max_awareness_bytes
        if len(payload) > limit:
            raise Refusal(CloseCode.UPDATE_TOO_LARGE,
                          f"awareness update of {len(payload)} bytes exceeds the limit of {limit} bytes")
        try:
            entries = decode_awareness(payload)
        except ProtocolError as exc:
            raise Refusal(CloseCode.MALFORMED, str(exc)) from exc
        accepted = self._awareness.apply(client, client.access.label, entries, client.access.user)
        if accepted:
            # To everyone, the sender too (as y-websocket's own server does): its client drops a connection that
            # has heard nothing for 30 s, and an editor alone in a document hears only this (every 15 s).
            self._broadcast(awareness_message(encode_awareness(accepted)), exclude=None)
            if self._feed is not None:
                self._feed.send_awareness(accepted)

    def _broadcast(self, message: bytes, exclude: DocClient | None) -> None:
        for other in list(self._clients):
            if other is not exclude:
                other.send(message)

    async def _run_compactor(self) -> None:
        idle = self._limits.compact_idle_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle):
                    await self._compact_now.wait()
            self._compact_now.clear()
            if not self._uncompacted:
                continue
            due = len(self._uncompacted) >= self._limits.compact_every_updates
            if due or time.monotonic() - self._last_update >= idle:
                await self._compact()

    async def _compact(self) -> None:
        """Fold the stored updates into a new snapshot; updates stored meanwhile stay in the update log."""
        taken = list(self._uncompacted)
        if not taken:
            return
        upto = max(seq for seq, _ in taken)
        parts = [p for p in (self._snapshot,) if p is not None] + [u for _, u in taken]
        if self._feed is not None:
            # Other nodes store updates too, and their announcement may not be here yet: fold in everything
            # stored so far, so the snapshot holds every update the compaction removes from the log.
            try:
                stored = await self._store.load(self.doc_id)
            except Exception:
                log.exception("doc %s: compaction could not read the stored updates", self.doc_id)
                return
            parts += [p for p in (stored.snapshot,) if p is not None] + stored.updates
            upto = max(upto, stored.last_seq)
        snapshot = merge_updates(*parts)
        try:
            await self._store.compact(self.doc_id, snapshot, upto)
        except Exception:
            log.exception("doc %s: compaction up to seq %d failed; the updates stay in the log",
                          self.doc_id, upto)
            return
        self._stats.compactions += 1
        self._snapshot = snapshot
        self._uncompacted = self._uncompacted[len(taken):]
        self._size_bound = len(snapshot) + sum(len(u) for _, u in self._uncompacted)
        log.info("doc %s: compacted %d updates into a %d-byte snapshot (upto seq %d)",
                 self.doc_id, len(taken), len(snapshot), upto)

"""The aiohttp side of /docs/{doc_id}/ws: one DocConnection per WebSocket, fed into the document's room."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from hub.clock import Clock, Deadline
from hub.docs.sync_protocol import CloseCode, ProtocolError, Refusal, renewal_token
from hub.docs.sync_room import DocAccess, DocRoom, DocStats
from hub.docs.sync_rooms import DocRooms, DocRoomsClosed
from hub.errors import HubError
from hub.logs import request_id

log = logging.getLogger(__name__)

# Decides who may read or write a document; raises (e.g. an HTTP 401/403/404) to refuse the connection.
AccessCheck = Callable[[web.Request, str], Awaitable[DocAccess]]
# Renews a connection's access with a fresh token (MSG_AUTH_RENEW): the new access, or a HubError to refuse it.
Renew = Callable[[web.Request, DocAccess, str], Awaitable[DocAccess]]

DOC_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_WRITE_TIMEOUT = 10.0


class DocConnection:
    """One client WebSocket: a bounded send queue drained by one writer task, and a pending close."""

    def __init__(self, ws: web.WebSocketResponse, access: DocAccess, doc_id: str, queue_size: int,
                 stats: DocStats | None = None) -> None:
        self._ws = ws
        self._stats = stats or DocStats()
        self._access = access
        self._doc_id = doc_id
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(queue_size)
        self._close: tuple[int, str] | None = None
        self._writer = asyncio.create_task(self._write(), name=f"doc-writer-{doc_id}")

    @property
    def access(self) -> DocAccess:
        return self._access

    def renewed(self, access: DocAccess) -> None:
        """Go on with the access a renewal decided (the room reads it for every message)."""
        self._access = access

    @property
    def closing(self) -> bool:
        return self._close is not None

    def send(self, message: bytes) -> None:
        if self._close is not None:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("doc %s: %s reads too slowly, disconnecting", self._doc_id, self._access.label)
            self._stats.slow_clients += 1
            self.close(CloseCode.TOO_SLOW, "client too slow")

    def close(self, code: CloseCode | int, reason: str) -> None:
        """Send what is queued, then close with ``code``; a full queue is dropped instead."""
        if self._close is not None:
            return
        self._close = (int(code), reason)
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def finish(self) -> None:
        """Wait until the writer has flushed and closed the socket."""
        self.close(1000, "")
        try:
            async with asyncio.timeout(_WRITE_TIMEOUT):
                await self._writer
        except TimeoutError:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write(self) -> None:
        try:
            while (message := await self._queue.get()) is not None:
                async with asyncio.timeout(_WRITE_TIMEOUT):
                    await self._ws.send_bytes(message)
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            log.info("doc %s: sending to %s failed: %r", self._doc_id, self._access.label, exc)
        finally:
            if self._close is None:
                self._close = (1000, "")  # nothing more is queued for a socket that failed
            code, reason = self._close
            # Reasons are limited to 123 bytes by RFC 6455.
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._ws.close(code=code, message=reason.encode()[:123])


def _json_error(status: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
    body = json.dumps({"error": {"code": code, "message": message}})
    return status(text=body, content_type="application/json")


async def handle_doc_ws(request: web.Request, rooms: DocRooms, access: AccessCheck, *, renew: Renew | None = None,
                        clock: Clock | None = None) -> web.WebSocketResponse:
    """Serve the y-websocket protocol for ``request.match_info["doc_id"]`` to one client.

    With ``renew``, the client may renew its access in band before ``valid_until`` (then it is closed with 4401).
    """
    doc_id = request.match_info.get("doc_id", "")
    if not DOC_ID_RE.match(doc_id):
        raise _json_error(web.HTTPNotFound, "not_found", "no such document")
    grant = await access(request, doc_id)
    limits = rooms.limits
    # Frames up to 4x the update limit are read so that an oversized update gets 4413 with a reason;
    # anything larger is cut off by aiohttp itself with 1009.
    ws = web.WebSocketResponse(heartbeat=30.0,
                               max_msg_size=4 * max(limits.max_update_bytes, limits.max_awareness_bytes))
    ws.headers["X-Request-ID"] = request_id.get()  # the socket's id in every log line about it
    await ws.prepare(request)
    conn = DocConnection(ws, grant, doc_id, limits.send_queue_messages, rooms.stats)
    try:
        room = await rooms.join(doc_id, conn)
    except DocRoomsClosed:
        conn.close(CloseCode.GOING_AWAY, "server shutting down")
        await conn.finish()
        return ws
    except Exception:
        log.exception("doc %s: opening the document failed", doc_id)
        conn.close(CloseCode.INTERNAL_ERROR, "the document could not be opened")
        await conn.finish()
        return ws
    log.info("doc %s: %s connected (%s)", doc_id, grant.label, "editor" if grant.can_write else "reader")

    def expired() -> None:
        log.info("doc %s: the token of %s expired, closing", doc_id, conn.access.label)
        conn.close(CloseCode.ACCESS_REVOKED, "token expired")

    expiry = Deadline(clock or Clock(), expired)
    if grant.valid_until is not None:
        expiry.set(grant.valid_until)
    try:
        async for msg in ws:
            if conn.closing:
                break
            if msg.type == WSMsgType.BINARY:
                try:
                    await _receive(request, room, conn, msg.data, renew, expiry)
                except Refusal as refusal:
                    log.warning("doc %s: refused a message from %s, closing %d: %s",
                                doc_id, conn.access.label, refusal.code, refusal.reason)
                    conn.close(refusal.code, refusal.reason)
                    break
            elif msg.type == WSMsgType.TEXT:
                log.warning("doc %s: refused a text frame from %s", doc_id, grant.label)
                conn.close(CloseCode.MALFORMED, "text frames are not accepted")
                break
            elif msg.type == WSMsgType.ERROR:
                log.warning("doc %s: connection of %s failed: %r", doc_id, grant.label, ws.exception())
                break
    finally:
        expiry.cancel()
        rooms.leave(room, conn)
        await conn.finish()
        log.info("doc %s: %s disconnected", doc_id, grant.label)
    return ws


async def _receive(request: web.Request, room: DocRoom, conn: DocConnection, frame: bytes, renew: Renew | None,
                   expiry: Deadline) -> None:
    """One binary frame: a renewal of the connection's access when one is possible, else the room's."""
    try:
        token = renewal_token(frame) if renew is not None else None
    except ProtocolError as exc:
        raise Refusal(CloseCode.MALFORMED, str(exc)) from exc
    if token is None or renew is None:
        await room.receive(conn, frame)
        return
    try:
        renewed = await renew(request, conn.access, token)
    except HubError as refusal:
        raise Refusal(CloseCode.ACCESS_REVOKED, f"renewal refused: {refusal.code}") from None
    conn.renewed(renewed)
    if renewed.valid_until is None:
        expiry.cancel()
    else:
        expiry.set(renewed.valid_until)


def doc_ws_handler(rooms: DocRooms,
                   access: AccessCheck) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A route handler for ``/docs/{doc_id}/ws`` bound to ``rooms`` and ``access``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return await handle_doc_ws(request, rooms, access)

    return handler

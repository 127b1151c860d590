"""The /ws connection: Origin already checked; auth, reader, one writer task, limits, dispatch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from hub import keys
from hub.api import parse_json
from hub.auth.principal import Principal
from hub.auth.service import WITHDRAWN
from hub.clock import Deadline
from hub.errors import HubError
from hub.settings import SignalingSettings
from signaling.protocol import (
    MAX_ID,
    AuthRequest,
    Command,
    RenewRequest,
    error_message,
    event_message,
    result_message,
)
from signaling.session import Session

if TYPE_CHECKING:
    from signaling.server import SignalingHub

log = logging.getLogger(__name__)


class CloseCode:
    """WebSocket close codes of /ws (also in docs/signaling.md)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY = 1008  # flooding
    TOO_BIG = 1009  # oversized frame
    AUTH_FAILED = 4001  # no valid auth in time, or the token expired (exp + jwt.leeway) without auth.renew
    REVOKED = 4003  # token revoked or person deactivated in the directory (also a refused auth.renew)
    SLOW_CONSUMER = 4009  # did not read its messages


class TokenBucket:
    """A sustained rate with a burst allowance."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class SignalingSocket:
    """Reads requests, dispatches them by type after validation, and writes replies and events in order."""

    def __init__(self, ws: web.WebSocketResponse, hub: SignalingHub, settings: SignalingSettings, peer: str) -> None:
        self.ws = ws
        self.hub = hub
        self.settings = settings
        self.session = Session(hub.app, self, hub.bus, peer)
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(settings.send_queue)
        self._bucket = TokenBucket(settings.rate, settings.burst)
        self._last_id = 0
        self._closing = False
        self._auth_service = hub.app[keys.AUTH]
        self._expiry = Deadline(hub.app[keys.CLOCK], self._expired)

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; a client that stops reading is disconnected rather than slowing anyone else."""
        if self._closing:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("ws %s: send queue full, disconnecting a slow client", self.session.id)
            self.hub.slow_consumers += 1
            self._closing = True
            asyncio.get_running_loop().create_task(self._close_now(CloseCode.SLOW_CONSUMER, "too slow"))

    async def close(self, code: int, reason: str) -> None:
        """Flush what is queued, then close with a code."""
        if self._closing:
            return
        self._closing = True
        self._queue.put_nowait(None)
        await asyncio.sleep(0)
        await self._close_now(code, reason)

    async def revoke(self, reason: str) -> None:
        """The person lost access: say why (`session.revoked`), then close with 4003."""
        self.send(event_message("session.revoked", {"reason": reason}))
        await self.close(CloseCode.REVOKED, reason)

    def _expired(self) -> None:
        assert self.session.principal is not None
        log.info("ws %s: the token of %s expired, closing", self.session.id, self.session.principal.id)
        self.send(event_message("session.expired", {}))
        asyncio.ensure_future(self.close(CloseCode.AUTH_FAILED, "token expired"))

    async def _close_now(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason.encode()[:120])

    async def _writer(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(json.dumps(message, ensure_ascii=False, default=str))
            except (ConnectionResetError, RuntimeError):
                return

    async def run(self, principal: Principal | None) -> None:
        """Serve the connection until it closes; then clean the session up."""
        writer = asyncio.create_task(self._writer(), name=f"ws-writer-{self.session.id}")
        auth_timer: asyncio.TimerHandle | None = None
        try:
            if principal is not None:
                await self._authenticated(principal)
            else:
                auth_timer = asyncio.get_running_loop().call_later(
                    self.settings.auth_timeout,
                    lambda: self.session.principal is None
                    and asyncio.ensure_future(self.close(CloseCode.AUTH_FAILED, "authentication timeout")),
                )
                self.send(event_message("hello", {"authenticated": False, "session": self.session.id}))
            await self._read()
        finally:
            if auth_timer is not None:
                auth_timer.cancel()
            self._expiry.cancel()
            self._closing = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
            # Leaving meetings and calls runs to its end even when this handler is cancelled mid-way (aiohttp
            # cancels handlers of lost connections with handler_cancellation, as its test server does).
            await asyncio.shield(self.hub.clean_up(self._clean_up(writer)))

    async def _clean_up(self, writer: asyncio.Task[None]) -> None:
        await self.hub.forget(self.session)
        await self.session.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(writer, 2)
        writer.cancel()

    async def _authenticated(self, principal: Principal) -> None:
        self.session.principal = principal
        self._expiry.set(self._auth_service.valid_until(principal))
        await self.hub.register(self.session)
        self.send(
            event_message(
                "hello",
                {"authenticated": True, "session": self.session.id, "me": principal.to_dict(),
                 "heartbeat": self.settings.heartbeat},
            )
        )
        log.info("ws %s: %s authenticated from %s", self.session.id, principal.id, self.session.peer)

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY) and not self._bucket.take():
                # every frame counts against the rate, the refused ones too
                log.warning("ws %s: flooding, closing", self.session.id)
                await self.close(CloseCode.POLICY, "message rate limit exceeded")
                return
            if frame.type == WSMsgType.TEXT:
                await self._handle_text(frame.data)
            elif frame.type == WSMsgType.BINARY:
                self.send(error_message(None, "binary_not_supported", "send JSON text frames"))
            elif frame.type == WSMsgType.ERROR:
                log.info("ws %s: connection error %s", self.session.id, self.ws.exception())
                return

    async def _handle_text(self, text: str) -> None:
        try:
            raw = parse_json(text)
        except HubError as exc:
            self.send(error_message(None, exc.code, exc.message))
            return
        if not isinstance(raw, dict):
            self.send(error_message(None, "invalid_message", "a message is a JSON object"))
            return
        request_id = raw.get("id")
        if not isinstance(request_id, int) or isinstance(request_id, bool) or not 1 <= request_id <= MAX_ID:
            # refused before it is remembered: a huge id must not make every later one "reused"
            self.send(error_message(None, "invalid_message", f"id: a positive integer up to {MAX_ID} is required"))
            return
        type_ = raw.get("type")
        command = self.hub.commands.get(type_) if isinstance(type_, str) else None
        if command is None:
            self.send(error_message(request_id, "unknown_type", f"unknown message type {type_!r}"))
            return
        if request_id <= self._last_id:
            self.send(error_message(request_id, "id_reused", f"ids must increase (last was {self._last_id})"))
            return
        self._last_id = request_id
        if self.session.principal is None and not command.public:
            self.send(error_message(request_id, "auth_required", "send an auth message first"))
            return
        try:  # as the REST bodies are read (read_body): JSON types as documented, 0 is no boolean
            request = command.schema.model_validate_json(text, strict=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "message"
            self.send(error_message(request_id, "invalid_message", f"{where}: {first.get('msg')}", field=where))
            return
        await self._dispatch(command, request)

    async def _dispatch(self, command: Command[Any], request: Any) -> None:
        # What happens while a request is handled reaches the tab after its answer, never before: the answer (a
        # meeting's participants, a dialled call) is the state that the events after it change.
        self.session.hold_events()
        try:
            await self._answer(command, request)
        finally:
            self.session.release_events()

    async def _answer(self, command: Command[Any], request: Any) -> None:
        try:
            result: dict[str, Any] | None
            if isinstance(request, AuthRequest):
                result = await self._auth(request)
            elif isinstance(request, RenewRequest):
                result = await self._renew(request)
            else:
                result = await command.handler(self.session, request)
        except HubError as exc:
            log.info("ws %s: %s refused: %s (%s)", self.session.id, command.name, exc.code, exc.message)
            details = {**exc.extra, **({"field": exc.field} if exc.field else {})}
            self.send(error_message(request.id, exc.code, exc.message, **details))
            return
        except Exception:
            log.exception("ws %s: %s failed", self.session.id, command.name)
            self.send(error_message(request.id, "internal_error", "something went wrong on our side"))
            return
        self.send(result_message(request.id, result))

    async def _auth(self, request: AuthRequest) -> dict[str, Any]:
        if self.session.principal is not None:
            raise HubError("already_authenticated", "this connection is authenticated already", 409)
        principal = await self._auth_service.authenticate(request.token, peer=self.session.peer)
        await self._authenticated(principal)
        return principal.to_dict()

    async def _renew(self, request: RenewRequest) -> dict[str, Any]:
        try:
            principal = await self._auth_service.renew(request.token, self.session.person_id, peer=self.session.peer)
        except HubError as refusal:
            if refusal.code in WITHDRAWN:
                # answered first (the refusal is queued before the close), then the socket goes
                self.send(error_message(request.id, refusal.code, refusal.message))
                await self.revoke(refusal.code)
            raise
        self.session.principal = principal
        self._expiry.set(self._auth_service.valid_until(principal))
        return {"expires_at": principal.expires_at}

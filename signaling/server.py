"""/ws: the signaling endpoint, and the hub that knows every open session on this node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub import keys
from hub.auth.changes import AccessChange
from hub.auth.http import optional_principal
from hub.bus.base import Bus
from hub.errors import HubError, Unavailable
from hub.keys import SIGNALING
from hub.logs import request_id
from hub.origin import check_origin
from signaling.protocol import AuthRequest, Command, Commands, PingRequest, RenewRequest, Result
from signaling.session import Session
from signaling.socket import CloseCode, SignalingSocket

log = logging.getLogger(__name__)

core = Commands("core")


@core.command("auth", AuthRequest, "Authenticate the connection with a bearer token", public=True)
async def _auth(session: Session, request: AuthRequest) -> Result:
    # SignalingSocket answers auth itself (it owns the connection state); registered for the schema and docs.
    raise AssertionError("handled by SignalingSocket")


@core.command(
    "auth.renew", RenewRequest,
    "Keep the connection past its token's expiry with a fresh token of the same person (a browser: the "
    "renewal_token of POST /api/v1/auth/session/renew); refused with token_revoked or person_inactive, the "
    "connection then closes with 4003",
)
async def _renew(session: Session, request: RenewRequest) -> Result:
    # Answered by SignalingSocket too: it owns the connection's expiry.
    raise AssertionError("handled by SignalingSocket")


@core.command("ping", PingRequest, "Application-level keepalive; answers an empty result", public=True)
async def _ping(session: Session, request: PingRequest) -> Result:
    return {}


class RevokedEvent(BaseModel):
    reason: str


class ExpiredEvent(BaseModel):
    pass


core.event("session.revoked", RevokedEvent,
           "The person lost access (reason: token_revoked, person_inactive, ...): the socket closes with 4003")
core.event("session.expired", ExpiredEvent,
           "The token expired (exp + jwt.leeway) without an auth.renew: the socket closes with 4001")


class SignalingHub:
    """Every signaling session on this node, by person; re-checks them when the directory or revocations change."""

    def __init__(self, app: web.Application, bus: Bus, registries: list[Commands]) -> None:
        self.app = app
        self.bus = bus
        self.commands: dict[str, Command[Any]] = {}
        for registry in [core, *registries]:
            for name, command in registry.commands.items():
                if name in self.commands:
                    raise ValueError(f"message type {name} registered by two domains")
                self.commands[name] = command
        self.registries = [core, *registries]
        self.sessions: dict[str, Session] = {}
        self.slow_consumers = 0  # sockets closed because their send queue filled up (read by /metrics)
        self._by_person: dict[str, set[str]] = {}
        self._unlisten: Callable[[], None] | None = None
        self._cleanups: set[asyncio.Task[None]] = set()
        self.draining = False
        self._emptied = asyncio.Event()

    async def start(self) -> None:
        """Follow revocations and directory changes (made by this process or any other)."""
        self._unlisten = self.app[keys.ACCESS_CHANGES].listen(self._on_access_change)

    async def stop(self) -> None:
        """Close every session (going away) and stop watching."""
        for session in list(self.sessions.values()):
            await session.disconnect(CloseCode.GOING_AWAY, "server shutting down")
        if self._unlisten is not None:
            self._unlisten()
        # sessions still leaving their meetings and calls finish before the domains below them stop
        await asyncio.gather(*self._cleanups, return_exceptions=True)

    def clean_up(self, cleanup: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a closed session's cleanup as a task of its own, which the hub awaits before it stops."""
        task = asyncio.ensure_future(cleanup)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        return task

    async def drain(self, seconds: float) -> None:
        """Take no new sessions, tell the open ones to move to another node, wait until they have (or time is up)."""
        self.draining = True
        for session in list(self.sessions.values()):
            session.send_event("server.draining", {"reconnect": True})
        if self.sessions:
            self._emptied.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._emptied.wait(), seconds)
        log.info("signaling drained (%d sessions left)", len(self.sessions))

    async def register(self, session: Session) -> None:
        """A session became authenticated."""
        self.sessions[session.id] = session
        self._by_person.setdefault(session.person_id, set()).add(session.id)

    async def forget(self, session: Session) -> None:
        """A session ended."""
        self.sessions.pop(session.id, None)
        if session.principal is not None:
            ids = self._by_person.get(session.person_id, set())
            ids.discard(session.id)
            if not ids:
                self._by_person.pop(session.person_id, None)
        if not self.sessions:
            self._emptied.set()

    def sessions_of(self, person_id: str) -> list[Session]:
        """This node's open sessions of a person."""
        return [self.sessions[sid] for sid in self._by_person.get(person_id, ()) if sid in self.sessions]

    async def _on_access_change(self, change: AccessChange) -> None:
        revoked = set(change.revoked)
        for session in list(self.sessions.values()):
            if session.principal is not None and session.principal.jti in revoked:
                log.info("ws %s: token of %s revoked, closing", session.id, session.person_id)
                await session.revoke("token_revoked")
        auth = self.app[keys.AUTH]
        for person_id in change.people:
            for session in self.sessions_of(person_id):
                assert session.principal is not None
                try:
                    session.principal = await auth.recheck(session.principal)
                except HubError as refusal:
                    log.info("ws %s: %s no longer allowed (%s), closing", session.id, person_id, refusal.code)
                    await session.revoke(refusal.code)


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """Upgrade to the signaling WebSocket: Origin, then a cookie or an `auth` message within the timeout."""
    check_origin(request)
    if request.app[SIGNALING].draining:
        raise Unavailable("node_draining", "this node is shutting down: connect again to reach another node")
    try:
        principal = await optional_principal(request)
    except HubError:
        # A stale cookie is no reason to refuse the socket: the client may still send an auth message.
        principal = None
    settings = request.app[keys.SETTINGS].signaling
    ws = web.WebSocketResponse(heartbeat=settings.heartbeat, max_msg_size=settings.max_frame_bytes)
    ws.headers["X-Request-ID"] = request_id.get()  # the socket's id in every log line about it
    await ws.prepare(request)
    request.app[keys.SOCKETS].add(ws)
    hub = request.app[SIGNALING]
    socket = SignalingSocket(ws, hub, settings, request.remote or "-")
    await socket.run(principal)
    return ws


def setup_signaling(app: web.Application, registries: list[Commands]) -> None:
    """Add /ws and the signaling hub's lifecycle to the app."""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        hub = SignalingHub(app, app[keys.BUS], registries)
        app[SIGNALING] = hub
        await hub.start()
        yield
        await hub.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/ws", websocket_handler)

"""One signed-in tab on /ws: who it is, what it follows on the bus, what to clean up when it goes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.auth.principal import Principal
from hub.bus.base import Bus, Message
from signaling.protocol import event_message

if TYPE_CHECKING:
    from signaling.socket import SignalingSocket

log = logging.getLogger(__name__)

Cleanup = Callable[[], Awaitable[None]]


class Session:
    """The per-user side of a signaling connection: identity, bus subscriptions, rooms, cleanup on close."""

    def __init__(self, app: web.Application, socket: SignalingSocket, bus: Bus, peer: str) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.app = app
        self.peer = peer
        self._socket = socket
        self._bus = bus
        self.principal: Principal | None = None
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._cleanups: list[Cleanup] = []
        # Per-domain state (e.g. the meeting this tab has joined), keyed by the domain's name.
        self.state: dict[str, Any] = {}
        self.closed = False
        # Events queued while a request is handled (or a lobby waiter let in): they go out after its answer.
        self._held: list[dict[str, Any]] = []
        self._holds = 0

    @property
    def person_id(self) -> str:
        """The signed-in person (only valid once authenticated)."""
        assert self.principal is not None, "session not authenticated"
        return self.principal.id

    def send(self, message: dict[str, Any]) -> None:
        """Queue a raw message to this tab."""
        self._socket.send(message)

    def send_event(self, event: str, data: dict[str, Any]) -> None:
        """Push an event to this tab (queued while events are held)."""
        message = event_message(event, data)
        if self._holds:
            self._held.append(message)
        else:
            self._socket.send(message)

    def hold_events(self) -> None:
        """Queue events until `release_events`: a snapshot the tab is sent goes out before what follows it."""
        self._holds += 1

    def release_events(self) -> None:
        """End one hold; when none is left, the queued events go out in the order they came."""
        self._holds -= 1
        if self._holds == 0:
            held, self._held = self._held, []
            for message in held:
                self._socket.send(message)

    async def follow(self, channel: str, on_message: Callable[[Message], Awaitable[None]]) -> None:
        """Call on_message for every bus message of a channel until unfollowed or closed."""
        if channel in self._followers or self.closed:
            return
        subscription = await self._bus.subscribe(channel)

        async def pump() -> None:
            with subscription:
                async for message in subscription:
                    try:
                        await on_message(message)
                    except Exception:
                        log.exception("session %s: handling %s failed", self.id, channel)

        self._followers[channel] = asyncio.create_task(pump(), name=f"follow-{self.id}-{channel}")

    async def unfollow(self, channel: str) -> None:
        """Stop following a channel."""
        task = self._followers.pop(channel, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def on_close(self, cleanup: Cleanup) -> None:
        """Run cleanup when the connection ends, whatever the reason (last registered runs first)."""
        self._cleanups.append(cleanup)

    async def close(self) -> None:
        """Run every cleanup and stop following the bus; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        for cleanup in reversed(self._cleanups):
            try:
                await cleanup()
            except Exception:
                log.exception("session %s: cleanup failed", self.id)
        for channel in list(self._followers):
            await self.unfollow(channel)

    async def disconnect(self, code: int, reason: str) -> None:
        """Close the socket from the server side (revoked, removed, shutting down)."""
        await self._socket.close(code, reason)

    async def revoke(self, reason: str) -> None:
        """The person lost access (token revoked, deactivated): tell the tab why, then close with 4003."""
        await self._socket.revoke(reason)

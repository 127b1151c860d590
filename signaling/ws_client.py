"""A Python client of /ws: connect, authenticate with a token, send requests, wait for events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class SignalingError(Exception):
    """An error reply: the code and message the hub sent."""

    def __init__(self, code: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data or {}


class SignalingClient:
    """One /ws connection: `await client.request("meeting.join", meeting_id=...)`, `await client.event("x")`."""

    def __init__(
        self, url: str, *, token: str | None = None, headers: dict[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.headers = headers or {}
        self._own_session = session is None
        self._http = session
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.hello: dict[str, Any] = {}
        self.close_code: int | None = None
        self.closed = asyncio.Event()

    async def connect(self) -> dict[str, Any]:
        """Open the socket and authenticate (if a token was given); returns the `me` of the hello event."""
        if self._http is None:
            self._http = aiohttp.ClientSession()
        self.ws = await self._http.ws_connect(self.url, headers=self.headers, heartbeat=None)
        self._reader = asyncio.create_task(self._read(), name="signaling-client-reader")
        self.hello = await self.event("hello")
        if not self.hello.get("authenticated") and self.token:
            await self.request("auth", token=self.token)
            self.hello = await self.event("hello")
        return self.hello

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                if message.get("type") == "result":
                    future = self._pending.pop(message.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(message)
                    elif message.get("id") is None:
                        await self.events.put({"event": "error", "data": message["error"]})
                    else:
                        # A reply to a frame sent with send_raw: visible to whoever waits for it.
                        await self.events.put({"event": "raw_result", "data": message})
                elif message.get("type") == "event":
                    await self.events.put({"event": message["event"], "data": message.get("data", {})})
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"signaling closed ({self.close_code})"))

    async def send_raw(self, data: str | bytes) -> None:
        """Send a frame as is (tests of bad input)."""
        assert self.ws is not None
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)

    async def request(self, type_: str, *, within: float = 15, **fields: Any) -> dict[str, Any]:
        """Send a request and wait for its result; raises SignalingError on an error reply."""
        if self.ws is None:
            raise ConnectionError("signaling is not connected")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self.ws.send_str(json.dumps({"id": request_id, "type": type_, **fields}))
        reply = await asyncio.wait_for(future, within)
        if not reply["success"]:
            error = reply["error"]
            raise SignalingError(error["code"], error["message"], error)
        return dict(reply["result"])

    async def event(self, name: str | None = None, *, within: float = 10) -> dict[str, Any]:
        """The data of the next event (of that name, skipping others)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            item = await asyncio.wait_for(self.events.get(), max(remaining, 0.001))
            if name is None or item["event"] == name:
                return dict(item["data"])

    async def close(self) -> None:
        """Close the socket (and the HTTP session if this client made it)."""
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._own_session and self._http is not None:
            await self._http.close()
        self.closed.set()  # also when it never connected (a reconnect that failed)

"""Helpers for tests that watch a hub close a WebSocket."""

from __future__ import annotations

import asyncio

import aiohttp


async def close_code(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> int | None:
    """The code the server closes with, reading whatever comes before; None when still open after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await ws.receive()
                # the code the server sent, not the client's own (1006 when the server had gone before it replied)
                if message.type == aiohttp.WSMsgType.CLOSE:
                    return int(message.data)
                if message.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                    return ws.close_code
    except TimeoutError:
        return None

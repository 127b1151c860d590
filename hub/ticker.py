"""A background pass repeated every so many seconds of real time: started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

# How long stop() lets a pass in flight finish before cancelling it.
STOP_GRACE = 10.0


class Ticker:
    """Runs `work` at once and then every `interval` seconds until stopped; a failed pass is logged, not fatal.

    Stopping waits for a pass in flight to finish (up to STOP_GRACE seconds) instead of cancelling it half-way:
    a database call cancelled while its connection is being opened can leave that connection behind."""

    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[Any]]) -> None:
        self.name = name
        self.interval = interval
        self.work = work
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE)
        except TimeoutError:
            log.warning("%s: the pass in flight did not finish within %.0f s, cancelled", self.name, STOP_GRACE)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.work()
            except Exception:  # noqa: BLE001 - one failed pass must not end the work for good
                log.exception("%s: a pass failed", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

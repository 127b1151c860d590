"""A background pass repeated every so many seconds of real time: started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class Ticker:
    """Runs `work` at once and then every `interval` seconds until stopped; a failed pass is logged, not fatal."""

    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[Any]]) -> None:
        self.name = name
        self.interval = interval
        self.work = work
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.work()
            except Exception:  # noqa: BLE001 - one failed pass must not end the work for good
                log.exception("%s: a pass failed", self.name)
            await asyncio.sleep(self.interval)

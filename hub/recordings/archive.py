"""Archive jobs: a recording's per-track files composed into one file, in a worker process.

Composing decodes every track and encodes the layout: a core's work for a while, which must not slow the meetings
this node serves. So each job is its own process (`python -m hub.recordings.compose`), at a lower priority, a few
at a time (`recordings.archive_workers`); the serving process only reads its progress lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hub.recordings import journal

log = logging.getLogger(__name__)

# Seconds between two progress reports a job passes on (each one is a database write).
PROGRESS_EVERY = 2.0
# The worker's scheduling priority (nice): live media first.
NICENESS = 10


class ArchiveFailed(Exception):
    """The worker could not make the archive; the message says why (the worker's own last line)."""


class ArchiveJobs:
    """This node's archive jobs, `workers` at a time."""

    def __init__(self, workers: int, *, width: int, height: int, fps: int) -> None:
        self._slots = asyncio.Semaphore(workers)
        self._size = (width, height, fps)
        self._running: set[asyncio.subprocess.Process] = set()

    async def compose(self, where: Path, manifest: dict[str, Any],
                      on_progress: Callable[[float], Awaitable[None]]) -> int:
        """Compose the archive of the recording kept in `where`; its size in bytes. Raises ArchiveFailed."""
        async with self._slots:
            manifest_file = where / journal.MANIFEST
            await asyncio.to_thread(manifest_file.write_text, json.dumps(manifest, ensure_ascii=False), "utf-8")
            width, height, fps = self._size
            command = [sys.executable, "-m", "hub.recordings.compose", str(manifest_file), str(where / journal.ARCHIVE),
                       "--width", str(width), "--height", str(height), "--fps", str(fps)]
            if shutil.which("nice"):
                command = ["nice", "-n", str(NICENESS), *command]
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            self._running.add(process)
            try:
                errors = asyncio.ensure_future(_tail(process.stderr))
                await _follow(process.stdout, on_progress)
                code = await process.wait()
                reason = await errors
            finally:
                self._running.discard(process)
            if code != 0:
                raise ArchiveFailed(reason or f"the archive worker exited with {code}")
            return (where / journal.ARCHIVE).stat().st_size

    async def stop(self) -> None:
        """End every job under way (they are tried again: the recording still says it is being composed)."""
        for process in list(self._running):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def _follow(stream: asyncio.StreamReader | None, on_progress: Callable[[float], Awaitable[None]]) -> None:
    assert stream is not None
    loop = asyncio.get_running_loop()
    told = 0.0
    while line := await stream.readline():
        word, _, value = line.decode("utf-8", "replace").strip().partition(" ")
        if word == "progress" and loop.time() - told >= PROGRESS_EVERY:
            with contextlib.suppress(ValueError):
                await on_progress(min(1.0, max(0.0, float(value))))
                told = loop.time()


async def _tail(stream: asyncio.StreamReader | None) -> str:
    assert stream is not None
    last = ""
    while line := await stream.readline():
        text = line.decode("utf-8", "replace").strip()
        if text:
            last = text
            log.debug("archive worker: %s", text)
    return last[-400:]

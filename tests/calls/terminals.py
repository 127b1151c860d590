"""Helpers to drive office terminals in tests: in-process PhoneTerminals and `cityhub phone` subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shlex
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub.calls.model import Call, CallState
from hub.calls.service import CallService
from signaling.phone_client import PhoneTerminal

ROOT = Path(__file__).resolve().parents[2]

Line = tuple[str, dict[str, str]]


def parse_line(line: str) -> Line:
    """`event key=value ...` -> (event, fields)."""
    words = shlex.split(line)
    fields = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    return words[0], fields


class LineSink(io.TextIOBase):
    """A text stream that queues each printed line, parsed."""

    def __init__(self) -> None:
        self.lines: asyncio.Queue[Line] = asyncio.Queue()
        self.seen: list[Line] = []
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if line.strip():
                parsed = parse_line(line)
                self.seen.append(parsed)
                self.lines.put_nowait(parsed)
        return len(text)


async def next_line(lines: asyncio.Queue[Line], event: str, within: float = 20, **match: str) -> dict[str, str]:
    """The fields of the next line of that event (whose fields match), skipping others."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        name, fields = await asyncio.wait_for(lines.get(), max(remaining, 0.01))
        if name == event and all(fields.get(k) == v for k, v in match.items()):
            return fields


async def media_flowing(lines: asyncio.Queue[Line], within: float = 30) -> dict[str, str]:
    """The first media report with decoded video and audio frames."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        fields = await next_line(lines, "media", within=max(deadline - asyncio.get_running_loop().time(), 0.01))
        if int(fields["video_frames"]) > 0 and int(fields["audio_frames"]) > 0:
            return fields


class InProcessTerminal:
    """A PhoneTerminal running as a task, with its printed lines in a queue."""

    def __init__(self, url: str, token: str, **options: object) -> None:
        self.sink = LineSink()
        self.terminal = PhoneTerminal(url, token, out=self.sink, **options)  # type: ignore[arg-type]
        self.task: asyncio.Task[int] | None = None

    async def start(self) -> InProcessTerminal:
        self.task = asyncio.create_task(self.terminal.run())
        await next_line(self.sink.lines, "ready")
        return self

    async def stop(self) -> int:
        self.terminal.stop()
        assert self.task is not None
        return await asyncio.wait_for(self.task, 15)


class CliTerminal:
    """`python -m hub phone ...` as a subprocess, its stdout lines in a queue."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.lines: asyncio.Queue[Line] = asyncio.Queue()
        self.seen: list[Line] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, wait_ready: bool = True) -> CliTerminal:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "phone", *self.args, cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        if wait_ready:
            await next_line(self.lines, "ready", within=30)
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode().strip()
            if line:
                parsed = parse_line(line)
                self.seen.append(parsed)
                await self.lines.put(parsed)

    async def interrupt(self) -> int:
        """Ctrl-C, then the exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(2)
        return await self.wait()

    async def wait(self, within: float = 20) -> int:
        assert self.process is not None
        try:
            code = await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code

    async def stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        return (await self.process.stderr.read()).decode()


@contextlib.contextmanager
def answer_before_the_dial_reply(service: CallService) -> Iterator[None]:
    """The hub replies to call.dial only after the call was answered and its events had time to go out.

    This is the order a caller sees when the callee's terminal answers at once, or when the answer comes
    through another node: the caller's client must not drop the events of a call whose id it does not know yet.
    """
    answered: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
    dial, answer = service.dial, service.answer

    async def answer_first(*args: Any, **kwargs: Any) -> Call:
        call = await answer(*args, **kwargs)
        answered[call.id].set()
        return call

    async def dial_later(*args: Any, **kwargs: Any) -> Call:
        call = await dial(*args, **kwargs)
        if call.state is CallState.RINGING:
            await asyncio.wait_for(answered[call.id].wait(), 20)
            await asyncio.sleep(0.3)
        return call

    service.answer = answer_first  # type: ignore[method-assign]
    service.dial = dial_later  # type: ignore[method-assign]
    try:
        yield
    finally:
        delattr(service, "answer")
        delattr(service, "dial")

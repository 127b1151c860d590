"""The conference benchmark's venue processes (bench/conference.py): each runs light venues
(signaling/light_venue.py) as its driver asks, one JSON line each way on stdin/stdout: join, report, switch
delays, stop. `ClientProcess` is the driver's end of one such process.

    python -m bench.conference_venues --url ws://... --meeting ID   (started by bench/conference.py)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from typing import Any

from bench.hub import BenchHub, timed_join
from signaling.light_venue import LightMedia, VenueClient
from signaling.venue_clip import load_clip

JOIN_DEADLINE = 120.0  # seconds for a venue to join and receive its first video


async def clients_main(args: argparse.Namespace) -> None:
    """Run venues as the driver asks (join, report, switch delays, stop), one JSON line each way."""
    clip = load_clip(args.width, args.height, args.fps, args.bitrate)
    venues: dict[int, VenueClient] = {}
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()

    def reply(request_id: int, result: Any) -> None:
        sys.stdout.write(json.dumps({"id": request_id, "result": result}) + "\n")
        sys.stdout.flush()

    async def join(index: int, token: str, level: int, muted: bool, wait_video: bool) -> dict[str, Any]:
        venue = VenueClient(args.url, token, args.meeting, LightMedia(f"venue{index}", clip, level=level))
        venue.media.muted = muted
        venues[index] = venue
        start, phases = await timed_join(venue)
        if muted:
            await venue.request("media.state", audio=False)
        first = None
        if wait_video:
            await venue.wait(lambda: venue.media.first_video_at() is not None, within=JOIN_DEADLINE,
                             what="a first video")
            first = venue.media.first_video_at()
        return {"participant_id": venue.participant_id, **phases,
                "first_frame": None if first is None else first - start}

    async def handle(message: dict[str, Any]) -> None:
        try:
            await answer(message)
        except Exception as exc:  # noqa: BLE001 - the driver reports it and stops the run
            sys.stdout.write(json.dumps({"id": message["id"], "error": f"{type(exc).__name__}: {exc}"}) + "\n")
            sys.stdout.flush()

    async def answer(message: dict[str, Any]) -> None:
        command = message["cmd"]
        if command == "join":
            results = {}
            for index, token, level, muted, wait_video in message["venues"]:
                results[index] = await join(index, token, level, muted, wait_video)
            reply(message["id"], results)
        elif command == "report":
            reply(message["id"], {i: {**v.media.snapshot(), "events": Counter(e["event"] for e in v.events)}
                                  for i, v in venues.items()})
        elif command == "switch":
            who, at = message["participant"], message["at"]
            reply(message["id"], {i: [v.switch_delay(who, at), v.slots_delay(who, at)]
                                  for i, v in venues.items() if v.participant_id != who})

    while line := await reader.readline():
        message = json.loads(line)
        if message["cmd"] == "stop":
            break
        task = asyncio.ensure_future(handle(message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*(v.close() for v in venues.values()), return_exceptions=True)


class ClientProcess:
    """One client process, asked by request and answered by id."""

    def __init__(self, child: asyncio.subprocess.Process) -> None:
        self.child = child
        self._ids = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, hub: BenchHub, meeting_id: str, args: argparse.Namespace) -> ClientProcess:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.conference_venues", "--url", hub.ws_url, "--meeting", meeting_id,
            "--width", str(args.width), "--height", str(args.height), "--fps", str(args.fps),
            "--bitrate", str(args.bitrate),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 24)
        return cls(child)

    async def _read(self) -> None:
        assert self.child.stdout is not None
        while line := await self.child.stdout.readline():
            message = json.loads(line)
            future = self._pending.pop(message["id"], None)
            if future is None or future.done():
                continue
            if "error" in message:
                future.set_exception(RuntimeError(f"a client process failed: {message['error']}"))
            else:
                future.set_result(message["result"])
        for future in self._pending.values():
            future.set_exception(RuntimeError("a client process ended early"))

    async def request(self, command: str, within: float = 600, **fields: Any) -> Any:
        """Send a command and wait for its answer."""
        assert self.child.stdin is not None
        self._ids += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = future
        self.child.stdin.write(json.dumps({"id": self._ids, "cmd": command, **fields}).encode() + b"\n")
        await self.child.stdin.drain()
        return await asyncio.wait_for(future, within)

    async def stop(self) -> None:
        """Close the venues and end the process."""
        if self.child.returncode is None and self.child.stdin is not None:
            self.child.stdin.write(b'{"cmd": "stop"}\n')
            try:
                await self.child.stdin.drain()
                await asyncio.wait_for(self.child.wait(), 30)
            except (ConnectionError, TimeoutError):
                self.child.kill()
                await self.child.wait()
        self._reader.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--meeting", required=True)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--bitrate", type=int, default=600_000)
    asyncio.run(clients_main(parser.parse_args()))


if __name__ == "__main__":
    main()

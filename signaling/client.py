"""CityHub's Python meeting client: joins a meeting over /ws with a token, publishes, subscribes, counts frames.

Signaling is signaling.ws_client.SignalingClient; media is signaling.media_client.MediaClient (synthetic or
file-backed tracks, decoded-frame counters). Tests, benchmarks and `cityhub bot join` use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from signaling.media_client import MediaClient
from signaling.ws_client import SignalingClient, SignalingError

log = logging.getLogger(__name__)


class Media(Protocol):
    """The media half a MeetingClient drives: MediaClient (aiortc, decoding) or LightMedia (light_venue.py)."""

    name: str

    @property
    def closed(self) -> bool: ...

    async def create_offer(self) -> str: ...

    def sources(self) -> dict[str, str]: ...

    async def handle_answer(self, sdp: str) -> None: ...

    async def handle_offer(self, sdp: str) -> str: ...

    def pause(self, source: str, paused: bool) -> bool: ...

    def frames(self, kind: str | None = None) -> dict[str, int]: ...

    async def close(self) -> None: ...


M = TypeVar("M", bound=Media)


class MeetingClient(Generic[M]):
    """One participant: `await client.join()`, then `client.media.frames()` grows as media is decoded."""

    def __init__(self, url: str, token: str, meeting_id: str, media: M,
                 *, headers: dict[str, str] | None = None,
                 rejoin_with: Callable[[], M] | None = None) -> None:
        self.meeting_id = meeting_id
        # When set: after losing its media (meeting.left media_*, e.g. the node holding the meeting's media died),
        # join again with fresh media from this factory; the hub places the meeting again if needed.
        self.rejoin_with = rejoin_with
        self.rejoins = 0
        self.signaling = SignalingClient(url, token=token, headers=headers)
        self.media = media
        self.participant_id: str | None = None
        self.joined: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.participants: dict[str, dict[str, Any]] = {}
        self.tracks: dict[str, dict[str, Any]] = {}
        # receive slots (meetings.last_n > 0): slot id (the msid of its m-line) -> the track it carries, or None
        self.slots: dict[str, dict[str, Any] | None] = {}
        # who everybody sees: the chair's roll call and the main venue ({"spotlight": ..., "main": ...}, or None)
        self.stage: dict[str, Any] = {"spotlight": None, "main": None}
        self.status = "new"
        self.connected_at: float | None = None
        self._changed = asyncio.Condition()
        # held by a join until its result is applied: the events after the result are applied after it
        self._in_order = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def connect(self) -> None:
        """Open and authenticate the WebSocket."""
        self.connected_at = time.monotonic()
        await self.signaling.connect()
        self._pump = asyncio.create_task(self._events(), name=f"meeting-client-{self.media.name}")

    async def join(self, *, negotiate: bool = True) -> dict[str, Any]:
        """Join; when admitted at once, publish and subscribe. Result status `joined` or `lobby`."""
        if self._pump is None:
            await self.connect()
        async with self._in_order:
            result = await self.signaling.request("meeting.join", meeting_id=self.meeting_id)
            await self._entered(result)
        if result["status"] == "joined" and negotiate:
            await self.negotiate()
        return result

    async def _entered(self, result: dict[str, Any]) -> None:
        self.status = result["status"]
        self.participant_id = result.get("participant_id")
        if result["status"] == "joined":
            self.joined = result
            self.participants = {p["participant_id"]: p for p in result.get("participants", [])}
            self.tracks = {t["track_id"]: t for t in result.get("tracks", [])}
            self.stage = {"spotlight": None, "main": None, **(result.get("stage") or {})}
        await self._notify()

    async def negotiate(self) -> None:
        """Send our offer (published tracks) and apply the SFU's answer."""
        offer = await self.media.create_offer()
        reply = await self.signaling.request(
            "sdp.offer", meeting_id=self.meeting_id, sdp=offer, sources=self.media.sources()
        )
        await self.media.handle_answer(reply["sdp"])

    async def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        """A meeting request (meeting_id added)."""
        return await self.signaling.request(type_, meeting_id=self.meeting_id, **fields)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _events(self) -> None:
        while True:
            item = await self.signaling.events.get()
            name, data = item["event"], item["data"]
            self.events.append(item)
            async with self._in_order:
                try:
                    await self._apply(name, data)
                except Exception:
                    log.exception("%s: handling %s failed", self.media.name, name)
            await self._notify()

    async def _apply(self, name: str, data: dict[str, Any]) -> None:
        if name == "sdp.offer":
            self._spawn(self._answer(data["sdp"]))
        elif name in ("participant.joined", "participant.updated"):
            self.participants[data["participant"]["participant_id"]] = data["participant"]
        elif name == "participant.left":
            self.participants.pop(data["participant_id"], None)
        elif name == "track.published":
            self.tracks[data["track"]["track_id"]] = data["track"]
        elif name == "track.unpublished":
            self.tracks.pop(data["track"]["track_id"], None)
        elif name == "media.slots":
            self.slots = {slot["slot_id"]: slot["track"] for slot in data["slots"]}
        elif name == "stage.changed":
            self.stage = {**self.stage, "spotlight": data.get("spotlight")}
        elif name == "stage.main":
            self.stage = {**self.stage, "main": data.get("main")}
        elif name == "media.pause":
            self.media.pause(str(data["track"]["source"]), bool(data["paused"]))
        elif name == "lobby.admitted":
            await self._entered(data)
            self._spawn(self.negotiate())
        elif name in ("lobby.denied", "meeting.removed", "meeting.ended", "meeting.left"):
            self.status = name
            if name == "meeting.left" and str(data.get("reason", "")).startswith("media_") and self.rejoin_with:
                self._spawn(self._rejoin(self.rejoin_with))

    async def _rejoin(self, media: Callable[[], M]) -> None:
        await self.media.close()
        self.media = media()
        self.participants, self.tracks, self.slots = {}, {}, {}
        try:
            await self.join()
        except (SignalingError, ConnectionError) as exc:
            log.warning("%s: joining again failed: %s", self.media.name, exc)
            return
        self.rejoins += 1
        await self._notify()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, sdp: str) -> None:
        if self.media.closed:
            return
        answer = await self.media.handle_offer(sdp)
        try:
            await self.signaling.request("sdp.answer", meeting_id=self.meeting_id, sdp=answer)
        except (SignalingError, ConnectionError) as exc:
            log.info("%s: answer refused: %s", self.media.name, exc)

    async def wait(self, predicate: Callable[[], bool], within: float = 15.0, what: str = "condition") -> None:
        """Until predicate() holds (re-checked on every event and every 50 ms)."""
        deadline = time.monotonic() + within
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.media.name}: timed out waiting for {what}")
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    def event_names(self) -> list[str]:
        """Names of the events received so far."""
        return [e["event"] for e in self.events]

    def decoded(self, kind: str | None = None) -> dict[str, int]:
        """Decoded frames per published track received (through a receive slot: the slot's frames so far)."""
        frames = self.media.frames(kind)
        if not self.slots:
            return frames
        return {track["track_id"]: frames[slot] for slot, track in self.slots.items()
                if track is not None and slot in frames}

    def slot_of(self, participant_id: str, kind: str = "video") -> str | None:
        """The receive slot that carries a participant's track of this kind now, if any."""
        return next((slot for slot, track in self.slots.items() if track is not None
                     and track["participant_id"] == participant_id and track["kind"] == kind), None)

    def publishers(self) -> set[str]:
        """Participant ids whose tracks this client decodes frames of."""
        return {self.tracks[t]["participant_id"] for t, n in self.decoded().items() if n > 0 and t in self.tracks}

    async def close(self) -> None:
        """Leave: close media, then the socket."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.media.close()
        await self.signaling.close()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump


async def run_bot(url: str, token: str, meeting_id: str, *, seconds: float | None, media_file: str | None,
                  name: str = "bot", report: Callable[[str], None] = print) -> int:
    """`cityhub bot join`: join, publish, and report decoded frames every few seconds until stopped."""
    client = MeetingClient(url, token, meeting_id, MediaClient(name, media_file=media_file))
    try:
        result = await client.join()
        if result["status"] == "lobby":
            report("waiting in the lobby for the chair to let us in")
            await client.wait(lambda: client.status != "lobby", within=3600, what="admission")
        if client.status != "joined":
            report(f"not in the meeting: {client.status}")
            return 1
        report(f"joined meeting {meeting_id} as {client.participant_id}")
        started = time.monotonic()
        while seconds is None or time.monotonic() - started < seconds:
            await asyncio.sleep(min(5.0, seconds or 5.0))
            frames = client.decoded()
            report(f"{len(client.participants)} participants, decoding {len(frames)} tracks, "
                   f"{sum(frames.values())} frames")
            if client.status != "joined":
                report(f"out of the meeting: {client.status}")
                return 1
        return 0
    except SignalingError as refusal:
        report(f"refused: {refusal.code}: {refusal.message}")
        return 2
    finally:
        await client.close()

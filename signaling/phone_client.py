"""`cityhub phone`: a district office's video phone as a headless client of /ws, media on aiortc.

It registers as a terminal, prints every call event as one line on stdout (`event key=value ...`), answers
by itself with --auto-answer (or on `answer` typed on stdin), dials with --dial, sends a test pattern or a
file, reconnects (and resumes its call) when the socket drops, and on Ctrl-C (or SIGTERM) hangs up the call
it is in before it exits.

Targets for --dial (and `dial` on stdin): digits are an extension, `unit:ID` a duty line, anything else a
person id (`person:ID` also works).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import signal
import sys
import threading
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from signaling.client import MeetingClient
from signaling.media_client import MediaClient
from signaling.phone_media import TEST_PATTERN, CallMedia
from signaling.ws_client import SignalingClient, SignalingError

log = logging.getLogger(__name__)

MEDIA_REPORT_SECONDS = 2.0
RECONNECT_MIN_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 15.0


def ws_url(hub_url: str) -> str:
    """The /ws URL of a hub URL (http -> ws, https -> wss)."""
    parts = urlsplit(hub_url if "://" in hub_url else f"http://{hub_url}")
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(f"not a hub URL: {hub_url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


def parse_target(target: str) -> dict[str, Any]:
    """A dial target as call.dial fields."""
    target = target.strip()
    kind, sep, value = target.partition(":")
    if sep and kind in ("unit", "person", "extension", "ext"):
        return {"extension" if kind == "ext" else kind: value}
    if target.isdigit():
        return {"extension": target}
    return {"person": target}


class PhoneTerminal:
    """One office terminal: a /ws connection registered as a phone device, and at most one call at a time."""

    def __init__(
        self, url: str, token: str, *, auto_answer: bool = False, video: str = TEST_PATTERN,
        dial: str | None = None, label: str = "terminal", out: TextIO | None = None,
    ) -> None:
        self.url = ws_url(url)
        self.token = token
        self.client = SignalingClient(self.url, token=token)
        self.auto_answer = auto_answer
        self.video = video
        self.dial_target = dial
        self.label = label
        self.out = out or sys.stdout
        self.call_id: str | None = None
        self.ringing: dict[str, dict[str, Any]] = {}
        self.media: CallMedia | None = None
        self.ice_servers: list[dict[str, Any]] = []
        # After a call became a meeting (or we were invited to one): our participant in it, on the SFU.
        self.meeting: MeetingClient | None = None
        self.invite: str | None = None
        self._stopping = asyncio.Event()
        # Set while no call.dial awaits its reply: events of our own call can overtake that reply (the callee's
        # terminal answers at once, or the event comes through another node), so they wait until we know its id.
        self._dial_settled = asyncio.Event()
        self._dial_settled.set()
        self._reporter: asyncio.Task[None] | None = None
        self.exit_code = 0

    def emit(self, event: str, **fields: Any) -> None:
        """One event line: `event key=value ...` (values quoted when needed)."""
        parts = [event] + [f"{k}={shlex.quote(str(v))}" for k, v in fields.items() if v is not None]
        print(" ".join(parts), file=self.out, flush=True)

    def stop(self) -> None:
        """Ask the terminal to hang up and exit (signal handlers call this)."""
        self._stopping.set()

    async def run(self) -> int:
        """Connect, register, dial if asked, handle events until stopped (or the dialled call ends)."""
        problem = await self._connect()
        if problem is not None:
            self.emit("error", code=problem.code, message=problem.message)
            return 2
        try:
            if self.dial_target:
                if not await self.dial(self.dial_target):
                    return self.exit_code
            await self._loop()
        except SignalingError as exc:
            self.emit("error", code=exc.code, message=exc.message)
            self.exit_code = 1
        finally:
            await self._shutdown()
        return self.exit_code

    async def _connect(self) -> SignalingError | None:
        """A new socket, authenticated and registered as this terminal; the refusal when that failed."""
        self.client = SignalingClient(self.url, token=self.token)
        try:
            hello = await self.client.connect()
            if not hello.get("authenticated"):
                raise SignalingError("not_authenticated", "the hub did not accept the token")
            registered = await self.client.request("call.register", device="terminal", label=self.label)
        except SignalingError as exc:
            await self.client.close()
            return exc
        except (TimeoutError, OSError, aiohttp.ClientError, ConnectionError) as exc:
            await self.client.close()
            return SignalingError("connect_failed", str(exc) or exc.__class__.__name__)
        me = hello["me"]["person"]
        self.emit("ready", person=me["id"], name=me["name"], device=registered["device_id"],
                  missed=registered["missed"])
        return None

    async def _reconnect(self) -> bool:
        """After the socket dropped (network, a node draining): connect again with backoff, resume the call."""
        delay = RECONNECT_MIN_SECONDS
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return False
            problem = await self._connect()
            if problem is None:
                break
            if problem.code != "connect_failed" and not problem.code.startswith(("node_", "bus_")):
                self.emit("error", code=problem.code, message=problem.message)
                return False
            self.emit("reconnecting", retry_in=f"{min(delay * 2, RECONNECT_MAX_SECONDS):.1f}")
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)
        else:
            return False
        for call_id in list(self.ringing):
            self.ringing.pop(call_id)
            self.emit("stopped", call=call_id, reason="disconnected")
        if self.call_id is not None:
            call_id = self.call_id
            if self.media is None:
                # it was still ringing: the hub cancelled it when the socket went
                await self._call_over(call_id, "cancelled", None)
            else:
                try:
                    await self.client.request("call.resume", call_id=call_id)
                    self.emit("resumed", call=call_id)
                except SignalingError as exc:
                    await self._call_over(call_id, exc.data.get("outcome", "ended"), None)
        return True

    async def _loop(self) -> None:
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                next_event = asyncio.ensure_future(self.client.events.get())
                closed = asyncio.ensure_future(self.client.closed.wait())
                done, _ = await asyncio.wait({next_event, closed, stop}, return_when=asyncio.FIRST_COMPLETED)
                if next_event in done:
                    closed.cancel()
                    item = next_event.result()
                    await self._dial_settled.wait()
                    try:
                        await self._handle(item["event"], item.get("data", {}))
                    except SignalingError as exc:
                        self.emit("error", code=exc.code, message=exc.message)
                    continue
                next_event.cancel()
                closed.cancel()
                if closed in done and not self._stopping.is_set():
                    self.emit("disconnected", code=self.client.close_code)
                    await self.client.close()
                    if not await self._reconnect():
                        self.exit_code = self.exit_code or 3
                        return
        finally:
            stop.cancel()

    async def dial(self, target: str) -> bool:
        """Place a call; False when it could not ring (busy, unavailable, refused)."""
        self._dial_settled.clear()
        try:
            return await self._dial(target)
        finally:
            self._dial_settled.set()

    async def _dial(self, target: str) -> bool:
        try:
            placed = await self.client.request("call.dial", **parse_target(target))
        except (SignalingError, TimeoutError, ConnectionError) as exc:
            # The socket may go (its node died) before the hub answers: whether it rang is unknown then.
            failed = exc if isinstance(exc, SignalingError) else SignalingError("not_connected", str(exc) or "timeout")
            self.emit("error", code=failed.code, message=failed.message)
            self.exit_code = 1
            return False
        call = placed["call"]
        if call["state"] == "ended":
            self.emit("ended", call=call["id"], outcome=call["outcome"])
            self.exit_code = 1
            return False
        self.call_id = call["id"]
        self.ice_servers = placed["ice_servers"]
        self.emit("dialling", call=call["id"], target=target)
        return True

    async def answer(self, call_id: str) -> None:
        """Answer a ringing call."""
        answered = await self.client.request("call.answer", call_id=call_id)
        self.ringing.pop(call_id, None)
        self.call_id = call_id
        self.media = CallMedia(answered["ice_servers"], self.video)
        self.emit("answered", call=call_id)
        self._start_reports()

    async def hangup(self) -> None:
        """End (or cancel) the current call."""
        if self.call_id is None:
            return
        call_id = self.call_id
        with contextlib.suppress(SignalingError, ConnectionError, asyncio.TimeoutError):
            await self.client.request("call.hangup", call_id=call_id, within=5)
        await self._call_over(call_id, "hangup", None)

    async def command(self, line: str) -> None:
        """A line typed on stdin: answer, decline, hangup, dial TARGET, meeting PERSON, join, leave, quit."""
        try:
            await self._command(line)
        except (TimeoutError, SignalingError, ConnectionError) as exc:
            code = exc.code if isinstance(exc, SignalingError) else "not_connected"
            self.emit("error", code=code, message=str(exc))

    async def _command(self, line: str) -> None:
        words = line.split()
        if not words:
            return
        verb, args = words[0].lower(), words[1:]
        if verb == "answer" and self.ringing:
            await self.answer(next(iter(self.ringing)))
        elif verb == "decline" and self.ringing:
            call_id = next(iter(self.ringing))
            self.ringing.pop(call_id)
            await self.client.request("call.decline", call_id=call_id)
        elif verb in ("hangup", "cancel"):
            await self.hangup()
        elif verb == "meeting" and args and self.call_id is not None:
            await self.client.request("call.to_meeting", call_id=self.call_id, person=args[0])
        elif verb == "join" and self.invite is not None:
            await self.join_meeting(self.invite)
        elif verb == "leave" and self.meeting is not None:
            await self.leave_meeting("left")
        elif verb == "dial" and args and self.call_id is None:
            await self.dial(args[0])
        elif verb in ("quit", "exit"):
            self.stop()
        else:
            self.emit("error", code="unknown_command", message=line.strip()[:80])

    async def _handle(self, event: str, data: dict[str, Any]) -> None:
        if event == "call.incoming":
            call, caller = data["call"], data["caller"]
            self.ringing[call["id"]] = call
            duty = data.get("duty_line") or {}
            self.emit("ringing", call=call["id"], caller=caller["id"], name=caller["name"], unit=caller["unit_name"],
                      duty_line=duty.get("name"))
            if self.auto_answer and self.call_id is None:
                await self.answer(call["id"])
        elif event == "call.ringing_stopped":
            self.ringing.pop(data["call_id"], None)
            self.emit("stopped", call=data["call_id"], reason=data["reason"])
        elif event == "call.answered" and data["call"]["id"] == self.call_id:
            self.media = CallMedia(self.ice_servers, self.video)
            self.emit("answered", call=self.call_id, by=data["call"]["answered_by"])
            offer = await self.media.offer()
            await self.client.request("call.signal", call_id=self.call_id, description=offer)
            self._start_reports()
        elif event == "call.signal" and data["call_id"] == self.call_id and self.media is not None:
            if data.get("description"):
                reply = await self.media.accept(data["description"])
                if reply is not None:
                    await self.client.request("call.signal", call_id=self.call_id, description=reply)
            elif data.get("candidate"):
                await self.media.add_candidate(data["candidate"])
        elif event == "call.ended":
            call = data["call"]
            await self._call_over(call["id"], call["outcome"], call.get("duration"))
            if call["outcome"] == "meeting" and call.get("meeting_id"):
                await self.join_meeting(call["meeting_id"])
        elif event == "call.meeting_invite":
            self.invite = data["meeting_id"]
            self.emit("invited", meeting=data["meeting_id"], by=data["by"]["name"], title=data["title"])
            if self.auto_answer and self.call_id is None and self.meeting is None:
                await self.join_meeting(data["meeting_id"])
        elif event == "call.missed":
            self.emit("missed", count=data["count"])
        elif event == "server.draining":
            # this node is going away: reconnect (to another node) now; an answered call is resumed there
            await self.client.close()

    async def _call_over(self, call_id: str, outcome: str, duration: float | None) -> None:
        if call_id != self.call_id:
            return
        media, self.media, self.call_id = self.media, None, None
        if self._reporter is not None:
            self._reporter.cancel()
            self._reporter = None
        video = media.frames("video") if media else 0
        audio = media.frames("audio") if media else 0
        if media is not None:
            await media.close()
        self.emit("ended", call=call_id, outcome=outcome,
                  duration=f"{duration:.1f}" if duration is not None else None, video_frames=video,
                  audio_frames=audio)
        if self.dial_target and not self.auto_answer and outcome != "meeting":
            # A one-shot dial: the terminal's job is done when its call is (or its meeting, if it became one).
            self.exit_code = 0 if outcome in ("answered", "hangup") else 1
            self.stop()

    async def join_meeting(self, meeting_id: str) -> None:
        """Join a meeting on the SFU as this terminal (a call moved there, or an invitation)."""
        if self.meeting is not None:
            return
        media = MediaClient(self.label, media_file=None if self.video == TEST_PATTERN else self.video)
        client = MeetingClient(self.url, self.token, meeting_id, media)
        try:
            result = await client.join()
        except (SignalingError, OSError, aiohttp.ClientError) as exc:
            await client.close()
            self.emit("error", code=getattr(exc, "code", "meeting_failed"), message=str(exc))
            return
        self.meeting = client
        self.invite = None
        self.emit("meeting", meeting=meeting_id, status=result["status"], participant=client.participant_id)
        self._start_reports()

    async def leave_meeting(self, reason: str) -> None:
        """Leave the meeting this terminal is in."""
        meeting, self.meeting = self.meeting, None
        if meeting is None:
            return
        video, audio = meeting.media.frames("video"), meeting.media.frames("audio")
        await meeting.close()
        self.emit("left", meeting=meeting.meeting_id, reason=reason, video_frames=sum(video.values()),
                  audio_frames=sum(audio.values()))
        if self.dial_target and not self.auto_answer:
            self.stop()

    def _start_reports(self) -> None:
        if self._reporter is None:
            self._reporter = asyncio.create_task(self._report_media(), name="phone-media-report")

    async def _report_media(self) -> None:
        while True:
            await asyncio.sleep(MEDIA_REPORT_SECONDS)
            media = self.media
            if media is not None:
                self.emit("media", call=self.call_id, state=media.state, video_frames=media.frames("video"),
                          audio_frames=media.frames("audio"))
            meeting = self.meeting
            if meeting is not None:
                if meeting.status not in ("joined", "lobby"):
                    await self.leave_meeting(meeting.status)
                    continue
                self.emit("meeting_media", meeting=meeting.meeting_id, participants=len(meeting.participants),
                          video_frames=sum(meeting.media.frames("video").values()),
                          audio_frames=sum(meeting.media.frames("audio").values()))

    async def _shutdown(self) -> None:
        if self.call_id is not None and not self.client.closed.is_set():
            await self.hangup()
        await self.leave_meeting("stopped")
        if self.media is not None:
            await self.media.close()
        if self._reporter is not None:
            self._reporter.cancel()
        await self.client.close()
        self.emit("bye")


def _read_stdin(loop: asyncio.AbstractEventLoop, terminal: PhoneTerminal) -> None:
    # A daemon thread: a blocked readline must never keep the process from exiting.
    for line in sys.stdin:
        asyncio.run_coroutine_threadsafe(terminal.command(line), loop)


async def run_terminal(terminal: PhoneTerminal, *, read_stdin: bool = True) -> int:
    """Run a terminal with Ctrl-C / SIGTERM hanging up cleanly, and stdin commands when it is a terminal."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, terminal.stop)
    if read_stdin and sys.stdin is not None and sys.stdin.isatty():
        threading.Thread(target=_read_stdin, args=(loop, terminal), daemon=True, name="phone-stdin").start()
    try:
        return await terminal.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)

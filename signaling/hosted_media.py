"""HostedMedia: a meeting's SFU room while this node holds the meeting's media.

Its participants' sockets may be anywhere: what the SFU room does becomes the meeting's bus events (tracks,
the active speaker) or orders on one participant's own channel (its receive slots, a pause, a lost peer), so the
node holding that participant's session tells it. The stage steers the room's selection: the chair's roll call,
and the main venue, which this node works out as participants come and go and announces as `stage.main`.
While the meeting is recorded, a recorder taps this room's tracks (signaling/recorder.py); it starts and stops
as the meeting's `recording.*` events say the recording did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hub.bus.base import Bus
from hub.errors import HubError
from hub.logs import own_context
from hub.meetings.service import MeetingService
from hub.meetings.stage import MeetingStage
from hub.recordings import journal
from hub.recordings.model import Recording
from hub.recordings.service import RecordingService
from hub.ticker import Ticker
from signaling.participants import Order, OrderMessage, direct_channel, slot_json, track_json
from signaling.recorder import MeetingRecorder
from signaling.sfu import (
    ActiveSpeakerChanged,
    PeerFailed,
    RoomClosed,
    RoomOpened,
    SfuEvent,
    SfuRoom,
    SlotsChanged,
    TrackPaused,
    TrackPublished,
    TrackUnpublished,
)

log = logging.getLogger(__name__)

# How long a stop lets the work under way finish before cancelling it.
STOP_GRACE = 5.0


async def finish(*tasks: asyncio.Task[Any]) -> None:
    """Wait for tasks told to end (up to STOP_GRACE seconds), then cancel whatever has not."""
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=STOP_GRACE)
    for task in late:
        log.warning("%s did not end within %.0f s: cancelled", task.get_name(), STOP_GRACE)
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class HostedMedia:
    """The meeting's SFU room on this node; its events handled in order by its own task. `on_closed` is called
    once the SFU room closed by itself (its last peer left)."""

    def __init__(self, meeting_id: str, sfu_room: SfuRoom, service: MeetingService, stage: MeetingStage, bus: Bus,
                 recordings: RecordingService | None, on_closed: Callable[[HostedMedia], Awaitable[None]]) -> None:
        self.meeting_id = meeting_id
        self.sfu_room = sfu_room
        self._service = service
        self._stage = stage
        self._bus = bus
        self._recordings = recordings
        self._on_closed = on_closed
        self._main: str | None = None  # the main venue's participant, as last announced
        self._names: dict[str, str] = {}  # participant -> what its tiles say (its venue, or its name)
        self._recording: Recording | None = None
        self._recorder: MeetingRecorder | None = None
        self._heartbeat: Ticker | None = None
        self._closing = False
        # SFU events, and work to do in order with them; None: stop
        self._events: asyncio.Queue[SfuEvent | Callable[[], Awaitable[None]] | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._work(), name=f"meeting-{meeting_id}-media",
                                         context=own_context(f"meeting:{meeting_id}"))

    async def stop(self) -> None:
        """Close the SFU room and stop handling its events once the one under way is handled (idempotent): an
        event handler cancelled in the middle of a database call can leave its connection behind."""
        self._closing = True
        if self._recording is not None:
            # the meeting ended, or this node is shutting down under a meeting that goes on elsewhere
            meeting = await self._service.find(self.meeting_id)
            await self._end_recording("meeting_ended" if meeting is None or meeting.over else "interrupted")
        await self.sfu_room.stop()
        if self._task is not asyncio.current_task() and not self._task.done():
            self._events.put_nowait(None)
            await finish(self._task)

    def on_sfu_event(self, event: SfuEvent) -> None:
        """An event of the SFU room (synchronous): queued for the room's task."""
        self._events.put_nowait(event)

    # --- the stage -----------------------------------------------------------------------------------------

    def spotlight(self, participant_id: str | None) -> None:
        """The chair called on someone (None: cleared): everybody's selection puts it first."""
        self.sfu_room.set_spotlight(participant_id)
        if self._recorder is not None:
            self._recorder.note(journal.SPOTLIGHT, participant_id=participant_id,
                                name=self._names.get(participant_id or ""))

    async def left(self, participant_id: str) -> None:
        """A participant left: a spotlight on it does not outlive it (this node holds the media: it clears)."""
        await self._stage.left(self.meeting_id, participant_id)

    def heard(self, participant: dict[str, Any]) -> None:
        """A participant joined or changed what it sends: a microphone that is off is not forwarded."""
        participant_id, audio = participant.get("participant_id"), participant.get("audio")
        if isinstance(participant_id, str) and isinstance(audio, bool):
            self.sfu_room.set_muted(participant_id, not audio)
        if isinstance(participant_id, str):
            name = participant.get("org_unit_name") if participant.get("venue") else participant.get("name")
            self._names[participant_id] = str(name or participant.get("name") or "")

    async def follow_main(self) -> None:
        """Work out who stands for the main venue now; point the selection at it and tell everyone if it moved."""
        main = await self._stage.main(self.meeting_id)
        participant_id = main["participant_id"] if main is not None else None
        self.sfu_room.set_main(participant_id)  # (the SFU room itself forgets a main venue that left it)
        if participant_id != self._main:
            self._main = participant_id
            await self._service.publish(self.meeting_id, "stage.main", {"main": main})

    async def _load_stage(self) -> None:
        # a room placed anew (its old node died) goes on with the roll call the chair made and the main venue
        spotlight = await self._stage.spotlighted(self.meeting_id)
        if spotlight is not None:
            self.spotlight(str(spotlight.get("participant_id")))
        for participant in await self._service.participants(self.meeting_id):
            self.heard(participant)
        await self.follow_main()
        await self.follow_recording()

    # --- recording -------------------------------------------------------------------------------------------

    async def follow_recording(self) -> None:
        """Record while the meeting's recording is under way, and only then (idempotent: called on its events and
        when the meeting goes live)."""
        if self._recordings is None:
            return
        live = None if self._closing else await self._recordings.live(self.meeting_id)
        if live is None and self._recording is None and not self._closing:
            # a meeting set to record from the start, live now and never recorded yet
            live = await self._recordings.record_from_start(self.meeting_id)
        if self._recording is not None and (live is None or live.id != self._recording.id):
            await self._end_recording("chair")
        if live is not None and self._recording is None:
            self._start_recording(live)

    def _start_recording(self, recording: Recording) -> None:
        assert self._recordings is not None
        recordings = self._recordings
        self._recording = recording
        self._recorder = MeetingRecorder(recording.id, recording.started_at.timestamp(),
                                         recordings.folder(recording), self._write_failed)
        for forwarder in self.sfu_room.forwarders.values():
            self._recorder.add(forwarder, self._names.get(forwarder.info.participant_id, ""))

        async def alive() -> None:
            if not await recordings.alive(recording.id):
                self.on_sfu_event_later(self.follow_recording)

        self._heartbeat = Ticker(f"recording-{recording.id}", recordings.settings.heartbeat, alive)
        self._heartbeat.start()
        log.info("meeting %s: recording %s on this node", self.meeting_id, recording.id)

    async def _end_recording(self, reason: str, error: str | None = None) -> None:
        recording, recorder, heartbeat = self._recording, self._recorder, self._heartbeat
        if recording is None or recorder is None:
            return
        self._recording = self._recorder = self._heartbeat = None
        if heartbeat is not None:
            await heartbeat.stop()
        failed = await recorder.stop()
        assert self._recordings is not None
        await self._recordings.ended(recording, reason if failed is None or error else "write_error",
                                     error or failed)

    def _write_failed(self, reason: str, message: str) -> None:
        # the disk filled up or refused a write: the recording stops (the chair hears why), the meeting goes on
        self.on_sfu_event_later(lambda: self._end_recording(reason, message))

    def on_sfu_event_later(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` on the room's own task, in order with the SFU's events."""
        self._events.put_nowait(work)

    # --- SFU events ----------------------------------------------------------------------------------------

    async def _work(self) -> None:
        held: list[SfuEvent | Callable[[], Awaitable[None]] | None] = []  # taken from the queue, not handled yet
        while (event := held.pop() if held else await self._events.get()) is not None:
            try:
                if isinstance(event, SlotsChanged):
                    # one selection round re-points the slots of many participants: they are told together (each
                    # telling is a bus publish that waits for the loop, or for Redis: 90 in a row took 1.6 s
                    # on a busy hub), and only of their newest slots
                    newest = {event.participant_id: event}
                    while not self._events.empty():
                        following = self._events.get_nowait()
                        if not isinstance(following, SlotsChanged):
                            held.append(following)
                            break
                        newest[following.participant_id] = following
                    for failed in await asyncio.gather(*(self._handle(e) for e in newest.values()),
                                                       return_exceptions=True):
                        if isinstance(failed, Exception):
                            raise failed
                elif callable(event):
                    await event()
                else:
                    await self._handle(event)
            except HubError as exc:
                log.warning("meeting %s: handling %s failed (%s)", self.meeting_id, type(event).__name__,
                            exc.message)
            except Exception:
                log.exception("meeting %s: handling %r failed", self.meeting_id, event)

    async def _handle(self, event: SfuEvent) -> None:
        if isinstance(event, TrackPublished):
            forwarder = self.sfu_room.forwarders.get(event.track.track_id)
            if self._recorder is not None and forwarder is not None:
                self._recorder.add(forwarder, self._names.get(event.track.participant_id, ""))
            await self._service.publish(self.meeting_id, "track.published", {"track": track_json(event.track)})
        elif isinstance(event, TrackUnpublished):
            if self._recorder is not None:
                self._recorder.remove(event.track.track_id)
            await self._service.publish(self.meeting_id, "track.unpublished", {"track": track_json(event.track)})
        elif isinstance(event, ActiveSpeakerChanged):
            if self._recorder is not None:
                self._recorder.note(journal.SPEAKER, participant_id=event.participant_id)
            await self._service.publish(self.meeting_id, "speaker.active",
                                        {"participant_id": event.participant_id, "previous": event.previous})
        elif isinstance(event, SlotsChanged):
            slots = [slot_json(slot) for slot in event.slots]
            await self._tell(event.participant_id, OrderMessage(Order.SLOTS, data={"slots": slots}))
        elif isinstance(event, TrackPaused):
            await self._tell(event.track.participant_id, OrderMessage(
                Order.PAUSE, data={"track": track_json(event.track), "paused": event.paused}))
        elif isinstance(event, PeerFailed):
            # the participant's node takes it out, and its client joins again
            log.info("meeting %s: %s lost its media connection (%s)", self.meeting_id, event.participant_id,
                     event.reason)
            await self._tell(event.participant_id, OrderMessage(Order.MEDIA_LOST, reason=event.reason))
        elif isinstance(event, RoomOpened):
            await self._load_stage()
        elif isinstance(event, RoomClosed):
            self._closing = True
            await self._end_recording("meeting_ended")
            await self._on_closed(self)

    async def _tell(self, participant_id: str, order: OrderMessage) -> None:
        # to the participant's own channel: its session may be on another node
        await self._bus.publish(direct_channel(self.meeting_id, participant_id), order.to_bus())

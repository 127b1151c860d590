"""HostedMedia: a meeting's SFU room while this node holds the meeting's media.

Its participants' sockets may be anywhere: what the SFU room does becomes the meeting's bus events (tracks,
the active speaker) or orders on one participant's own channel (its receive slots, a pause, a lost peer), so the
node holding that participant's session tells it. The stage steers the room's selection: the chair's roll call,
and the main venue, which this node works out as participants come and go and announces as `stage.main`.
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
from signaling.participants import Order, OrderMessage, direct_channel, slot_json, track_json
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
                 on_closed: Callable[[HostedMedia], Awaitable[None]]) -> None:
        self.meeting_id = meeting_id
        self.sfu_room = sfu_room
        self._service = service
        self._stage = stage
        self._bus = bus
        self._on_closed = on_closed
        self._main: str | None = None  # the main venue's participant, as last announced
        self._events: asyncio.Queue[SfuEvent | None] = asyncio.Queue()  # None: stop
        self._task = asyncio.create_task(self._work(), name=f"meeting-{meeting_id}-media",
                                         context=own_context(f"meeting:{meeting_id}"))

    async def stop(self) -> None:
        """Close the SFU room and stop handling its events once the one under way is handled (idempotent): an
        event handler cancelled in the middle of a database call can leave its connection behind."""
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

    async def left(self, participant_id: str) -> None:
        """A participant left: a spotlight on it does not outlive it (this node holds the media: it clears)."""
        await self._stage.left(self.meeting_id, participant_id)

    def heard(self, participant: dict[str, Any]) -> None:
        """A participant joined or changed what it sends: a microphone that is off is not forwarded."""
        participant_id, audio = participant.get("participant_id"), participant.get("audio")
        if isinstance(participant_id, str) and isinstance(audio, bool):
            self.sfu_room.set_muted(participant_id, not audio)

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

    # --- SFU events ----------------------------------------------------------------------------------------

    async def _work(self) -> None:
        while (event := await self._events.get()) is not None:
            try:
                await self._handle(event)
            except HubError as exc:
                log.warning("meeting %s: handling %s failed (%s)", self.meeting_id, type(event).__name__,
                            exc.message)
            except Exception:
                log.exception("meeting %s: handling %r failed", self.meeting_id, event)

    async def _handle(self, event: SfuEvent) -> None:
        if isinstance(event, TrackPublished):
            await self._service.publish(self.meeting_id, "track.published", {"track": track_json(event.track)})
        elif isinstance(event, TrackUnpublished):
            await self._service.publish(self.meeting_id, "track.unpublished", {"track": track_json(event.track)})
        elif isinstance(event, ActiveSpeakerChanged):
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
            await self._on_closed(self)

    async def _tell(self, participant_id: str, order: OrderMessage) -> None:
        # to the participant's own channel: its session may be on another node
        await self._bus.publish(direct_channel(self.meeting_id, participant_id), order.to_bus())

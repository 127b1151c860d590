"""Floor requests (申请发言): a venue asks to speak, the chair sees the queue and grants or declines.

The queue is live state on the bus (`meeting:{id}:floor`, changed atomically across nodes); every change is
announced on the meeting's channel. Granting calls on the requester (MeetingStage.spotlight): everybody sees
and hears it, and its microphone goes on. A participant has at most one request; asking twice is refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from hub.auth.principal import Principal
from hub.bus.base import Message
from hub.errors import Conflict, NotFound, Unavailable
from hub.meetings.service import MeetingService, notice_data
from hub.meetings.stage import STAGE_TTL, MeetingStage
from hub.notifications.model import Subject

log = logging.getLogger(__name__)

REQUEST_FIELDS = ("participant_id", "person_id", "name", "org_unit_id", "org_unit_name", "venue")
# More than a city-wide conference has venues; a queue never grows past it.
MAX_QUEUE = 200
CAS_ATTEMPTS = 20


def floor_key(meeting_id: str) -> str:
    """The bus key holding a meeting's floor queue."""
    return f"meeting:{meeting_id}:floor"


class MeetingFloor:
    """The floor queue of live meetings."""

    def __init__(self, meetings: MeetingService, stage: MeetingStage) -> None:
        self.meetings = meetings
        self.stage = stage
        self.bus = meetings.bus

    async def queue(self, meeting_id: str) -> list[dict[str, Any]]:
        """The waiting requests, first come first."""
        requests = await self._read(meeting_id)
        return sorted(requests.values(), key=lambda r: (r.get("requested_at", 0), r.get("participant_id", "")))

    async def request(self, meeting_id: str, participant: Message) -> dict[str, Any]:
        """A participant in the meeting asks for the floor (`floor_already_requested` when it has)."""
        participant_id = str(participant["participant_id"])
        entry = {name: participant.get(name) for name in REQUEST_FIELDS} | {"requested_at": time.time()}

        def add(requests: dict[str, Any]) -> dict[str, Any]:
            if participant_id in requests:
                raise Conflict("floor_already_requested", "you have asked for the floor already")
            if len(requests) >= MAX_QUEUE:
                raise Conflict("floor_queue_full", "too many requests for the floor are waiting")
            return requests | {participant_id: entry}

        await self._change(meeting_id, add)
        await self.meetings.publish(meeting_id, "floor.requested", {"request": entry})
        log.info("meeting %s: %s asks for the floor", meeting_id, participant_id)
        return entry

    async def cancel(self, meeting_id: str, participant_id: str, reason: str = "cancelled") -> bool:
        """Take a participant's request back (it cancelled, or left); False when it had none."""
        if participant_id not in await self._read(meeting_id):
            return False
        removed = await self._remove(meeting_id, participant_id)
        if removed is not None:
            await self.meetings.publish(meeting_id, "floor.cancelled",
                                        {"participant_id": participant_id, "reason": reason})
        return removed is not None

    async def grant(self, principal: Principal, meeting_id: str, participant_id: str) -> dict[str, Any]:
        """The chair gives the floor: the requester is called on (spotlight, microphone on)."""
        meeting = await self.meetings.moderated(principal, meeting_id)
        request = await self._take(meeting_id, participant_id)
        await self.meetings.publish(meeting_id, "floor.granted", {"participant_id": participant_id,
                                                                  "by": principal.id})
        person_id = str(request.get("person_id"))
        stage = await self.stage.spotlight(principal, meeting_id, person_id, participant_id=participant_id)
        try:
            await self.meetings.notifications.send([person_id], Subject.MEETING, meeting_id, "floor_granted",
                                                   notice_data(meeting))
        except Exception:  # noqa: BLE001 - the floor is given; the notice on other pages is a courtesy
            log.exception("meeting %s: the floor-granted notice to %s failed", meeting_id, person_id)
        return stage

    async def decline(self, principal: Principal, meeting_id: str, participant_id: str) -> None:
        """The chair turns a request down."""
        await self.meetings.moderated(principal, meeting_id)
        await self._take(meeting_id, participant_id)
        await self.meetings.publish(meeting_id, "floor.declined", {"participant_id": participant_id,
                                                                   "by": principal.id})

    async def _take(self, meeting_id: str, participant_id: str) -> Message:
        request = await self._remove(meeting_id, participant_id)
        if request is None:
            raise NotFound("floor_request_not_found", f"{participant_id!r} has not asked for the floor")
        return request

    async def _read(self, meeting_id: str) -> dict[str, Any]:
        stored = await self.bus.get_key(floor_key(meeting_id))
        requests = stored.get("requests") if stored else None
        return dict(requests) if isinstance(requests, dict) else {}

    async def _remove(self, meeting_id: str, participant_id: str) -> Message | None:
        removed: list[Message] = []

        def without(requests: dict[str, Any]) -> dict[str, Any]:
            removed.clear()
            if participant_id in requests:
                removed.append(requests[participant_id])
            return {k: v for k, v in requests.items() if k != participant_id}

        await self._change(meeting_id, without)
        return removed[0] if removed else None

    async def _change(self, meeting_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        # read, change, write only if nobody (on any node) wrote in between
        key = floor_key(meeting_id)
        for _ in range(CAS_ATTEMPTS):
            stored = await self.bus.get_key(key)
            requests = dict(stored.get("requests") or {}) if stored else {}
            new = {"requests": change(requests)}
            if stored is None:
                if await self.bus.set_key(key, new, STAGE_TTL, only_new=True):
                    return
            elif await self.bus.compare_and_set(key, stored, new, STAGE_TTL):
                return
        raise Unavailable("floor_contended", "the floor queue is changing too fast: try again")

"""The stage of a live meeting: who everybody sees and hears — the main venue, and whoever the chair has called
on (roll call, 点名).

The main venue is the meeting's main unit (set when it is scheduled, or by the chair): its venue is forwarded to
everybody for the whole meeting. The room holding the meeting's media follows who stands for it as participants
come and go and announces it as `stage.main`.

The spotlight is live state, kept on the bus (`meeting:{id}:stage`, every node reads it) and announced on the
meeting's channel as `stage.changed`; the meeting's room on the node holding its media forwards the spotlighted
participant to everybody, and the room holding that participant's session turns its microphone on. The next
roll call replaces the spotlight; clearing it returns everyone to their own view.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.auth.principal import Principal
from hub.errors import Conflict, NotFound
from hub.meetings.service import MeetingService

log = logging.getLogger(__name__)

# A spotlight outlives no meeting day.
STAGE_TTL = 12 * 3600.0
SPOTLIGHT_FIELDS = ("participant_id", "person_id", "name", "org_unit_id", "org_unit_name", "venue")


def stage_key(meeting_id: str) -> str:
    """The bus key holding a meeting's stage."""
    return f"meeting:{meeting_id}:stage"


class MeetingStage:
    """Roll call: the chair spotlights a participant (by person) or clears the spotlight."""

    def __init__(self, meetings: MeetingService) -> None:
        self.meetings = meetings
        self.bus = meetings.bus

    async def current(self, meeting_id: str) -> dict[str, Any]:
        """The stage as clients see it: {"spotlight": participant or None, "main": participant or None}."""
        return {"spotlight": await self.spotlighted(meeting_id), "main": await self.main(meeting_id)}

    async def spotlighted(self, meeting_id: str) -> dict[str, Any] | None:
        """Who the chair called on last (None: nobody)."""
        stage = await self.bus.get_key(stage_key(meeting_id))
        spotlight = stage.get("spotlight") if stage else None
        return spotlight if isinstance(spotlight, dict) else None

    async def main(self, meeting_id: str) -> dict[str, Any] | None:
        """Who stands for the main venue (主会场) now: of the participants from the meeting's main unit, the first
        venue (terminal) that came in, else the first person who did; None when the unit is not there."""
        meeting = await self.meetings.find(meeting_id)
        if meeting is None or meeting.main_unit is None:
            return None
        of_unit = [p for p in await self.meetings.participants(meeting_id) if p.get("org_unit_id") == meeting.main_unit]
        chosen = next((p for p in of_unit if p.get("venue")), of_unit[0] if of_unit else None)
        return {name: chosen.get(name) for name in SPOTLIGHT_FIELDS} if chosen is not None else None

    async def spotlight(self, principal: Principal, meeting_id: str, person_id: str | None, *,
                        participant_id: str | None = None) -> dict[str, Any]:
        """Call on a person in the meeting (None: clear; `participant_id`: that one of the person's tabs);
        everybody hears of it. Only the chair (policy)."""
        meeting = await self.meetings.moderated(principal, meeting_id)
        if meeting.over:
            raise Conflict("meeting_over", "this meeting is over")
        spotlight: dict[str, Any] | None = None
        if person_id is not None:
            present = [p for p in await self.meetings.participants(meeting_id) if p.get("person_id") == person_id
                       and participant_id in (None, p.get("participant_id"))]
            if not present:
                raise NotFound("participant_not_found", f"{person_id!r} is not in the meeting")
            latest = present[-1]  # a person in two tabs: the one that joined last
            spotlight = {name: latest.get(name) for name in SPOTLIGHT_FIELDS}
        await self.bus.set_key(stage_key(meeting_id), {"spotlight": spotlight}, STAGE_TTL)
        await self.meetings.publish(meeting_id, "stage.changed", {"spotlight": spotlight, "by": principal.id})
        log.info("meeting %s: %s %s", meeting_id, principal.id,
                 f"called on {person_id}" if person_id else "cleared the spotlight")
        return {"spotlight": spotlight}

    async def left(self, meeting_id: str, participant_id: str) -> bool:
        """A participant left: if the chair had called on it, the spotlight is cleared (everybody back to their own
        view, the banner gone) unless the chair called on someone else meanwhile; True if it was cleared."""
        stage = await self.bus.get_key(stage_key(meeting_id))
        spotlight = stage.get("spotlight") if stage else None
        if stage is None or not isinstance(spotlight, dict) or spotlight.get("participant_id") != participant_id:
            return False
        if not await self.bus.compare_and_set(stage_key(meeting_id), stage, {"spotlight": None}, STAGE_TTL):
            return False  # a new roll call came first
        await self.meetings.publish(meeting_id, "stage.changed", {"spotlight": None, "by": None, "reason": "left"})
        log.info("meeting %s: the spotlighted %s left: spotlight cleared", meeting_id, participant_id)
        return True

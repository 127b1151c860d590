"""The MeetingGate over the meetings domain: what supervision needs to know of a meeting and of a person in it."""

from __future__ import annotations

from hub.directory.service import DirectoryService
from hub.meetings.model import MeetingStatus
from hub.meetings.service import MeetingService
from hub.supervision.model import MeetingInfo


class MeetingsGate:
    """Meetings as supervision sees them; people who are neither invited nor hold a role are not in it."""

    def __init__(self, meetings: MeetingService, directory: DirectoryService) -> None:
        self.meetings = meetings
        self.directory = directory

    async def meeting(self, meeting_id: str) -> MeetingInfo | None:
        found = await self.meetings.find(meeting_id)
        if found is None:
            return None
        # A cancelled meeting takes no decisions, as one closed for edits.
        closed = found.closed_for_edits or found.status == MeetingStatus.CANCELLED
        return MeetingInfo(found.id, found.title, closed, found.minutes_doc_id, found.chair_id)

    async def chair_of(self, meeting_id: str) -> str | None:
        found = await self.meetings.find(meeting_id)
        return found.chair_id if found else None

    async def role_of(self, meeting_id: str, person_id: str) -> str | None:
        found = await self.meetings.find(meeting_id)
        if found is None:
            return None
        if person_id in (found.chair_id, found.secretary_id, found.organizer_id) or person_id in found.invited_people:
            return found.role_of(person_id).value
        person = await self.directory.find_person(person_id)
        if person is not None and person.org_unit_id in found.invited_units:
            return found.role_of(person_id).value
        return None

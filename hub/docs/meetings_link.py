"""Documents and meetings: who attends a meeting (for its minutes), a minutes document for every new meeting,
and decisions written into the minutes (supervision's MinutesWriter)."""

from __future__ import annotations

from hub.auth import policy
from hub.directory.service import DirectoryService
from hub.docs.model import DECISIONS_HEADINGS, Attendance
from hub.docs.service import DocumentService
from hub.meetings.model import Meeting
from hub.meetings.service import MeetingService
from hub.supervision.model import Decision, Item, MeetingInfo


class MeetingAttendance:
    """MeetingAccess on the meetings domain: invited people edit the minutes, supervisors read them."""

    def __init__(self, meetings: MeetingService, directory: DirectoryService) -> None:
        self.meetings = meetings
        self.directory = directory

    async def attendance(self, meeting_id: str, person_id: str) -> Attendance | None:
        meeting = await self.meetings.find(meeting_id)
        person = await self.directory.find_person(person_id)
        if meeting is None or person is None or not person.active:
            return None
        return policy.minutes_attendance(person, meeting)


class MeetingMinutes:
    """Creates the minutes document of a new meeting, owned by the organizer's org unit."""

    def __init__(self, docs: DocumentService, directory: DirectoryService) -> None:
        self.docs = docs
        self.directory = directory

    async def __call__(self, meeting: Meeting) -> str:
        organizer = await self.directory.person(meeting.organizer_id)
        return await self.docs.create_minutes(meeting.id, f"{meeting.title} 纪要", organizer.org_unit_id)


class DecisionMinutes:
    """supervision's MinutesWriter: each decision goes under the minutes' "决定事项 / Decisions" heading, live."""

    def __init__(self, docs: DocumentService) -> None:
        self.docs = docs

    async def append_decision(self, meeting: MeetingInfo, decision: Decision, item: Item, lines: list[str]) -> None:
        if meeting.minutes_doc_id is not None:
            await self.docs.append_to_section(meeting.minutes_doc_id, DECISIONS_HEADINGS, "\n".join(lines))

"""Documents and meetings: who attends a meeting (for its minutes), a minutes document for every new meeting,
and decisions written into the minutes (supervision's MinutesWriter)."""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo

from pycrdt import Doc

from hub.auth import policy
from hub.auth.principal import Principal
from hub.directory.service import DirectoryService
from hub.docs.content import write_template
from hub.docs.model import DECISIONS_HEADINGS, Attendance
from hub.docs.service import DocumentService
from hub.meetings.model import Meeting
from hub.meetings.service import MeetingService
from hub.supervision.model import Decision, Item, MeetingInfo

log = logging.getLogger(__name__)


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

    async def meetings_of(self, principal: Principal) -> dict[str, datetime]:
        # the coming ones and the 200 most recent past ones (a list of all would start at the oldest)
        coming = await self.meetings.listing(principal, scope="mine", when="upcoming", limit=200)
        past = await self.meetings.listing(principal, scope="mine", when="past", limit=200)
        return {meeting.id: meeting.starts_at for meeting in [*coming, *past]}

    async def starts_at(self, meeting_id: str) -> datetime | None:
        meeting = await self.meetings.find(meeting_id)
        return meeting.starts_at if meeting else None


class MeetingMinutes:
    """Creates the minutes document of a new meeting, owned by the organizer's org unit, and fills it in from
    the meeting: title, time (the city's clock), chair, secretary, invited units and people, the agenda from the
    description, and the sections the secretary writes in (decisions are added under 决定事项 as recorded)."""

    def __init__(self, docs: DocumentService, directory: DirectoryService, tz: tzinfo) -> None:
        self.docs = docs
        self.directory = directory
        self.tz = tz

    async def __call__(self, meeting: Meeting) -> str:
        organizer = await self.directory.person(meeting.organizer_id)
        doc_id = await self.docs.create_minutes(meeting.id, f"{meeting.title} 纪要", organizer.org_unit_id)
        blocks = await self.template(meeting)

        def fill_in(doc: Doc) -> None:
            write_template(doc, blocks)  # only into an empty document: never over what people wrote

        try:
            await self.docs.apply_change(doc_id, fill_in)
        except Exception:  # noqa: BLE001 - the meeting and its (empty) minutes stand without the template
            log.exception("minutes %s of meeting %s: the template could not be written", doc_id, meeting.id)
        return doc_id

    async def template(self, meeting: Meeting) -> list[tuple[str, str]]:
        """The minutes' first content, in the official order (Chinese: minutes are official papers)."""
        ids = [meeting.chair_id, *([meeting.secretary_id] if meeting.secretary_id else []), *meeting.invited_people]
        people = await self.directory.people(ids)
        units = {unit.id: unit.name for unit in await self.directory.units()}

        def name(person_id: str) -> str:
            person = people.get(person_id)
            if person is None:
                return person_id
            unit = units.get(person.org_unit_id, "")
            return f"{person.name}（{unit}{person.title}）" if unit or person.title else person.name

        starts, ends = meeting.starts_at.astimezone(self.tz), meeting.ends_at.astimezone(self.tz)
        when = f"{starts.year}年{starts.month}月{starts.day}日 {starts:%H:%M}—{ends:%H:%M}"
        blocks = [("h1", meeting.title), ("p", f"时间：{when}"), ("p", f"主持人：{name(meeting.chair_id)}")]
        if meeting.secretary_id:
            blocks.append(("p", f"记录人：{name(meeting.secretary_id)}"))
        if meeting.main_unit:
            blocks.append(("p", f"主会场：{units.get(meeting.main_unit, meeting.main_unit)}"))
        if meeting.invited_units:
            blocks.append(("p", "参会单位：" + "、".join(units.get(u, u) for u in meeting.invited_units)))
        if meeting.invited_people:
            blocks.append(("p", "参会人员：" + "、".join(people[p].name if p in people else p
                                                       for p in meeting.invited_people)))
        agenda = [line.strip() for line in meeting.description.splitlines() if line.strip()]
        blocks += [("h2", "会议议程"), *[("p", line) for line in agenda or ["（会前补充）"]]]
        blocks += [("h2", "会议内容"), ("p", ""), ("h2", DECISIONS_HEADINGS[0])]
        return blocks


class DecisionMinutes:
    """supervision's MinutesWriter: each decision goes under the minutes' "决定事项 / Decisions" heading, live."""

    def __init__(self, docs: DocumentService) -> None:
        self.docs = docs

    async def append_decision(self, meeting: MeetingInfo, decision: Decision, item: Item, lines: list[str]) -> None:
        if meeting.minutes_doc_id is not None:
            await self.docs.append_to_section(meeting.minutes_doc_id, DECISIONS_HEADINGS, "\n".join(lines))

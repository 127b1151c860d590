"""Attendance (签到): who was in a meeting, from which unit or venue, from when to when, and who stayed away.

Each stay (one tab or terminal, from joining to leaving) is a row written by the node holding the participant's
session; the meeting's end closes the stays a dead node could not. The report folds the stays per person and sets
them against the invitations: the invited units and people nobody came for are listed as absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from hub.auth import policy
from hub.auth.principal import Principal
from hub.clock import local_time
from hub.meetings import store
from hub.meetings.model import Attendance
from hub.meetings.service import MeetingService

# The columns of the exported sign-in sheet (签到表), with the headers a Chinese office expects.
EXPORT_COLUMNS = {
    "status": "状态",
    "name": "姓名",
    "org_unit_name": "单位",
    "venue": "会场",
    "first_joined_at": "首次入会时间",
    "last_left_at": "最后离会时间",
    "minutes": "在会时长（分钟）",
    "stays": "入会次数",
}
STATUS_TEXT = {"present": "出席", "absent": "缺席"}


@dataclass(frozen=True)
class Attendee:
    """One person's stays folded together."""

    person_id: str
    name: str
    org_unit_id: str
    org_unit_name: str
    venue: bool
    first_joined_at: datetime
    last_left_at: datetime | None  # None: still in the meeting
    seconds: float  # time in the meeting, overlapping stays (two tabs) counted once
    stays: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id, "name": self.name, "org_unit_id": self.org_unit_id,
            "org_unit_name": self.org_unit_name, "venue": self.venue,
            "first_joined_at": self.first_joined_at.isoformat(),
            "last_left_at": self.last_left_at.isoformat() if self.last_left_at else None,
            "present": self.last_left_at is None, "minutes": round(self.seconds / 60, 1), "stays": self.stays,
        }


def fold(stays: list[Attendance], now: datetime) -> list[Attendee]:
    """Per person, in the order they first came: first arrival, last leaving, time inside, number of stays."""
    by_person: dict[str, list[Attendance]] = {}
    for stay in stays:
        by_person.setdefault(stay.person_id, []).append(stay)
    attendees = []
    for person_stays in by_person.values():
        person_stays.sort(key=lambda s: s.joined_at)
        seconds, covered_to = 0.0, None
        for stay in person_stays:
            start, end = stay.joined_at, stay.left_at or now
            if covered_to is not None:
                start = max(start, covered_to)
            if end > start:
                seconds += (end - start).total_seconds()
            covered_to = max(covered_to, end) if covered_to is not None else end
        still_in = any(s.left_at is None for s in person_stays)
        last = person_stays[-1]
        attendees.append(Attendee(
            person_id=last.person_id, name=last.name, org_unit_id=last.org_unit_id,
            org_unit_name=last.org_unit_name, venue=any(s.venue for s in person_stays),
            first_joined_at=person_stays[0].joined_at,
            last_left_at=None if still_in else max(s.left_at for s in person_stays if s.left_at is not None),
            seconds=seconds, stays=len(person_stays),
        ))
    return attendees


class MeetingAttendance:
    """Records stays as participants come and go, and reports them to those who run the meeting."""

    def __init__(self, meetings: MeetingService) -> None:
        self.meetings = meetings
        self.db = meetings.db
        self.clock = meetings.clock

    async def arrived(self, stay: Attendance) -> None:
        """A participant came into the meeting (not the lobby)."""
        async with self.db.begin() as conn:
            await store.add_stay(conn, stay)

    async def left(self, meeting_id: str, participant_id: str, reason: str) -> None:
        """A participant left (or was taken out)."""
        async with self.db.begin() as conn:
            await store.end_stay(conn, meeting_id, participant_id, self.clock.now(), reason)

    async def attended(self, meeting_id: str, person_id: str) -> bool:
        """Whether the person took part in the meeting (from any tab or venue)."""
        async with self.db.connect() as conn:
            return any(stay.person_id == person_id for stay in await store.stays(conn, meeting_id))

    async def report(self, principal: Principal, meeting_id: str) -> dict[str, Any]:
        """Who attended and who did not; for the chair, the secretary, the organizer, supervisors and admins."""
        meeting = await self.meetings.get(principal, meeting_id)
        policy.require(policy.can_read_attendance(principal, meeting), "attendance_forbidden",
                       "attendance is for the chair, the secretary, the organizer and supervisors")
        async with self.db.connect() as conn:
            stays = await store.stays(conn, meeting_id)
        attendees = fold(stays, self.clock.now())
        came = {a.person_id for a in attendees}
        units_came = {a.org_unit_id for a in attendees}
        units = {u.id: u for u in await self.meetings.directory.units()}
        people = await self.meetings.directory.people(list(meeting.invited_people))
        absent_units = [{"id": u, "name": units[u].name if u in units else u}
                        for u in meeting.invited_units if u not in units_came]
        absent_people = [{"id": p, "name": people[p].name if p in people else p,
                          "org_unit_name": units[people[p].org_unit_id].name
                          if p in people and people[p].org_unit_id in units else ""}
                         for p in meeting.invited_people if p not in came]
        return {
            "meeting_id": meeting.id,
            "title": meeting.title,
            "attendees": [a.to_dict() for a in attendees],
            "absent_units": absent_units,
            "absent_people": absent_people,
            "summary": {
                "people_present": len(attendees),
                "venues_present": len({a.org_unit_id for a in attendees if a.venue}),
                "units_invited": len(meeting.invited_units),
                "units_present": len(set(meeting.invited_units) & units_came),
            },
            "stays": [_stay_json(s) for s in stays],
        }


def _stay_json(stay: Attendance) -> dict[str, Any]:
    return {
        "participant_id": stay.participant_id, "person_id": stay.person_id, "name": stay.name,
        "org_unit_id": stay.org_unit_id, "org_unit_name": stay.org_unit_name, "venue": stay.venue,
        "joined_at": stay.joined_at.isoformat(), "left_at": stay.left_at.isoformat() if stay.left_at else None,
        "left_reason": stay.left_reason,
    }


def sheet_rows(report: dict[str, Any], tz: tzinfo) -> list[dict[str, Any]]:
    """The sign-in sheet: everyone who came, then the absent units and people, with local times."""

    def local(moment: str | None) -> str:
        return local_time(moment, tz, "%Y-%m-%d %H:%M:%S")

    rows = [{
        "status": STATUS_TEXT["present"], "name": a["name"], "org_unit_name": a["org_unit_name"],
        "venue": a["org_unit_name"] if a["venue"] else "", "first_joined_at": local(a["first_joined_at"]),
        "last_left_at": local(a["last_left_at"]), "minutes": a["minutes"], "stays": a["stays"],
    } for a in report["attendees"]]
    rows += [{"status": STATUS_TEXT["absent"], "name": "", "org_unit_name": u["name"], "venue": "",
              "first_joined_at": "", "last_left_at": "", "minutes": "", "stays": 0} for u in report["absent_units"]]
    rows += [{"status": STATUS_TEXT["absent"], "name": p["name"], "org_unit_name": p["org_unit_name"], "venue": "",
              "first_joined_at": "", "last_left_at": "", "minutes": "", "stays": 0} for p in report["absent_people"]]
    return rows

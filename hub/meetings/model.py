"""Meetings as frozen dataclasses: the meeting, its status, a chat message, the roles people hold in it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class MeetingRole(StrEnum):
    """What a person is in one meeting (not a directory role)."""

    CHAIR = "chair"
    SECRETARY = "secretary"
    ORGANIZER = "organizer"
    PARTICIPANT = "participant"


class JoinDecision(StrEnum):
    """What happens when someone asks to join: in, wait in the lobby, or refused (raised as an error)."""

    ADMIT = "admit"
    LOBBY = "lobby"


@dataclass(frozen=True)
class Meeting:
    id: str
    title: str
    organizer_id: str
    chair_id: str
    secretary_id: str | None
    starts_at: datetime
    ends_at: datetime
    invited_units: tuple[str, ...] = ()
    invited_people: tuple[str, ...] = ()
    lobby: bool = True
    locked: bool = False
    # the main venue (主会场) of a conference: an org unit whose venue everybody always sees and hears
    main_unit: str | None = None
    # recorded from the moment its media starts (the chair may also start and stop a recording at any time)
    record: bool = False
    status: MeetingStatus = MeetingStatus.SCHEDULED
    # After the meeting ended, the chair or secretary closes it: no more decisions or minutes edits.
    closed_for_edits: bool = False
    description: str = ""
    minutes_doc_id: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def over(self) -> bool:
        """Whether nobody can join any more."""
        return self.status in (MeetingStatus.ENDED, MeetingStatus.CANCELLED)

    def role_of(self, person_id: str) -> MeetingRole:
        """The strongest meeting role of a person."""
        if person_id == self.chair_id:
            return MeetingRole.CHAIR
        if person_id == self.secretary_id:
            return MeetingRole.SECRETARY
        if person_id == self.organizer_id:
            return MeetingRole.ORGANIZER
        return MeetingRole.PARTICIPANT

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "organizer": self.organizer_id,
            "chair": self.chair_id,
            "secretary": self.secretary_id,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "invited_units": list(self.invited_units),
            "invited_people": list(self.invited_people),
            "main_unit": self.main_unit,
            "record": self.record,
            "lobby": self.lobby,
            "locked": self.locked,
            "status": self.status.value,
            "closed_for_edits": self.closed_for_edits,
            "minutes_doc_id": self.minutes_doc_id,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }


@dataclass(frozen=True)
class ChatMessage:
    id: int
    meeting_id: str
    person_id: str
    name: str
    text: str
    sent_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of chat events and history."""
        return {
            "id": self.id,
            "meeting_id": self.meeting_id,
            "person_id": self.person_id,
            "name": self.name,
            "text": self.text,
            "sent_at": self.sent_at.isoformat(),
        }


@dataclass(frozen=True)
class Attendance:
    """One stay in a meeting (签到): who, from which unit or venue, from when to when (None: still there)."""

    meeting_id: str
    participant_id: str
    person_id: str
    name: str
    org_unit_id: str
    org_unit_name: str
    venue: bool
    joined_at: datetime
    left_at: datetime | None = None
    left_reason: str | None = None

    def columns(self) -> dict[str, Any]:
        """The row as stored."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MeetingChanges:
    """Fields an update may change (None: unchanged)."""

    title: str | None = None
    description: str | None = None
    chair_id: str | None = None
    secretary_id: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    invited_units: tuple[str, ...] | None = None
    invited_people: tuple[str, ...] | None = None
    lobby: bool | None = None
    locked: bool | None = None
    main_unit: str | None = None  # "" clears it
    record: bool | None = None

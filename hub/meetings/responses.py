"""The JSON bodies the meeting endpoints answer with, as the OpenAPI document gives them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from hub.api import ApiModel
from hub.meetings.model import MeetingStatus


class Meeting(ApiModel):
    """A meeting with its people's names and links."""

    id: str
    title: str
    description: str
    organizer: str = Field(description="the person id of who scheduled it")
    chair: str = Field(description="a person id")
    secretary: str | None = Field(description="a person id; null: none")
    starts_at: datetime
    ends_at: datetime
    invited_units: list[str] = Field(description="org unit ids")
    invited_people: list[str] = Field(description="person ids")
    main_unit: str | None = Field(description="the main venue (主会场): an org unit id; null: none")
    record: bool = Field(description="recorded from its start")
    lobby: bool = Field(description="people wait in the lobby until the chair admits them")
    locked: bool = Field(description="nobody else may join")
    status: MeetingStatus
    closed_for_edits: bool = Field(description="decisions and minutes are final")
    minutes_doc_id: str | None = Field(description="the minutes' document; null: none yet")
    started_at: datetime | None = Field(description="when it went live; null: not yet")
    ended_at: datetime | None = Field(description="null: not over")
    names: dict[str, str] = Field(
        description="person id -> name of the organizer, chair and secretary (those in the directory)")
    url: str = Field(description="the meeting's page")
    calendar: str = Field(description="the meeting as an iCalendar file")


class MeetingPage(ApiModel):
    items: list[Meeting]
    limit: int
    offset: int


class MeetingStageParticipant(ApiModel):
    """A participant as the stage shows it."""

    participant_id: str = Field(description="one tab or terminal in the meeting")
    person_id: str
    name: str
    org_unit_id: str
    org_unit_name: str
    venue: bool = Field(description="a meeting-room terminal, standing for its unit's venue (分会场)")


class MeetingStage(ApiModel):
    spotlight: MeetingStageParticipant | None = Field(description="who everybody sees and hears now; null: nobody")


class MeetingAttendee(ApiModel):
    """One person's stays in the meeting folded together."""

    person_id: str
    name: str
    org_unit_id: str
    org_unit_name: str
    venue: bool = Field(description="came (also) as a venue's terminal")
    first_joined_at: datetime
    last_left_at: datetime | None = Field(description="null: still in the meeting")
    present: bool = Field(description="still in the meeting")
    minutes: float = Field(description="time in the meeting, two tabs at once counted once")
    stays: int = Field(description="how many times they joined")


class MeetingAbsentUnit(ApiModel):
    """An invited org unit nobody came from."""

    id: str
    name: str


class MeetingAbsentPerson(ApiModel):
    """An invited person who did not come."""

    id: str
    name: str
    org_unit_name: str = Field(description='"" when unknown')


class MeetingAttendanceSummary(ApiModel):
    people_present: int = Field(description="people who came")
    venues_present: int = Field(description="units that came with a venue's terminal")
    units_invited: int
    units_present: int = Field(description="invited units someone came from")


class MeetingStay(ApiModel):
    """One stay: a tab or terminal, from joining to leaving."""

    participant_id: str
    person_id: str
    name: str
    org_unit_id: str
    org_unit_name: str
    venue: bool
    joined_at: datetime
    left_at: datetime | None = Field(description="null: still there")
    left_reason: str | None = Field(
        description="left, disconnected, removed, replaced, rejoined, ended, node_lost (its node died), ...; "
                    "null: still there")


class MeetingAttendance(ApiModel):
    """Attendance (签到): who came, and the invited who did not."""

    meeting_id: str
    title: str
    attendees: list[MeetingAttendee] = Field(description="in the order they first came")
    absent_units: list[MeetingAbsentUnit]
    absent_people: list[MeetingAbsentPerson]
    summary: MeetingAttendanceSummary
    stays: list[MeetingStay]

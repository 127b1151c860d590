"""The JSON bodies the call endpoints answer with, as the OpenAPI document gives them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hub.api import ApiModel
from hub.calls.model import CallState, DeviceKind, Outcome, TargetKind


class CallTarget(ApiModel):
    """Whom a call was placed to."""

    kind: TargetKind = Field(description="a person, or an org unit's duty line")
    id: str = Field(description="a person or org unit id")
    extension: str | None = Field(description="the extension dialled; null: dialled by id")


class Call(ApiModel):
    """A call with its states and times (the /ws `call.*` events carry it too)."""

    id: str
    caller: str = Field(description="a person id")
    target: CallTarget
    callees: list[str] = Field(description="the people it rang")
    state: CallState
    outcome: Outcome | None = Field(description="how it ended; null: not over")
    dialled_at: datetime
    ringing_at: datetime | None = Field(description="when it began to ring; null: it never rang (busy, unavailable)")
    answered_at: datetime | None
    ended_at: datetime | None
    duration: float | None = Field(description="seconds from answer to end; null: never answered, or going on")
    answered_by: str | None = Field(description="a person id")
    ended_by: str | None = Field(
        description="who hung up, declined or cancelled (a person id); null: nobody answered, or going on")
    meeting_id: str | None = Field(description="the meeting it moved into (outcome `meeting`)")


class CallCard(ApiModel):
    """Whom a call was to or from, to show and call back: a person or a duty line."""

    kind: TargetKind
    id: str = Field(description="a person or org unit id")
    name: str = Field(description="the id when it is not in the directory")
    unit_name: str = Field(description='the org unit\'s name; "" when unknown')
    extension: str | None
    title: str = Field(description='the person\'s job title; "" for a duty line')
    unit_id: str = Field(description='the person\'s org unit, or the duty line\'s own; "" when unknown')


class CallLogEntry(Call):
    """A call as I saw it."""

    direction: Literal["outgoing", "incoming"]
    missed: bool = Field(description="rang me and I did not pick up (nor decline)")
    seen: bool = Field(description="I marked my missed calls seen since it came")
    caller_card: CallCard
    target_card: CallCard


class CallPage(ApiModel):
    items: list[CallLogEntry]
    total: int = Field(description="how many calls the filter finds (all pages)")
    limit: int
    offset: int
    missed_unseen: int = Field(description="my missed calls I have not seen yet (the badge)")


class CallMissedCount(ApiModel):
    count: int = Field(description="my missed calls I have not seen yet")


class CallContacts(ApiModel):
    contacts: list[CallCard] = Field(description="newest first")


class CallDevice(ApiModel):
    """One of a person's online phone devices."""

    kind: DeviceKind = Field(description="a browser tab or a meeting-room terminal")
    label: str = Field(description="what the device calls itself")


class CallPersonPresence(ApiModel):
    online: bool = Field(description="some device of theirs is online")
    devices: list[CallDevice]


class CallPresence(ApiModel):
    people: dict[str, CallPersonPresence] = Field(description="person id -> presence; unknown ids are left out")

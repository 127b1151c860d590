"""Supervision: decisions of meetings, the items that follow them up, their states and follow-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    EXTENSION_REQUESTED = "extension_requested"
    SUBMITTED = "submitted"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(set(Status) - {Status.CLOSED, Status.CANCELLED})
# The department's turn: these can be overdue and get reminders; a submitted item waits for its supervisor.
ACTIVE_STATUSES = frozenset(OPEN_STATUSES - {Status.SUBMITTED})


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Action(StrEnum):
    ACCEPT = "accept"
    REPORT = "report"
    SUBMIT = "submit"
    RETURN = "return"
    CLOSE = "close"
    REQUEST_EXTENSION = "request_extension"
    GRANT_EXTENSION = "grant_extension"
    DENY_EXTENSION = "deny_extension"
    CANCEL = "cancel"
    COMMENT = "comment"


# The states each action starts from; where it leads is `next_status`.
ALLOWED_FROM: dict[Action, frozenset[Status]] = {
    Action.ACCEPT: frozenset({Status.ASSIGNED}),
    Action.REPORT: frozenset({Status.ACCEPTED, Status.IN_PROGRESS, Status.EXTENSION_REQUESTED}),
    Action.SUBMIT: frozenset({Status.ACCEPTED, Status.IN_PROGRESS}),
    Action.RETURN: frozenset({Status.SUBMITTED}),
    Action.CLOSE: frozenset({Status.SUBMITTED}),
    Action.REQUEST_EXTENSION: frozenset({Status.ACCEPTED, Status.IN_PROGRESS}),
    Action.GRANT_EXTENSION: frozenset({Status.EXTENSION_REQUESTED}),
    Action.DENY_EXTENSION: frozenset({Status.EXTENSION_REQUESTED}),
    Action.CANCEL: OPEN_STATUSES,
    Action.COMMENT: frozenset(Status),
}

# Actions whose text is required (a report, a reason).
NEEDS_TEXT = frozenset(
    {Action.REPORT, Action.SUBMIT, Action.RETURN, Action.REQUEST_EXTENSION, Action.DENY_EXTENSION, Action.CANCEL,
     Action.COMMENT}
)


def next_status(action: Action, current: Status) -> Status:
    """The state after an action that ALLOWED_FROM permits from `current`."""
    if action is Action.ACCEPT:
        return Status.ACCEPTED
    if action is Action.REPORT:
        return Status.IN_PROGRESS if current is Status.ACCEPTED else current
    if action is Action.SUBMIT:
        return Status.SUBMITTED
    if action in (Action.RETURN, Action.GRANT_EXTENSION, Action.DENY_EXTENSION):
        return Status.IN_PROGRESS
    if action is Action.CLOSE:
        return Status.CLOSED
    if action is Action.REQUEST_EXTENSION:
        return Status.EXTENSION_REQUESTED
    if action is Action.CANCEL:
        return Status.CANCELLED
    return current


@dataclass(frozen=True)
class MeetingInfo:
    """What supervision needs to know of a meeting (given by the meetings domain through a MeetingGate)."""

    id: str
    title: str
    closed_for_edits: bool
    minutes_doc_id: str | None = None
    chair_id: str | None = None


@dataclass(frozen=True)
class Decision:
    id: str
    meeting_id: str
    meeting_title: str
    minutes_doc_id: str | None
    number: int
    text: str
    recorded_by: str
    recorded_at: datetime
    item_id: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API and of live events."""
        return {
            "id": self.id,
            "meeting_id": self.meeting_id,
            "meeting_title": self.meeting_title,
            "minutes_doc_id": self.minutes_doc_id,
            "number": self.number,
            "text": self.text,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
            "item_id": self.item_id,
        }


@dataclass(frozen=True)
class Item:
    id: str
    decision_id: str
    meeting_id: str
    title: str
    lead_unit_id: str
    coop_unit_ids: tuple[str, ...]
    responsible_id: str
    priority: Priority
    status: Status
    percent: int
    due_date: date
    original_due_date: date
    requested_due_date: date | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    closed_at: datetime | None = None
    on_time: bool | None = None
    days_to_close: float | None = None
    # The number people cite, as official papers carry one: 督办〔2026〕12号 (prefix: supervision.number_prefix).
    number: str = ""
    # Derived from the due date and the clock when read; never stored.
    overdue: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API, webhooks and exports."""
        return {
            "id": self.id,
            "number": self.number,
            "decision_id": self.decision_id,
            "meeting_id": self.meeting_id,
            "title": self.title,
            "lead_unit": self.lead_unit_id,
            "coop_units": list(self.coop_unit_ids),
            "responsible": self.responsible_id,
            "priority": self.priority.value,
            "status": self.status.value,
            "percent": self.percent,
            "due_date": self.due_date.isoformat(),
            "original_due_date": self.original_due_date.isoformat(),
            "requested_due_date": self.requested_due_date.isoformat() if self.requested_due_date else None,
            "overdue": self.overdue,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "on_time": self.on_time,
            "days_to_close": self.days_to_close,
        }


@dataclass(frozen=True)
class Attachment:
    id: str
    item_id: str
    followup_id: int
    filename: str
    content_type: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "url": f"/api/v1/supervision/attachments/{self.id}",
        }


@dataclass(frozen=True)
class FollowUp:
    """One entry of an item's timeline: a report, a comment, a state change, a reminder."""

    id: int
    item_id: str
    kind: str
    author_id: str | None
    text: str
    percent: int | None
    data: dict[str, Any]
    at: datetime
    attachments: tuple[Attachment, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "author": self.author_id,
            "text": self.text,
            "percent": self.percent,
            "data": self.data,
            "at": self.at.isoformat(),
            "attachments": [a.to_dict() for a in self.attachments],
        }


@dataclass(frozen=True)
class ItemFilter:
    """The filters of the dashboard, the lists and the exports."""

    unit_id: str | None = None
    status: Status | None = None
    overdue: bool | None = None
    meeting_id: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    # A person's view: items where their unit leads or co-operates.
    involving_unit: str | None = None
    # Items whose title contains this (the search box).
    title: str | None = None


@dataclass(frozen=True)
class UnitStats:
    unit_id: str
    total: int
    open: int
    overdue: int
    closed: int
    closed_on_time: int
    avg_days_to_close: float | None

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "total": self.total,
            "open": self.open,
            "overdue": self.overdue,
            "closed": self.closed,
            "closed_on_time": self.closed_on_time,
            "on_time_rate": None if self.on_time_rate is None else round(self.on_time_rate, 4),
            "avg_days_to_close": None if self.avg_days_to_close is None else round(self.avg_days_to_close, 2),
        }

"""The JSON bodies the supervision endpoints answer with, as the OpenAPI document gives them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from hub.api import ApiModel
from hub.notifications.responses import Notification
from hub.supervision.model import Action, Priority, Status

# The appraisal's figures (hub.supervision.appraisal.FIGURES).
AppraisalFigure = Literal["assigned", "closed_on_time", "closed_late", "overdue", "returned",
                          "extensions_requested", "extensions_granted"]


# --- decisions and items --------------------------------------------------------------------------------------------
class Decision(ApiModel):
    """A decision of a meeting, the source of a supervision item."""

    id: str
    meeting_id: str
    meeting_title: str
    minutes_doc_id: str | None = Field(description="the meeting's minutes document (null: it has none)")
    number: int = Field(description="its number among the meeting's decisions, from 1")
    text: str
    recorded_by: str = Field(description="the person who recorded it")
    recorded_at: datetime
    item_id: str = Field(description="the supervision item that follows it up")


class Item(ApiModel):
    """A supervision item: a decision to carry out, its lead department, deadline and state."""

    id: str
    number: str = Field(description="the number people cite, e.g. 督办〔2026〕12号")
    decision_id: str
    meeting_id: str
    title: str
    lead_unit: str = Field(description="the lead department's id")
    coop_units: list[str] = Field(description="the co-operating departments' ids")
    responsible: str = Field(description="the responsible person's id")
    priority: Priority
    status: Status
    percent: int = Field(description="the progress reported, 0 to 100")
    due_date: date = Field(description="the last day, as extended")
    original_due_date: date
    requested_due_date: date | None = Field(description="the day an extension pending asks for")
    overdue: bool = Field(description="its department's turn and past its due day, as of today")
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    closed_at: datetime | None
    on_time: bool | None = Field(description="closed by its due day (null: not closed)")
    days_to_close: float | None = Field(description="days from assigned to closed (null: not closed)")


class SupervisionDecisionRecorded(ApiModel):
    decision: Decision
    item: Item = Field(description="the item created to follow it up")


class SupervisionMeetingDecision(Decision):
    """A decision of a meeting with its item's state."""

    item: Item


class SupervisionMeetingDecisions(ApiModel):
    decisions: list[SupervisionMeetingDecision] = Field(description="in the order they were taken")


class ItemPage(ApiModel):
    items: list[Item]
    total: int = Field(description="how many match the filters (all pages)")
    limit: int
    offset: int


class ItemAttachment(ApiModel):
    id: str
    filename: str
    content_type: str
    size: int = Field(description="in bytes")
    sha256: str
    url: str = Field(description="where to download it")


class ItemTimelineEntry(ApiModel):
    """A report, a comment, a state change or a reminder on an item."""

    id: int
    kind: str = Field(description="`created`, an action (`accept`, `report`, `close` ...) or a reminder's kind")
    author: str | None = Field(description="the person's id (null: the hub, e.g. a reminder)")
    text: str
    percent: int | None = Field(description="the progress a report or submission gave")
    data: dict[str, Any] = Field(description="the details the kind carries")
    at: datetime
    attachments: list[ItemAttachment]


class ItemSignoff(ApiModel):
    """A supervisor's handwritten signature on an item's closing."""

    id: str
    followup_id: int = Field(description="the timeline entry of the closing")
    signer_id: str
    signer_name: str
    signed_at: datetime
    method: str = Field(description="how the signer signed in: `certificate`, `session` or `token`")
    state_sha256: str = Field(description="the SHA-256 of the item as closed")
    image: str = Field(description="the signature's PNG")


class ItemRecordingLink(ApiModel):
    """Where in the meeting's recording its decision was taken."""

    recording_id: str
    offset: float = Field(description="seconds into the recording")
    url: str = Field(description="the playback page at that moment")


class ItemDetail(ApiModel):
    item: Item
    decision: Decision = Field(description="the decision the item follows up")
    timeline: list[ItemTimelineEntry] = Field(description="oldest first")
    allowed_actions: list[Action] = Field(description="what you may do to it now (besides `comment`)")
    signoffs: list[ItemSignoff] = Field(description="oldest first")
    recording: ItemRecordingLink | None = Field(description="null: the meeting was not recorded then")


class ItemChanged(ApiModel):
    item: Item = Field(description="the item as the action left it")


# --- supervisors ----------------------------------------------------------------------------------------------------
class SupervisionCounts(ApiModel):
    """How many of the matching items are in each state, overdue, open, and in all."""

    assigned: int
    accepted: int
    in_progress: int
    extension_requested: int
    submitted: int
    closed: int
    cancelled: int
    overdue: int
    open: int
    total: int


class SupervisionUnitStats(ApiModel):
    """A lead department's figures among the matching items."""

    unit_id: str
    unit_name: str
    total: int
    open: int
    overdue: int
    closed: int
    closed_on_time: int
    on_time_rate: float | None = Field(description="closed on time / closed, 0 to 1 (null: none closed)")
    avg_days_to_close: float | None = Field(description="null: none closed")


class Dashboard(ApiModel):
    counts: SupervisionCounts
    units: list[SupervisionUnitStats] = Field(description="in the directory's order")


class AppraisalItemIds(ApiModel):
    """The items behind each figure (the drill-down)."""

    assigned: list[str]
    closed_on_time: list[str]
    closed_late: list[str]
    overdue: list[str]
    returned: list[str]
    extensions_requested: list[str]
    extensions_granted: list[str]


class AppraisalStanding(ApiModel):
    rank: int
    score: float


class AppraisalChange(ApiModel):
    rank: int = Field(description="places gained since the period before (negative: lost)")
    score: float


class AppraisalTrendPoint(ApiModel):
    period: str
    score: float | None = Field(description="null: the department had no figures then")


class AppraisalUnit(ApiModel):
    """A lead department's figures, score and rank in the period."""

    unit_id: str
    unit_name: str
    rank: int = Field(description="1: the highest score")
    score: float = Field(description="100 + the weighted figures")
    assigned: int = Field(description="items created in the period")
    closed_on_time: int
    closed_late: int
    overdue: int = Field(description="items open and overdue at the period's end (or today, for one under way)")
    returned: int = Field(description="completion reports sent back")
    extensions_requested: int
    extensions_granted: int
    avg_days_to_close: float | None = Field(description="of the items closed in the period (null: none)")
    items: AppraisalItemIds
    previous: AppraisalStanding | None = Field(description="the period before (null: no figures then)")
    change: AppraisalChange | None = Field(description="against the period before (null: no figures then)")
    trend: list[AppraisalTrendPoint] = Field(description="the scores of the last periods of the kind, oldest first")


class Appraisal(ApiModel):
    """The department appraisal (督查考核) of a period."""

    period: str = Field(description="2026, 2026-Q4 or 2026-11")
    start: date = Field(description="its first day")
    end: date = Field(description="the day after its last")
    complete: bool = Field(description="the period has ended")
    as_of: date = Field(description="the day the figures are replayed up to")
    previous: str = Field(description="the period before, the change is against")
    weights: dict[AppraisalFigure, float] = Field(description="the figures that count towards the score")
    units: list[AppraisalUnit] = Field(description="best first")


# --- the audit ------------------------------------------------------------------------------------------------------
class SupervisionCheckpoint(ApiModel):
    """A signed checkpoint of the audit chain's head."""

    seq: int = Field(description="the audit event it covers up to")
    hash: str = Field(description="that event's hash")
    count: int = Field(description="the events in the chain then")
    at: datetime
    key_id: str = Field(description="the signing key's id")
    signature: str


class SupervisionBadCheckpoint(ApiModel):
    source: str = Field(description="`database` or the checkpoint file's path")
    seq: int | None = Field(description="null: a line of the file that is no checkpoint")
    problem: str


class SupervisionCheckpointCheck(ApiModel):
    checked: int = Field(description="the checkpoints whose signature holds")
    bad: list[SupervisionBadCheckpoint]
    missing_from_database: int = Field(description="checkpoints kept outside the database but not in it")


class SupervisionAudit(ApiModel):
    """Whether the audit chain is intact and agrees with its signed checkpoints."""

    intact: bool = Field(description="the status is `intact` or `unanchored`")
    status: Literal["intact", "unanchored", "broken", "truncated", "rewritten", "bad_checkpoint",
                    "checkpoint_missing"]
    events: int = Field(description="the events walked")
    first_broken_seq: int | None
    reason: str | None
    checkpoint: SupervisionCheckpoint | None = Field(description="the newest valid checkpoint")
    since_checkpoint: int | None = Field(description="events since it (null: none, or the chain is not intact)")
    checkpoints: SupervisionCheckpointCheck


class SupervisionWebhookDelivery(ApiModel):
    id: str
    url: str
    event: str = Field(description="e.g. `item.created`, `audit.checkpoint`")
    item_id: str | None
    status: Literal["pending", "delivered", "failed", "dropped"]
    attempts: int
    last_status: int | None = Field(description="the receiver's last HTTP status")
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    claimed_until: datetime | None = Field(description="a node is sending it until then")


class SupervisionWebhookDeliveries(ApiModel):
    deliveries: list[SupervisionWebhookDelivery] = Field(description="the newest 100, newest first")


# --- notifications --------------------------------------------------------------------------------------------------
class SupervisionNotification(Notification):
    """A notification about a supervision item."""

    item_id: str = Field(description="the item's id (as subject_id)")


class SupervisionNotifications(ApiModel):
    notifications: list[SupervisionNotification] = Field(description="newest first")

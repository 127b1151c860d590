"""Video phone calls: states, outcomes, one stored call and how a person sees it in their log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CallState(StrEnum):
    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"


class Outcome(StrEnum):
    # answered and then hung up by either side
    ANSWERED = "answered"
    # nobody answered within the ring time, or the caller's node died while it rang
    MISSED = "missed"
    DECLINED = "declined"
    # the caller gave up (hung up, or closed the socket) while it rang
    CANCELLED = "cancelled"
    # the callee was in another call
    BUSY = "busy"
    # no device of the callee was online
    UNAVAILABLE = "unavailable"
    # moved into a meeting (with a third person)
    MEETING = "meeting"


class TargetKind(StrEnum):
    PERSON = "person"
    # an org unit's duty line: rings that unit's members and terminals
    UNIT = "unit"


class DeviceKind(StrEnum):
    BROWSER = "browser"
    TERMINAL = "terminal"


class PartyRole(StrEnum):
    CALLER = "caller"
    CALLEE = "callee"


# Outcomes that count as a missed call for a callee who did not pick up.
MISSED_FOR_CALLEE = frozenset({Outcome.MISSED, Outcome.CANCELLED, Outcome.BUSY, Outcome.UNAVAILABLE})


@dataclass(frozen=True)
class Call:
    id: str
    caller_id: str
    caller_device: str
    target_kind: TargetKind
    target_id: str
    state: CallState
    dialled_at: datetime
    ring_deadline: datetime
    extension: str | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    answered_by: str | None = None
    answered_device: str | None = None
    outcome: Outcome | None = None
    ended_by: str | None = None
    meeting_id: str | None = None
    # who was rung (people), filled in by the store
    callees: tuple[str, ...] = field(default_factory=tuple)

    @property
    def duration(self) -> float | None:
        """Seconds from answer to end (None when never answered or still going)."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.answered_at).total_seconds())

    def device_of(self, person_id: str) -> str | None:
        """The device a party talks on, once the call is answered."""
        if person_id == self.caller_id:
            return self.caller_device
        if person_id == self.answered_by:
            return self.answered_device
        return None

    def other_device(self, device_id: str) -> str | None:
        """The device at the other end from device_id (for relaying media signaling)."""
        if device_id == self.caller_device:
            return self.answered_device
        if device_id == self.answered_device:
            return self.caller_device
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API and of /ws."""
        return {
            "id": self.id,
            "caller": self.caller_id,
            "target": {"kind": self.target_kind.value, "id": self.target_id, "extension": self.extension},
            "callees": list(self.callees),
            "state": self.state.value,
            "outcome": self.outcome.value if self.outcome else None,
            "dialled_at": _iso(self.dialled_at),
            "ringing_at": _iso(self.ringing_at),
            "answered_at": _iso(self.answered_at),
            "ended_at": _iso(self.ended_at),
            "duration": self.duration,
            "answered_by": self.answered_by,
            "ended_by": self.ended_by,
            "meeting_id": self.meeting_id,
        }


@dataclass(frozen=True)
class LogEntry:
    """One call as one party sees it in their call log."""

    call: Call
    role: PartyRole
    missed: bool
    seen: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of GET /api/v1/calls."""
        return {
            **self.call.to_dict(),
            "direction": "outgoing" if self.role is PartyRole.CALLER else "incoming",
            "missed": self.missed,
            "seen": self.seen,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None

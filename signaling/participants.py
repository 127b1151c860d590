"""Who is in a live meeting, as this node holds them: participants, members (their sessions), the chair's orders."""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from hub.auth.principal import Principal
from hub.bus.base import Message, Subscription
from hub.directory.model import Role
from hub.meetings.model import Attendance, Meeting, MeetingRole
from signaling.session import Session
from signaling.sfu import SlotContent, TrackInfo

if TYPE_CHECKING:
    from signaling.meeting_room import MeetingRoom

log = logging.getLogger(__name__)

# What a participant may change about itself (media.state, screen.*, hand.*).
SELF_STATE = frozenset({"audio", "video", "screen", "hand"})


def direct_channel(meeting_id: str, participant_id: str) -> str:
    """Orders for one participant (or lobby waiter), wherever its session lives."""
    return f"meeting.{meeting_id}.to.{participant_id}"


def track_json(track: TrackInfo) -> dict[str, str]:
    """A published track as clients see it (its track id is the msid track id of the stream they receive)."""
    return {"track_id": track.track_id, "participant_id": track.participant_id, "kind": track.kind,
            "source": track.source.value}


def slot_json(slot: SlotContent) -> dict[str, Any]:
    """A receive slot as its subscriber sees it: its id (the msid), its mid and the track it carries."""
    return {"slot_id": slot.slot_id, "mid": slot.mid, "kind": slot.kind,
            "track": track_json(slot.track) if slot.track is not None else None}


class Participant(BaseModel):
    """One participant as everyone sees it (presence and events): who, from which unit, what it sends."""

    participant_id: str
    person_id: str
    name: str
    title: str
    org_unit_id: str
    org_unit_name: str
    role: MeetingRole
    # a meeting-room terminal: it stands for its org unit's venue (分会场) and is shown by the unit's name
    venue: bool
    audio: bool
    video: bool
    screen: bool
    hand: bool
    joined_at: float

    @classmethod
    def of(cls, participant_id: str, principal: Principal, meeting: Meeting, *, audio: bool = True,
           video: bool = True) -> Participant:
        """A fresh participant for a signed-in person joining `meeting`, microphone and camera as it says."""
        unit = principal.org_unit
        return cls(
            participant_id=participant_id, person_id=principal.id, name=principal.person.name,
            title=principal.person.title, org_unit_id=unit.id, org_unit_name=unit.name,
            role=meeting.role_of(principal.id), venue=principal.has(Role.TERMINAL), audio=audio, video=video,
            screen=False, hand=False, joined_at=time.time(),
        )

    def stay(self, meeting_id: str, at: datetime) -> Attendance:
        """The participant's attendance record (签到), from `at`."""
        return Attendance(meeting_id=meeting_id, participant_id=self.participant_id, person_id=self.person_id,
                          name=self.name, org_unit_id=self.org_unit_id, org_unit_name=self.org_unit_name,
                          venue=self.venue, joined_at=at)

    def update(self, **changes: bool) -> None:
        """Change what the participant says about itself (only the SELF_STATE fields)."""
        unknown = set(changes) - SELF_STATE
        if unknown:
            raise ValueError(f"not a participant's own state: {sorted(unknown)}")
        for name, value in changes.items():
            setattr(self, name, bool(value))

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass(eq=False)
class Member:
    """A local session in a meeting room: in the lobby until `joined`; `left` once out (for good)."""

    room: MeetingRoom
    session: Session
    participant: Participant
    joined: bool = False
    moderator: bool = False
    left: bool = False
    orders: Subscription | None = None
    # the chair's roll call switched its microphone on: it goes off again when the roll call moves on
    called_unmuted: bool = False

    @property
    def participant_id(self) -> str:
        return self.participant.participant_id

    def gone(self) -> None:
        """The member is out: no more orders."""
        self.left = True
        if self.orders is not None:
            self.orders.close()


class Order(enum.StrEnum):
    """What may be ordered to one participant, by the chair or by the hub itself."""

    ADMIT = "admit"  # chair: in from the lobby
    DENY = "deny"  # chair: turned away from the lobby
    MUTE = "mute"  # chair: microphone or camera off (`kind`)
    UNMUTE = "unmute"  # chair: microphone on (unmute all)
    REMOVE = "remove"  # chair: out, back only through the lobby
    MEDIA_LOST = "media_lost"  # hub: the node holding the media lost the peer or died (`reason`): join again
    REPLACED = "replaced"  # hub: the same person joined again from a reconnected tab
    SLOTS = "slots"  # hub: what the participant's receive slots carry now (`data.slots`)
    PAUSE = "pause"  # hub: nobody receives one of the participant's videos (`data.track`, `data.paused`)


# The hub's notices to one participant, with their `data`.
NOTICES = frozenset({Order.SLOTS, Order.PAUSE})


@dataclass(frozen=True)
class OrderMessage:
    """An order on a participant's direct channel."""

    order: Order
    by: str | None = None
    kind: str | None = None
    reason: str | None = None
    data: Message | None = None  # what the hub's notices carry (JSON)

    def to_bus(self) -> Message:
        message: Message = {"order": self.order.value}
        for name in ("by", "kind", "reason", "data"):
            value = getattr(self, name)
            if value is not None:
                message[name] = value
        return message

    @classmethod
    def from_bus(cls, message: Message) -> OrderMessage | None:
        """The order in a bus message, or None when it is not one."""
        try:
            order = Order(str(message.get("order")))
        except ValueError:
            return None
        fields = {}
        for name in ("by", "kind", "reason"):
            value = message.get(name)
            fields[name] = value if isinstance(value, str) else None
        data = message.get("data")
        if order in NOTICES and not isinstance(data, dict):
            return None
        return cls(order, **fields, data=data if order in NOTICES else None)  # type: ignore[arg-type]

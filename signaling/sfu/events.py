"""What the SFU tells the signaling layer: published tracks, speakers, dead peers, forwarding counters."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields


class TrackSource(enum.StrEnum):
    """What a published track shows."""

    CAMERA = "camera"
    MICROPHONE = "microphone"
    SCREEN = "screen"


@dataclass(frozen=True)
class TrackInfo:
    """A published track; `track_id` is stable while published and is the msid track id subscribers see."""

    track_id: str
    participant_id: str
    kind: str  # "audio" | "video"
    source: TrackSource


@dataclass(frozen=True)
class TrackPublished:
    room_id: str
    track: TrackInfo


@dataclass(frozen=True)
class TrackUnpublished:
    room_id: str
    track: TrackInfo


@dataclass(frozen=True)
class ActiveSpeakerChanged:
    room_id: str
    participant_id: str | None
    previous: str | None


@dataclass(frozen=True)
class PeerFailed:
    """The participant's peer connection failed, closed or went silent; the SFU has already removed it."""

    room_id: str
    participant_id: str
    reason: str  # "failed" | "closed" | "inactive" | "negotiation_timeout"


@dataclass(frozen=True)
class TrackPaused:
    """Nobody receives a video (`paused`): its publisher should stop sending it; False: send it again."""

    room_id: str
    track: TrackInfo
    paused: bool


@dataclass(frozen=True)
class SlotContent:
    """What one receive slot of a subscriber carries: `track` None is nothing (its m-line stays quiet)."""

    slot_id: str
    mid: str | None
    kind: str
    track: TrackInfo | None


@dataclass(frozen=True)
class SlotsChanged:
    """A subscriber's receive slots were pointed at other tracks (or got their mids, once negotiated)."""

    room_id: str
    participant_id: str
    slots: tuple[SlotContent, ...]


@dataclass(frozen=True)
class RoomOpened:
    """A room was created on this SFU (its first participant is joining); it is in `Sfu.rooms` already."""

    room_id: str


@dataclass(frozen=True)
class RoomClosed:
    room_id: str


SfuEvent = (TrackPublished | TrackUnpublished | TrackPaused | ActiveSpeakerChanged | PeerFailed | SlotsChanged
            | RoomOpened | RoomClosed)


@dataclass
class ForwardingStats:
    """Counters of forwarded media; `packets_forwarded` counts one per packet per subscriber leg."""

    packets_received: int = 0
    payload_bytes_received: int = 0  # RTP payload of what publishers sent (headers and SRTP tags left out)
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    packets_dropped: int = 0
    # packets of upper temporal layers not sent to a subscriber that shows the video small (base layer only)
    packets_thinned: int = 0
    keyframe_requests_sent: int = 0
    keyframe_requests_received: int = 0
    nacks_received: int = 0
    retransmissions: int = 0
    # a leg (re)starting on a track waits for its next key frame: how many such waits ended, how long in all
    keyframe_waits: int = 0
    keyframe_wait_seconds: float = 0.0

    def add(self, other: ForwardingStats) -> None:
        """Accumulate `other` into this object."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (for JSON and /metrics)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

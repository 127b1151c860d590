"""CityHub's selective forwarding unit on aiortc: forwards encoded RTP, never decodes (docs/sfu.md)."""

from signaling.sfu.events import (
    ActiveSpeakerChanged,
    ForwardingStats,
    PeerFailed,
    RoomClosed,
    RoomOpened,
    SfuEvent,
    SlotContent,
    SlotsChanged,
    TrackInfo,
    TrackPaused,
    TrackPublished,
    TrackSource,
    TrackUnpublished,
)
from signaling.sfu.peer import SfuConfig, SfuError, SfuPeer
from signaling.sfu.room import Sfu, SfuRoom

__all__ = [
    "ActiveSpeakerChanged",
    "ForwardingStats",
    "PeerFailed",
    "RoomClosed",
    "RoomOpened",
    "Sfu",
    "SfuConfig",
    "SfuError",
    "SfuEvent",
    "SfuPeer",
    "SfuRoom",
    "SlotContent",
    "SlotsChanged",
    "TrackInfo",
    "TrackPaused",
    "TrackPublished",
    "TrackSource",
    "TrackUnpublished",
]

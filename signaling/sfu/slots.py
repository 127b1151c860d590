"""Receive slots: a fixed set of m-lines on a subscriber's connection that the SFU points at publishers.

A subscriber gets its slots once (N video, K audio) in the first server offer; afterwards a venue joining or
leaving, or a roll call, only re-points slots (`OutgoingLeg.switch_to`): no renegotiation, and an SDP that does
not grow with the room. Each slot is announced as msid `<slot_id> <slot_id>`; which participant a slot shows is
told to the subscriber separately (`SlotsChanged`, the `/ws` event `media.slots`).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

from aiortc import RTCPeerConnection
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from signaling.sfu.aiortc_internals import adopt_sender
from signaling.sfu.events import SlotContent
from signaling.sfu.forwarding import OutgoingLeg, TrackForwarder
from signaling.sfu.selection import assign


@dataclass
class ReceiveSlot:
    """One m-line of a subscriber's connection and the leg that feeds it (pointed at a track or at nothing)."""

    slot_id: str
    kind: str
    transceiver: RTCRtpTransceiver
    leg: OutgoingLeg

    @property
    def track_id(self) -> str | None:
        forwarder = self.leg.forwarder
        return forwarder.info.track_id if forwarder is not None else None

    def content(self) -> SlotContent:
        forwarder = self.leg.forwarder
        return SlotContent(self.slot_id, self.transceiver.mid, self.kind,
                           forwarder.info if forwarder is not None else None)


class ReceiveSlots:
    """A subscriber's receive slots, created once, re-pointed as the room's selection changes."""

    def __init__(self, participant_id: str, video: int, audio: int) -> None:
        self.participant_id = participant_id
        self.counts = {"video": video, "audio": audio}
        self.slots: list[ReceiveSlot] = []
        self.ready = False  # every slot's sender can send (the subscriber answered the offer that made them)

    def create(self, pc: RTCPeerConnection) -> list[ReceiveSlot]:
        """Add the slots' transceivers to the connection (before the server offer that announces them)."""
        for kind, count in self.counts.items():
            codecs = RTCRtpSender.getCapabilities(kind).codecs  # whatever a publisher of this kind may use
            for index in range(count):
                slot_id = f"{kind}-{index}"
                transceiver = pc.addTransceiver(kind, direction="sendonly")
                transceiver.setCodecPreferences(codecs)
                sender = adopt_sender(transceiver.sender, stream_id=slot_id, track_id=slot_id)
                leg = OutgoingLeg(None, sender, self.participant_id, kind)
                self.slots.append(ReceiveSlot(slot_id, kind, transceiver, leg))
        return self.slots

    def of_kind(self, kind: str) -> list[ReceiveSlot]:
        return [slot for slot in self.slots if slot.kind == kind]

    def show(self, video: list[str], audio: list[str], forwarders: Mapping[str, TrackForwarder],
             small: Set[str] = frozenset()) -> bool:
        """Point the slots at these tracks (most important first), the `small` videos at their base temporal
        layer; True if any slot changed what it carries."""
        if not self.ready:
            return False
        changed = False
        for kind, wanted in (("video", video), ("audio", audio)):
            slots = self.of_kind(kind)
            contents = assign([slot.track_id for slot in slots], [t for t in wanted if t in forwarders])
            for slot, track_id in zip(slots, contents, strict=True):
                if slot.track_id != track_id:
                    slot.leg.switch_to(forwarders[track_id] if track_id is not None else None)
                    changed = True
                slot.leg.set_base_only(track_id in small)
        return changed

    def contents(self) -> tuple[SlotContent, ...]:
        """What every slot carries now."""
        return tuple(slot.content() for slot in self.slots)

    def close(self) -> None:
        """Stop every leg."""
        for slot in self.slots:
            if slot.leg.forwarder is not None:
                slot.leg.forwarder.remove_leg(slot.leg)
            slot.leg.closed = True

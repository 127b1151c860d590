"""Sfu (owns rooms) and SfuRoom (one meeting's participants and forwarding graph)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from signaling.sfu.aiortc_internals import ForwardingReceiver
from signaling.sfu.events import (
    ActiveSpeakerChanged,
    ForwardingStats,
    PeerFailed,
    RoomClosed,
    RoomOpened,
    SfuEvent,
    SlotsChanged,
    TrackInfo,
    TrackPaused,
    TrackPublished,
    TrackUnpublished,
)
from signaling.sfu.forwarding import TrackForwarder
from signaling.sfu.peer import OfferSink, SfuConfig, SfuError, SfuPeer, capabilities_for
from signaling.sfu.selection import Candidates, Stage, View
from signaling.sfu.speaker import ActiveSpeakerDetector

logger = logging.getLogger(__name__)

EventSink = Callable[[SfuEvent], None]


class SfuRoom:
    """One meeting on this SFU: created on first join, stopped when the last participant leaves."""

    def __init__(
        self,
        room_id: str,
        config: SfuConfig,
        emit: EventSink,
        on_closed: Callable[[SfuRoom], None],
    ) -> None:
        self.room_id = room_id
        self._config = config
        self._emit = emit
        self._on_closed = on_closed
        self.peers: dict[str, SfuPeer] = {}
        self.forwarders: dict[str, TrackForwarder] = {}
        self.speakers = ActiveSpeakerDetector()
        # with receive slots: who the room is shown, what each subscriber asks to see (selection.py)
        self.stage = Stage()
        self.views: dict[str, View] = {}
        self.closed_stats = ForwardingStats()
        self._tasks: set[asyncio.Task[None]] = set()
        self._speaker_task: asyncio.Task[None] | None = None
        self._select_soon: asyncio.Handle | None = None
        self.stopped = False

    def start(self) -> None:
        """Start the active speaker ticker."""
        self._speaker_task = asyncio.ensure_future(self._speaker_loop())

    async def stop(self) -> None:
        """Close every participant's connection and every task of this room."""
        if self.stopped:
            return
        self.stopped = True
        if self._speaker_task is not None:
            self._speaker_task.cancel()
        if self._select_soon is not None:
            self._select_soon.cancel()
        for participant_id in list(self.peers):
            await self._remove(participant_id, reason=None)
        # removals of failed peers finish by themselves (they only close connections)
        current = asyncio.current_task()
        await asyncio.gather(*(t for t in self._tasks if t is not current), return_exceptions=True)
        self._on_closed(self)
        self._emit(RoomClosed(self.room_id))
        logger.info("room %s closed", self.room_id)

    async def join(self, participant_id: str, on_offer: OfferSink) -> SfuPeer:
        """Add a participant (replacing a stale one of the same id); it receives every published track."""
        if self.stopped:
            raise SfuError("closed", f"room {self.room_id} is closed")
        if participant_id in self.peers:
            logger.info("room %s: %s rejoined, closing the old connection", self.room_id, participant_id)
            await self._remove(participant_id, reason=None)
        peer = SfuPeer(self, participant_id, on_offer, self._config)
        self.peers[participant_id] = peer
        peer.start()
        if peer.slots is None:
            for forwarder in self.forwarders.values():
                if forwarder.info.participant_id != participant_id:
                    peer.subscribe(forwarder)
        logger.info("room %s: %s joined", self.room_id, participant_id)
        return peer

    async def leave(self, participant_id: str) -> None:
        """Remove a participant; the room stops when it was the last one."""
        await self._remove(participant_id, reason=None)
        await self._stop_if_empty()

    def tracks(self) -> list[TrackInfo]:
        """Every track published in the room."""
        return [f.info for f in self.forwarders.values()]

    def stats(self) -> ForwardingStats:
        """Forwarding counters of this room, including tracks already unpublished."""
        total = ForwardingStats()
        total.add(self.closed_stats)
        for forwarder in self.forwarders.values():
            total.add(forwarder.stats)
        return total

    # --- called by SfuPeer ------------------------------------------------------------

    def track_published(
        self,
        peer: SfuPeer,
        info: TrackInfo,
        receiver: ForwardingReceiver,
        codecs: list[RTCRtpCodecParameters],
    ) -> None:
        """A participant started sending a track: forward it to everybody else."""
        level_sink = self.speakers.add if info.kind == "audio" else None
        forwarder = TrackForwarder(info, receiver, capabilities_for(info.kind, codecs), level_sink,
                                   self._track_idle)
        self.forwarders[info.track_id] = forwarder
        if self.slotted:
            self.select()
        else:
            for other in self.peers.values():
                if other is not peer:
                    other.subscribe(forwarder)
        logger.info(
            "room %s: %s published %s (%s)", self.room_id, info.participant_id, info.track_id, info.source
        )
        self._emit(TrackPublished(self.room_id, info))

    def track_unpublished(self, info: TrackInfo) -> None:
        """A participant stopped sending a track."""
        forwarder = self.forwarders.pop(info.track_id, None)
        if forwarder is None:
            return
        if self.slotted:
            self.select()  # the slots that showed it move on before its forwarder closes
        forwarder.close()
        self.closed_stats.add(forwarder.stats)
        for other in self.peers.values():
            other.unsubscribe(info.track_id)
        logger.info("room %s: %s unpublished %s", self.room_id, info.participant_id, info.track_id)
        self._emit(TrackUnpublished(self.room_id, info))

    def peer_failed(self, peer: SfuPeer, reason: str) -> None:
        """The participant's connection failed or went silent: remove it and say so."""
        if self.peers.get(peer.participant_id) is not peer:
            return
        logger.warning("room %s: %s removed (%s)", self.room_id, peer.participant_id, reason)
        task = asyncio.ensure_future(self._remove_failed(peer.participant_id, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _remove_failed(self, participant_id: str, reason: str) -> None:
        await self._remove(participant_id, reason=reason)
        await self._stop_if_empty()

    def _track_idle(self, forwarder: TrackForwarder, paused: bool) -> None:
        logger.info("room %s: %s %s (%s)", self.room_id, "pause" if paused else "resume", forwarder.info.track_id,
                    "nobody receives it" if paused else "wanted again")
        self._emit(TrackPaused(self.room_id, forwarder.info, paused))

    # --- receive slots ----------------------------------------------------------------

    @property
    def slotted(self) -> bool:
        """Whether subscribers receive through receive slots (SfuConfig.last_n) rather than a track per m-line."""
        return self._config.last_n > 0

    def slots_ready(self, peer: SfuPeer) -> None:
        """A subscriber's slots can carry media: point them, and tell it where its slots are."""
        if self.peers.get(peer.participant_id) is not peer or peer.slots is None:
            return
        self._show(peer, self._candidates())
        self._emit(SlotsChanged(self.room_id, peer.participant_id, peer.slots.contents()))

    def set_spotlight(self, participant_id: str | None) -> None:
        """Who everybody is shown and hears now (roll call, floor granted); None clears."""
        if participant_id != self.stage.spotlight:
            self.stage.spotlight = participant_id
            self.select()

    def set_main(self, participant_id: str | None) -> None:
        """The main venue's participant, always shown and heard; None: no main venue."""
        if participant_id != self.stage.main:
            self.stage.main = participant_id
            self.select()

    def set_muted(self, participant_id: str, muted: bool) -> None:
        """Whether a participant's microphone is off: a muted microphone is not forwarded to anyone."""
        if (participant_id in self.stage.muted) != muted:
            if muted:
                self.stage.muted.add(participant_id)
            else:
                self.stage.muted.discard(participant_id)
            if self.slotted and self._select_soon is None:
                # mute all changes every microphone at once: one selection for the burst, not one per microphone
                self._select_soon = asyncio.get_running_loop().call_soon(self._selected_soon)

    def _selected_soon(self) -> None:
        self._select_soon = None
        if not self.stopped:
            self.select()

    def set_view(self, participant_id: str, view: View) -> None:
        """What one subscriber asks to see (the tiles on its screen, fewer videos on a small screen)."""
        self.views[participant_id] = view
        peer = self.peers.get(participant_id)
        if peer is not None:
            self.select([peer])

    def select(self, peers: list[SfuPeer] | None = None) -> None:
        """Point the subscribers' slots (everybody's by default) at what each should receive now."""
        candidates = self._candidates()  # once for all of them: this runs at every speaker tick
        for peer in peers if peers is not None else list(self.peers.values()):
            if self._show(peer, candidates):
                assert peer.slots is not None
                self._emit(SlotsChanged(self.room_id, peer.participant_id, peer.slots.contents()))

    def _candidates(self) -> Candidates:
        tracks = [f.info for f in self.forwarders.values()]
        loudness = {t.participant_id: self.speakers.loudness(t.participant_id) for t in tracks if t.kind == "audio"}
        return Candidates(tracks, self.stage, loudness)

    def _show(self, peer: SfuPeer, candidates: Candidates) -> bool:
        slots = peer.slots
        if slots is None or not slots.ready:
            return False
        view = self.views.get(peer.participant_id) or View()
        video = candidates.video(peer.participant_id, view, slots.counts["video"])
        audio = candidates.audio(peer.participant_id, self._config.audio_n)
        small = candidates.small(video, view, self._config.full_rate_tiles)
        return slots.show(video, audio, self.forwarders, small)

    # --- internals --------------------------------------------------------------------

    async def _remove(self, participant_id: str, reason: str | None) -> None:
        peer = self.peers.pop(participant_id, None)
        if peer is None:
            return
        for info in peer.published.values():
            self.track_unpublished(info)
        try:
            await peer.close()
        except Exception:
            logger.exception("room %s: closing %s failed", self.room_id, participant_id)
        self.stage.forget(participant_id)
        self.views.pop(participant_id, None)
        if self.speakers.remove(participant_id):
            self._emit(ActiveSpeakerChanged(self.room_id, None, participant_id))
        if reason is not None:
            self._emit(PeerFailed(self.room_id, participant_id, reason))

    async def _stop_if_empty(self) -> None:
        if not self.peers and not self.stopped:
            await self.stop()

    async def _speaker_loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.speaker_interval)
            previous = self.speakers.current
            speaker = self.speakers.tick()
            if speaker is not None:
                self.stage.spoke(speaker)
                self._emit(ActiveSpeakerChanged(self.room_id, speaker, previous))
            if self.slotted:
                self.select()  # the loudest microphones change with every window


class Sfu:
    """The hub's selective forwarding unit: rooms by id, events to one sink."""

    def __init__(self, config: SfuConfig | None = None, on_event: EventSink | None = None) -> None:
        self.config = config or SfuConfig()
        self.rooms: dict[str, SfuRoom] = {}
        self.events: asyncio.Queue[SfuEvent] = asyncio.Queue()
        self._on_event = on_event
        self._closed_stats = ForwardingStats()
        self._started = False

    def listen(self, on_event: EventSink) -> None:
        """Send every event to `on_event` (called synchronously) instead of the `events` queue."""
        self._on_event = on_event

    async def start(self) -> None:
        """Accept joins."""
        self._started = True

    async def stop(self) -> None:
        """Close every room, peer connection and task."""
        self._started = False
        for room in list(self.rooms.values()):
            await room.stop()

    def _emit(self, event: SfuEvent) -> None:
        if self._on_event is None:
            self.events.put_nowait(event)
            return
        try:
            self._on_event(event)
        except Exception:
            # a broken listener must not break forwarding or room cleanup
            logger.exception("SFU event listener failed on %r", event)

    def _room_closed(self, room: SfuRoom) -> None:
        if self.rooms.get(room.room_id) is room:
            del self.rooms[room.room_id]
        self._closed_stats.add(room.stats())

    async def join(self, room_id: str, participant_id: str, on_offer: OfferSink) -> SfuPeer:
        """Join `participant_id` to room `room_id` (created lazily); `on_offer` delivers server offers."""
        if not self._started:
            raise SfuError("closed", "the SFU is not running")
        if not room_id or not participant_id:
            raise SfuError("bad_request", "room id and participant id are required")
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = SfuRoom(room_id, self.config, self._emit, self._room_closed)
            room.start()
            self._emit(RoomOpened(room_id))
        return await room.join(participant_id, on_offer)

    async def leave(self, room_id: str, participant_id: str) -> None:
        """Remove a participant; unknown rooms or participants are ignored."""
        room = self.rooms.get(room_id)
        if room is not None:
            await room.leave(participant_id)

    def peer(self, room_id: str, participant_id: str) -> SfuPeer | None:
        """The participant's SFU peer, if joined."""
        room = self.rooms.get(room_id)
        return room.peers.get(participant_id) if room else None

    def stats(self) -> ForwardingStats:
        """Forwarding counters since start, over all rooms (open and closed)."""
        total = ForwardingStats()
        total.add(self._closed_stats)
        for room in self.rooms.values():
            total.add(room.stats())
        return total

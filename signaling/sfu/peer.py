"""SfuPeer: one participant's RTCPeerConnection to the SFU, and its negotiation.

Negotiation rules (docs/sfu.md):
- The client offers first (its published tracks, sendonly). The server answers.
- Afterwards the server offers whenever tracks to send to this participant come or
  go; server offers are serialized, one outstanding at a time.
- Glare: the server is the impolite side. A client offer arriving while a server
  offer is outstanding is refused with SfuError("glare"); the server's state is
  untouched. The (polite) client rolls back, answers the server's offer, then offers again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.sdp import candidate_from_sdp

from signaling.sfu.aiortc_internals import (
    ForwardingReceiver,
    ForwardingSender,
    adopt_receiver,
    adopt_sender,
    install_fast_receive,
    transport_rx_packets,
)
from signaling.sfu.events import TrackInfo, TrackSource
from signaling.sfu.forwarding import OutgoingLeg, TrackForwarder
from signaling.sfu.sdp_harmony import ask_for_dtx, harmonize_offer
from signaling.sfu.slots import ReceiveSlots

if TYPE_CHECKING:
    from signaling.sfu.room import SfuRoom

logger = logging.getLogger(__name__)

OfferSink = Callable[[str], Awaitable[None]]


class SfuError(Exception):
    """A refused SFU request; `code`: glare, bad_sdp, no_offer_pending, closed or bad_request."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SfuConfig:
    """SFU settings (the hub's settings build this)."""

    ice_servers: tuple[RTCIceServer, ...] = ()
    negotiation_timeout: float = 15.0
    inactivity_timeout: float = 6.0
    speaker_interval: float = 0.3
    # take media packets straight from the socket callback (aiortc_internals.install_fast_receive)
    fast_receive: bool = True
    # Receive slots (signaling/sfu/slots.py): each participant receives at most `last_n` videos and the
    # `audio_n` loudest microphones plus the spotlight's and the main venue's; 0: every track on its own m-line.
    last_n: int = 0
    audio_n: int = 3
    # Tiles besides the stage a subscriber shows at the full frame rate; more tiles are small and get only the
    # base temporal layer of publishers that send several (VP8 L1T3: a quarter of the frames).
    full_rate_tiles: int = 4


@dataclass
class _Subscription:
    forwarder: TrackForwarder
    transceiver: RTCRtpTransceiver
    leg: OutgoingLeg


class SfuPeer:
    """One participant: publishes its tracks once, receives everyone else's."""

    def __init__(self, room: SfuRoom, participant_id: str, on_offer: OfferSink, config: SfuConfig) -> None:
        self.room = room
        self.participant_id = participant_id
        self._on_offer = on_offer
        self._config = config
        # max-bundle: m-lines added by server offers reuse the one transport instead of
        # creating (then discarding) their own, which races with aiortc's connect task
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=list(config.ice_servers), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self._lock = asyncio.Lock()
        self._server_cycle = False
        self._answer: asyncio.Future[None] | None = None
        self._negotiation_needed = asyncio.Event()
        # Server offers wait until the connection is up: createOffer() resets every transceiver's codecs and
        # header extensions to aiortc's defaults until the answer, and aiortc's first connect task registers
        # the publisher's receivers from exactly those when DTLS comes up -> wrong payload types forever.
        self._transport_up = asyncio.Event()
        self._client_negotiated = False
        self._published: dict[str, TrackInfo] = {}  # publisher-side mid -> track
        self._subscriptions: dict[str, _Subscription] = {}  # track id -> subscription
        self._pending_add: dict[str, TrackForwarder] = {}
        self._pending_remove: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._fast_receive = False
        # with receive slots: made in the first server offer, pointed by the room once the subscriber answered
        self.slots = ReceiveSlots(participant_id, config.last_n, config.audio_n + 2) if config.last_n > 0 else None
        self._slots_starting = False
        self.pc.on("connectionstatechange", self._on_connection_state)

    def start(self) -> None:
        """Start the negotiation loop and the liveness watchdog."""
        self._spawn(self._negotiation_loop())
        self._spawn(self._watchdog())

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def published(self) -> dict[str, TrackInfo]:
        """This participant's published tracks by their mid on this participant's connection."""
        return dict(self._published)

    def subscriptions(self) -> dict[str, TrackInfo]:
        """mid on this participant's connection -> the track it carries (for labelling tiles)."""
        result: dict[str, TrackInfo] = {}
        for sub in self._subscriptions.values():
            mid = sub.transceiver.mid
            if mid is not None:
                result[mid] = sub.forwarder.info
        for content in self.slots.contents() if self.slots is not None else ():
            if content.mid is not None and content.track is not None:
                result[content.mid] = content.track
        return result

    # --- client-initiated negotiation -------------------------------------------------

    async def handle_offer(self, sdp: str, sources: Mapping[str, str] | None = None) -> str:
        """Apply the client's offer and return the answer SDP.

        `sources` maps a mid or msid track id of the offer to "camera", "microphone"
        or "screen"; by default audio is the microphone, the first video the camera
        and further videos screen shares.
        """
        if self._closed:
            raise SfuError("closed", "this participant has left")
        if self._server_cycle:
            raise SfuError("glare", "a server offer is pending: answer it, then offer again")
        parsed_sources = _parse_sources(sources)
        async with self._lock:
            if self._server_cycle:
                raise SfuError("glare", "a server offer is pending: answer it, then offer again")
            description = _parse_sdp(sdp, "offer")
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                for transceiver in self.pc.getTransceivers():
                    if not isinstance(transceiver.sender, ForwardingSender):
                        adopt_receiver(transceiver.receiver)
                created = await self.pc.createAnswer()
                await self.pc.setLocalDescription(RTCSessionDescription(sdp=ask_for_dtx(created.sdp), type="answer"))
            except SfuError:
                raise
            except Exception as exc:
                logger.info("offer from %s refused: %s", self.participant_id, exc)
                raise SfuError("bad_sdp", f"offer refused: {exc}") from exc
            self._client_negotiated = True
            self._sync_publications(description, parsed_sources)
            if not self._fast_receive and self._config.fast_receive:
                self._spawn(self._install_fast_receive())
            answer = self.pc.localDescription.sdp
        if self._pending_add or self._pending_remove or (self.slots is not None and not self.slots.slots):
            self._negotiation_needed.set()
        return answer

    def _sync_publications(
        self, offer: aiortc_sdp.SessionDescription, sources: dict[str, TrackSource]
    ) -> None:
        ours = {sub.transceiver.mid for sub in self._subscriptions.values()}
        answer = aiortc_sdp.SessionDescription.parse(self.pc.localDescription.sdp)
        answer_codecs = {m.rtp.muxId: m.rtp.codecs for m in answer.media}
        for media in offer.media:
            mid = media.rtp.muxId
            if media.kind not in ("audio", "video") or mid in ours:
                continue
            sending = media.direction in ("sendonly", "sendrecv") and media.port != 0
            if sending and mid not in self._published and answer_codecs.get(mid):
                transceiver = next(t for t in self.pc.getTransceivers() if t.mid == mid)
                receiver = transceiver.receiver
                assert isinstance(receiver, ForwardingReceiver)
                source = sources.get(mid) or sources.get(offer.webrtc_track_id(media) or "")
                info = TrackInfo(
                    track_id=f"{self.participant_id}-{uuid.uuid4().hex[:12]}",
                    participant_id=self.participant_id,
                    kind=media.kind,
                    source=source or self._default_source(media.kind),
                )
                self._published[mid] = info
                self.room.track_published(self, info, receiver, answer_codecs[mid])
            elif not sending and mid in self._published:
                self.room.track_unpublished(self._published.pop(mid))

    def _default_source(self, kind: str) -> TrackSource:
        if kind == "audio":
            return TrackSource.MICROPHONE
        if any(t.source == TrackSource.CAMERA for t in self._published.values()):
            return TrackSource.SCREEN
        return TrackSource.CAMERA

    async def add_ice_candidate(self, candidate: Mapping[str, object] | None) -> None:
        """Add a trickled client candidate ({"candidate", "sdpMid", "sdpMLineIndex"}); None ends trickling."""
        if candidate is None or not candidate.get("candidate"):
            return
        line = str(candidate["candidate"])
        if line.startswith("candidate:"):
            line = line[len("candidate:") :]
        try:
            ice = candidate_from_sdp(line)
        except Exception as exc:  # aiortc asserts on malformed lines
            raise SfuError("bad_request", f"malformed ICE candidate: {line[:80]!r}") from exc
        mid = candidate.get("sdpMid")
        index = candidate.get("sdpMLineIndex")
        ice.sdpMid = str(mid) if mid is not None else None
        ice.sdpMLineIndex = int(index) if isinstance(index, int) else None
        if ice.sdpMid is None and ice.sdpMLineIndex is None:
            raise SfuError("bad_request", "ICE candidate without sdpMid or sdpMLineIndex")
        try:
            await self.pc.addIceCandidate(ice)
        except Exception as exc:
            raise SfuError("bad_request", f"ICE candidate refused: {exc}") from exc

    # --- server-initiated negotiation -------------------------------------------------

    async def handle_answer(self, sdp: str) -> None:
        """Apply the client's answer to the outstanding server offer."""
        answer = self._answer
        if answer is None or answer.done():
            raise SfuError("no_offer_pending", "no server offer is waiting for an answer")
        _parse_sdp(sdp, "answer")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            logger.info("answer from %s refused: %s", self.participant_id, exc)
            raise SfuError("bad_sdp", f"answer refused: {exc}") from exc
        if not answer.done():
            answer.set_result(None)

    def subscribe(self, forwarder: TrackForwarder) -> None:
        """Send `forwarder`'s track to this participant (at the next server offer)."""
        track_id = forwarder.info.track_id
        self._pending_remove.discard(track_id)
        if track_id not in self._subscriptions:
            self._pending_add[track_id] = forwarder
            self._negotiation_needed.set()

    def unsubscribe(self, track_id: str) -> None:
        """Stop sending a track to this participant (its m-line goes inactive at the next server offer)."""
        if self._pending_add.pop(track_id, None) is not None:
            return
        sub = self._subscriptions.get(track_id)
        if sub is not None:
            sub.forwarder.remove_leg(sub.leg)
            self._pending_remove.add(track_id)
            self._negotiation_needed.set()

    async def _negotiation_loop(self) -> None:
        while True:
            await self._negotiation_needed.wait()
            if not self._client_negotiated:
                # the first offer is the client's; handle_offer re-arms us
                self._negotiation_needed.clear()
                continue
            await self._transport_up.wait()
            async with self._lock:
                self._server_cycle = True
                try:
                    self._negotiation_needed.clear()
                    new = await self._apply_pending()
                    if new is not None:
                        await self._server_offer_cycle(new)
                finally:
                    self._server_cycle = False

    async def _apply_pending(self) -> list[_Subscription] | None:
        if self.slots is not None and not self.slots.slots:
            self.slots.create(self.pc)
            return []
        if not self._pending_add and not self._pending_remove:
            return None
        for track_id in list(self._pending_remove):
            sub = self._subscriptions.pop(track_id, None)
            if sub is not None:
                sub.transceiver.direction = "inactive"
                await sub.transceiver.sender.stop()  # RTCP BYE: the subscriber's track ends
        self._pending_remove.clear()
        new: list[_Subscription] = []
        for track_id, forwarder in self._pending_add.items():
            info = forwarder.info
            transceiver = self.pc.addTransceiver(info.kind, direction="sendonly")
            transceiver.setCodecPreferences(forwarder.capabilities)
            sender = adopt_sender(transceiver.sender, stream_id=info.participant_id, track_id=info.track_id)
            sub = _Subscription(forwarder, transceiver, OutgoingLeg(forwarder, sender, self.participant_id))
            self._subscriptions[track_id] = sub
            new.append(sub)
        self._pending_add.clear()
        return new

    async def _server_offer_cycle(self, new: list[_Subscription]) -> None:
        if self._closed or self.pc.signalingState == "closed":
            return
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        try:
            offer = await self.pc.createOffer()
            remote = self.pc.remoteDescription
            sdp = ask_for_dtx(harmonize_offer(offer.sdp, remote.sdp if remote is not None else None))
            await self.pc.setLocalDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await self._on_offer(self.pc.localDescription.sdp)
            await asyncio.wait_for(asyncio.shield(self._answer), self._config.negotiation_timeout)
        except TimeoutError:
            logger.warning("participant %s did not answer the server offer", self.participant_id)
            self._fail("negotiation_timeout")
            return
        except Exception:
            if self._closed or self.pc.signalingState == "closed":
                return
            logger.exception("server offer to %s failed", self.participant_id)
            self._fail("failed")
            return
        finally:
            self._answer = None
        for sub in new:
            self._spawn(self._start_leg(sub))
        if self.slots is not None and self.slots.slots and not self._slots_starting:
            self._slots_starting = True
            self._spawn(self._start_slots())

    async def _start_slots(self) -> None:
        # The room points the slots once every sender can send, so the key frames asked for are not wasted.
        assert self.slots is not None
        for slot in self.slots.slots:
            await slot.leg.sender.wait_ready()
        if not self._closed:
            self.slots.ready = True
            self.room.slots_ready(self)

    async def _start_leg(self, sub: _Subscription) -> None:
        # Join the forwarder only once the sender can send, so the key frame asked for now is not wasted.
        await sub.leg.sender.wait_ready()
        if self._subscriptions.get(sub.forwarder.info.track_id) is sub and not sub.leg.closed:
            sub.forwarder.add_leg(sub.leg)

    async def _install_fast_receive(self) -> None:
        # the ICE connection has its sockets once gathering is done, i.e. after our first answer
        self._fast_receive = True
        transport = self.pc.getTransceivers()[0].receiver.transport
        for _ in range(100):
            if install_fast_receive(transport):
                return
            await asyncio.sleep(0.05)
        logger.warning("participant %s: media stays on aiortc's queued receive path", self.participant_id)

    # --- liveness ---------------------------------------------------------------------

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self._transport_up.set()
        logger.debug("participant %s connection %s", self.participant_id, state)
        if state in ("failed", "closed") and not self._closed:
            self._fail(state)

    async def _watchdog(self) -> None:
        last_rx = -1
        silent_for = 0.0
        interval = min(1.0, self._config.inactivity_timeout / 3)
        while True:
            await asyncio.sleep(interval)
            receiving = self._subscriptions or (self.slots is not None and self.slots.slots)
            if self.pc.connectionState != "connected" or not (self._published or receiving):
                silent_for = 0.0
                continue
            rx = transport_rx_packets(self.pc.getTransceivers()[0].receiver)
            silent_for = silent_for + interval if rx == last_rx else 0.0
            last_rx = rx
            if silent_for >= self._config.inactivity_timeout:
                logger.warning("participant %s silent for %.1fs", self.participant_id, silent_for)
                self._fail("inactive")
                return

    def _fail(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self.room.peer_failed(self, reason)

    async def close(self) -> None:
        """Stop forwarding to and from this participant and close its connection."""
        self._closed = True
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for sub in self._subscriptions.values():
            sub.forwarder.remove_leg(sub.leg)
        self._subscriptions.clear()
        if self.slots is not None:
            self.slots.close()
        self._pending_add.clear()
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        # shielded: cancelling a caller must not cancel aiortc's shared "closed" future mid-close
        await asyncio.shield(self.pc.close())


def _parse_sdp(sdp: str, kind: str) -> aiortc_sdp.SessionDescription:
    if not isinstance(sdp, str) or not sdp.strip():
        raise SfuError("bad_sdp", f"empty {kind}")
    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:
        raise SfuError("bad_sdp", f"unparsable {kind}: {exc}") from exc
    if not description.media:
        raise SfuError("bad_sdp", f"{kind} has no media section")
    return description


def _parse_sources(sources: Mapping[str, str] | None) -> dict[str, TrackSource]:
    result: dict[str, TrackSource] = {}
    for key, value in (sources or {}).items():
        try:
            result[str(key)] = TrackSource(value)
        except ValueError as exc:
            raise SfuError("bad_request", f"unknown track source {value!r} for {key!r}") from exc
    return result


def capabilities_for(kind: str, codecs: list[RTCRtpCodecParameters]) -> list[RTCRtpCodecCapability]:
    """The local capabilities matching a publisher's negotiated codecs, in its order (RTX included)."""
    available = RTCRtpSender.getCapabilities(kind).codecs
    wanted = [c.mimeType.lower() for c in codecs]
    ordered: list[RTCRtpCodecCapability] = []
    for mime in wanted:
        for cap in available:
            if cap.mimeType.lower() == mime and cap not in ordered:
                ordered.append(cap)
    return ordered

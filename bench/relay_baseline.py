"""The transcoding baseline for bench/sfu_forwarding.py: what aiortc's public API offers.

One RTCPeerConnection per participant; every published track is decoded once
(aiortc's RTCRtpReceiver) and re-encoded for every subscriber (MediaRelay +
RTCRtpSender). Same negotiation shape as the SFU: client offers first, the hub
offers when tracks come.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay

OfferSink = Callable[[str], Awaitable[None]]


class RelayPeer:
    """One participant's connection to the relay hub."""

    def __init__(self, participant_id: str, on_offer: OfferSink) -> None:
        self.participant_id = participant_id
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.on_offer = on_offer
        self.lock = asyncio.Lock()
        self.answer: asyncio.Future[None] | None = None
        self.pending: list[MediaStreamTrack] = []


class RelayHub:
    """Decode once, re-encode per subscriber."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.peers: dict[str, RelayPeer] = {}
        self.tracks: list[tuple[str, MediaStreamTrack]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self, participant_id: str, offer: str, on_offer: OfferSink) -> str:
        """Answer a participant's first offer; its tracks are relayed to everyone else."""
        peer = RelayPeer(participant_id, on_offer)
        self.peers[participant_id] = peer
        published: list[MediaStreamTrack] = []
        peer.pc.on("track", published.append)
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        for _owner, track in self.tracks:
            peer.pending.append(self.relay.subscribe(track, buffered=False))
        for track in published:
            self.tracks.append((participant_id, track))
            for other in self.peers.values():
                if other is not peer:
                    other.pending.append(self.relay.subscribe(track, buffered=False))
        for other in self.peers.values():
            if other.pending:
                self._spawn(self._renegotiate(other))
        return peer.pc.localDescription.sdp

    async def handle_answer(self, participant_id: str, sdp: str) -> None:
        """Apply a participant's answer to the hub's offer."""
        peer = self.peers[participant_id]
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        if peer.answer is not None and not peer.answer.done():
            peer.answer.set_result(None)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _renegotiate(self, peer: RelayPeer) -> None:
        async with peer.lock:
            if not peer.pending:
                return
            for track in peer.pending:
                peer.pc.addTransceiver(track, direction="sendonly")
            peer.pending.clear()
            peer.answer = asyncio.get_running_loop().create_future()
            await peer.pc.setLocalDescription(await peer.pc.createOffer())
            await peer.on_offer(peer.pc.localDescription.sdp)
            await asyncio.wait_for(peer.answer, 20)

    async def packets_sent(self) -> int:
        """RTP packets the hub has sent, over all participants."""
        total = 0
        for peer in self.peers.values():
            for sender in peer.pc.getSenders():
                if sender.track is None:
                    continue
                for stat in (await sender.getStats()).values():
                    if stat.type == "outbound-rtp":
                        total += stat.packetsSent
        return total

    def streams(self) -> int:
        """Tracks being sent to subscribers."""
        return sum(1 for p in self.peers.values() for s in p.pc.getSenders() if s.track is not None)

    async def stop(self) -> None:
        """Close every connection."""
        for task in list(self._tasks):
            task.cancel()
        for peer in self.peers.values():
            await peer.pc.close()
        self.peers.clear()

"""The media of one video phone call on an office terminal: an aiortc peer connection to the other end.

It sends the SFU helper's synthetic tracks (signaling.media_client: a moving test pattern and a tone) or a
media file, receives the other end's audio and video, and counts the frames it decodes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from aiortc.sdp import candidate_from_sdp

from signaling.media_client import PatternVideoTrack, ReceivedTrack, ToneTrack, count_frames

log = logging.getLogger(__name__)

TEST_PATTERN = "test-pattern"


def rtc_ice_servers(servers: list[dict[str, Any]]) -> list[RTCIceServer]:
    """The hub's ICE server dicts (urls, username, credential) as aiortc objects."""
    return [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in servers
    ]


class CallMedia:
    """One call's RTCPeerConnection: send test pattern + tone (or a file), receive and decode the other end."""

    def __init__(self, ice_servers: list[dict[str, Any]], video: str = TEST_PATTERN) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=rtc_ice_servers(ice_servers)))
        self.received: dict[str, ReceivedTrack] = {}
        self._player: MediaPlayer | None = None
        self._tracks: list[MediaStreamTrack] = []
        if video == TEST_PATTERN:
            self._tracks = [PatternVideoTrack(), ToneTrack()]
        else:
            self._player = MediaPlayer(video)
            self._tracks = [t for t in (self._player.video, self._player.audio) if t is not None]
        kinds = {t.kind for t in self._tracks}
        for track in self._tracks:
            self.pc.addTrack(track)
        # Receive both kinds even when the file has only one of them.
        for kind in ("audio", "video"):
            if kind not in kinds:
                self.pc.addTransceiver(kind, direction="recvonly")
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._closed = False
        self.pc.on("track", self._on_track)

    @property
    def state(self) -> str:
        """The peer connection's connection state."""
        return str(self.pc.connectionState)

    async def offer(self) -> dict[str, str]:
        """Our offer (with every candidate gathered, aiortc does not trickle)."""
        async with self._lock:
            await self.pc.setLocalDescription(await self.pc.createOffer())
            return {"type": "offer", "sdp": self.pc.localDescription.sdp}

    async def accept(self, description: dict[str, str]) -> dict[str, str] | None:
        """Apply the other end's description; returns our answer when it was an offer."""
        async with self._lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=description["sdp"], type=description["type"]))
            if description["type"] != "offer":
                return None
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            return {"type": "answer", "sdp": self.pc.localDescription.sdp}

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        """A trickled ICE candidate from the other end (an empty one means end-of-candidates)."""
        text = str(candidate.get("candidate") or "")
        if not text:
            return
        async with self._lock:
            if self.pc.remoteDescription is None:
                return
            parsed = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
            parsed.sdpMid = candidate.get("sdpMid")
            parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
            try:
                await self.pc.addIceCandidate(parsed)
            except ValueError as exc:
                log.debug("ignoring a remote candidate: %s", exc)

    def frames(self, kind: str) -> int:
        """Frames decoded so far from the other end's tracks of one kind."""
        return sum(t.frames for t in self.received.values() if t.kind == kind)

    def _on_track(self, track: MediaStreamTrack) -> None:
        received = ReceivedTrack(track_id=track.id, kind=track.kind, subscribed_at=time.monotonic())
        self.received[track.id] = received
        task = asyncio.ensure_future(count_frames(track, received))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


    async def close(self) -> None:
        """Close the connection, stop our tracks and the decoding tasks."""
        if self._closed:
            return
        self._closed = True
        await self.pc.close()
        for track in self._tracks:
            track.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

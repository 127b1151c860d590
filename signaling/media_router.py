"""Where a meeting's media goes: a small interface in front of the SFU room that holds it.

LocalMediaRouter: every room in this node's SFU (one node). With several nodes a room has an owner node and
signaling.cluster_media.ClusterMediaRouter relays these calls to it, the meeting signaling unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from hub.errors import Conflict, HubError
from signaling.sfu import Sfu, SfuError, SfuEvent, TrackInfo
from signaling.sfu.selection import View

OfferSink = Callable[[str], Awaitable[None]]

_STATUS = {"glare": 409, "no_offer_pending": 409, "closed": 409, "bad_sdp": 400, "bad_request": 400}


class MediaRouter(Protocol):
    """The SFU side of meetings, by meeting and participant id."""

    async def join(self, meeting_id: str, participant_id: str, on_offer: OfferSink) -> None: ...

    async def leave(self, meeting_id: str, participant_id: str) -> None: ...

    async def offer(self, meeting_id: str, participant_id: str, sdp: str, sources: Mapping[str, str]) -> str: ...

    async def answer(self, meeting_id: str, participant_id: str, sdp: str) -> None: ...

    async def candidate(self, meeting_id: str, participant_id: str, candidate: Mapping[str, Any] | None) -> None: ...

    async def tracks(self, meeting_id: str) -> list[TrackInfo]: ...

    async def view(self, meeting_id: str, participant_id: str, visible: list[str], last_n: int | None) -> None: ...


def sfu_refusal(exc: SfuError) -> HubError:
    """An SFU refusal as the error reply the client sees (glare, bad_sdp, ...)."""
    return HubError(exc.code, exc.message, _STATUS.get(exc.code, 400))


class LocalMediaRouter:
    """Every room in this process's SFU."""

    def __init__(self, sfu: Sfu) -> None:
        self.sfu = sfu

    def _peer(self, meeting_id: str, participant_id: str) -> Any:
        peer = self.sfu.peer(meeting_id, participant_id)
        if peer is None:
            raise Conflict("no_media_session", "the media connection is gone: join the meeting again")
        return peer

    async def join(self, meeting_id: str, participant_id: str, on_offer: OfferSink) -> None:
        try:
            await self.sfu.join(meeting_id, participant_id, on_offer)
        except SfuError as exc:
            raise sfu_refusal(exc) from None

    async def leave(self, meeting_id: str, participant_id: str) -> None:
        await self.sfu.leave(meeting_id, participant_id)

    async def offer(self, meeting_id: str, participant_id: str, sdp: str, sources: Mapping[str, str]) -> str:
        try:
            return str(await self._peer(meeting_id, participant_id).handle_offer(sdp, sources))
        except SfuError as exc:
            raise sfu_refusal(exc) from None

    async def answer(self, meeting_id: str, participant_id: str, sdp: str) -> None:
        try:
            await self._peer(meeting_id, participant_id).handle_answer(sdp)
        except SfuError as exc:
            raise sfu_refusal(exc) from None

    async def candidate(self, meeting_id: str, participant_id: str, candidate: Mapping[str, Any] | None) -> None:
        try:
            await self._peer(meeting_id, participant_id).add_ice_candidate(candidate)
        except SfuError as exc:
            raise sfu_refusal(exc) from None

    async def tracks(self, meeting_id: str) -> list[TrackInfo]:
        room = self.sfu.rooms.get(meeting_id)
        return room.tracks() if room is not None else []

    async def view(self, meeting_id: str, participant_id: str, visible: list[str], last_n: int | None) -> None:
        self._peer(meeting_id, participant_id)
        room = self.sfu.rooms[meeting_id]
        room.set_view(participant_id, View(tuple(visible), last_n))


__all__ = ["LocalMediaRouter", "MediaRouter", "SfuEvent", "sfu_refusal"]

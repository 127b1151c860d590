"""MeetingRooms: finds (and opens) this node's MeetingRoom of a meeting; routes sessions and SFU events to it.

The registry holds no meeting state of its own: a room opens on the first local join (or when this node's SFU
opens the meeting's media room) and closes itself when its last local member is gone (signaling.meeting_room).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub import keys
from hub.bus.base import Bus
from hub.calls.ice import ice_servers
from hub.errors import Conflict, HubError
from hub.meetings.conference import Conference
from hub.meetings.service import MeetingService, presence_group
from hub.recordings.service import RecordingService
from hub.settings import Settings
from signaling.media_router import MediaRouter
from signaling.meeting_room import MeetingRoom, RoomStopped, not_joined
from signaling.participants import Member, Order, OrderMessage, direct_channel
from signaling.session import Session
from signaling.sfu import RoomClosed, RoomOpened, Sfu, SfuEvent

log = logging.getLogger(__name__)

STATE = "meetings"  # Session.state key: the session's Member
CLEANUP = "meetings_cleanup"


class MeetingRooms:
    """This node's live meetings, one MeetingRoom per meeting id."""

    def __init__(self, settings: Settings, service: MeetingService, conference: Conference, bus: Bus, sfu: Sfu,
                 media: MediaRouter, recordings: RecordingService | None = None) -> None:
        self.settings = settings
        self.recordings = recordings
        self.service = service
        self.conference = conference
        self.floor = conference.floor
        self.bus = bus
        self.sfu = sfu
        self.media = media
        self.rooms: dict[str, MeetingRoom] = {}
        self._running = False

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        """Close every room: local participants leave, hosted media closes."""
        self._running = False
        for room in list(self.rooms.values()):
            await room.stop()

    def _ice(self, person_id: str) -> list[dict[str, Any]]:
        return ice_servers(self.settings.ice, person_id, self.service.clock.timestamp())

    def _open(self, meeting_id: str) -> MeetingRoom:
        room = MeetingRoom(meeting_id, self.settings.meetings, self.service, self.conference, self.bus, self.media,
                           self._ice, self._closed, recordings=self.recordings)
        self.rooms[meeting_id] = room
        task = asyncio.ensure_future(room.start())
        # a failed start is re-raised to the joins waiting on room.started
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return room

    def _closed(self, room: MeetingRoom) -> None:
        if self.rooms.get(room.meeting_id) is room:
            del self.rooms[room.meeting_id]

    def room(self, meeting_id: str) -> MeetingRoom:
        """The meeting's open room on this node, opened if there is none."""
        room = self.rooms.get(meeting_id)
        if room is None or room.stopped:
            if not self._running:
                raise HubError("shutting_down", "this node is shutting down: connect again", 503)
            room = self._open(meeting_id)
        return room

    # --- sessions ------------------------------------------------------------------------------------------

    @staticmethod
    def member_of(session: Session) -> Member | None:
        """The session's place in a meeting (joined or in the lobby), if any."""
        member = session.state.get(STATE)
        return member if isinstance(member, Member) and not member.left else None

    def joined(self, session: Session, meeting_id: str) -> Member:
        """The session's membership in `meeting_id` once in (not in the lobby), or `not_joined`."""
        member = self.member_of(session)
        if member is None or member.room.meeting_id != meeting_id or not member.joined:
            raise not_joined(meeting_id)
        return member

    async def join(self, session: Session, meeting_id: str, replaces: str | None = None, *, audio: bool = True,
                   video: bool = True) -> dict[str, Any]:
        """Join a meeting (or its lobby); rejoining the same meeting starts a fresh media session."""
        current = self.member_of(session)
        if current is not None:
            if current.room.meeting_id != meeting_id:
                raise Conflict("already_in_meeting", f"leave meeting {current.room.meeting_id} first")
            await current.room.leave(current, "rejoined")
        auth = session.app[keys.AUTH]
        assert session.principal is not None
        # the directory has the last word at every join, not only at connect
        session.principal = await auth.recheck(session.principal)
        if not session.state.get(CLEANUP):
            session.state[CLEANUP] = True
            session.on_close(lambda: self.leave(session, "disconnected"))
        while True:
            room = self.room(meeting_id)
            try:
                member, result = await room.join(session, replaces, audio=audio, video=video)
            except RoomStopped:
                continue  # its last member left while this join was on its way in: open it again
            session.state[STATE] = member
            return result

    async def leave(self, session: Session, reason: str) -> None:
        """Take a session out of its meeting or lobby (idempotent)."""
        member = self.member_of(session)
        session.state.pop(STATE, None)
        if member is not None:
            await member.room.leave(member, reason)

    # --- the SFU and the other nodes -----------------------------------------------------------------------

    def on_sfu_event(self, event: SfuEvent) -> None:
        """The SFU's events (synchronous), each to the room of its meeting; a media room opened here opens one."""
        room = self.rooms.get(event.room_id)
        if isinstance(event, RoomOpened):
            if room is None or room.stopped:
                room = self._open(event.room_id)  # the media of participants whose sockets are on other nodes
            room.host(self.sfu.rooms[event.room_id])
        if room is None:
            if isinstance(event, RoomClosed):
                return  # the meeting's room stopped first (and stopped its SFU room)
            log.warning("meeting %s: SFU event %s without a room on this node", event.room_id,
                        type(event).__name__)
            return
        room.on_sfu_event(event)

    async def media_lost(self, meeting_id: str, participant_id: str) -> None:
        """The node holding a local participant's media is gone: it leaves, and its client joins again."""
        await self.bus.publish(direct_channel(meeting_id, participant_id),
                               OrderMessage(Order.MEDIA_LOST, reason="node_lost").to_bus())

    async def node_lost(self, meeting_id: str, participant_id: str) -> None:
        """A participant whose socket was on a node that died (its peer in this SFU is gone): out of the meeting."""
        group = presence_group(meeting_id)
        try:
            info = (await self.bus.presence_members(group)).get(participant_id) or {}
            await self.bus.presence_remove(group, participant_id)
            await self.conference.attendance.left(meeting_id, participant_id, "node_lost")
            await self.service.publish(meeting_id, "participant.left", {
                "participant_id": participant_id, "person_id": str(info.get("person_id", "")), "reason": "node_lost",
            })
            # should its node be alive after all (a stall, not a death), its session leaves and joins again
            await self.media_lost(meeting_id, participant_id)
        except HubError as exc:
            log.warning("meeting %s: %s of a lost node not taken out (%s)", meeting_id, participant_id, exc.message)
            return
        log.info("meeting %s: %s left (its node is gone)", meeting_id, participant_id)


"""This node's side of meetings: who of its sessions is in which meeting or lobby, and their media.

Everything other participants must hear about goes through the bus channel `meeting.{id}` (every
participant's session follows it and forwards its events, including other domains' such as
`decision.recorded`); orders for one participant (admit, mute, remove, ...) go to its own channel
`meeting.{id}.to.{participant}`, wherever its session lives. Who is in a meeting is bus presence.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from hub import keys
from hub.bus.base import Bus, Message
from hub.directory.model import Role
from hub.errors import Conflict, HubError, NotFound
from hub.meetings.model import JoinDecision, Meeting
from hub.meetings.service import MeetingService, channel, lobby_group, presence_group
from hub.settings import Settings
from signaling.media_router import MediaRouter
from signaling.session import Session
from signaling.sfu import ActiveSpeakerChanged, PeerFailed, SfuEvent, TrackInfo, TrackPublished, TrackUnpublished

log = logging.getLogger(__name__)

STATE = "meetings"


def direct_channel(meeting_id: str, participant_id: str) -> str:
    """Orders for one participant (or lobby waiter), wherever its session lives."""
    return f"meeting.{meeting_id}.to.{participant_id}"


@dataclass
class Attendance:
    """One session's place in one meeting: waiting in the lobby, or in."""

    meeting_id: str
    participant_id: str
    info: dict[str, Any]
    joined: bool = False
    moderator: bool = False
    channels: list[str] = field(default_factory=list)


def track_json(track: TrackInfo) -> dict[str, str]:
    """A published track as clients see it (its track id is the msid track id of the stream they receive)."""
    return {"track_id": track.track_id, "participant_id": track.participant_id, "kind": track.kind,
            "source": track.source.value}


class MeetingRooms:
    """Joins, lobby, moderation orders and media of this node's sessions; SFU events to the bus."""

    def __init__(self, settings: Settings, service: MeetingService, bus: Bus, media: MediaRouter) -> None:
        self.settings = settings
        self.service = service
        self.bus = bus
        self.media = media
        self.attendance: dict[str, tuple[Session, Attendance]] = {}  # participant id -> session
        self._tasks: set[asyncio.Task[None]] = set()
        self._refresher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Keep this node's participants present on the bus."""
        self._refresher = asyncio.create_task(self._refresh(), name="meeting-presence")

    async def stop(self) -> None:
        """Take every local participant out, stop every task."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for session, _ in list(self.attendance.values()):
            await self.leave(session, "shutdown")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self) -> None:
        ttl = self.settings.meetings.presence_ttl
        while True:
            await asyncio.sleep(ttl / 3)
            for _, att in list(self.attendance.values()):
                group = presence_group(att.meeting_id) if att.joined else lobby_group(att.meeting_id)
                with contextlib.suppress(Exception):
                    await self.bus.presence_set(group, att.participant_id, att.info, ttl)

    # --- joining -------------------------------------------------------------------------------------------

    @staticmethod
    def attendance_of(session: Session) -> Attendance | None:
        """The meeting (or lobby) this session is in."""
        att = session.state.get(STATE)
        return att if isinstance(att, Attendance) else None

    def joined(self, session: Session, meeting_id: str) -> Attendance:
        """This session's attendance in `meeting_id`, or `not_joined`."""
        att = self.attendance_of(session)
        if att is None or att.meeting_id != meeting_id or not att.joined:
            raise Conflict("not_joined", f"join meeting {meeting_id!r} first")
        return att

    async def join(self, session: Session, meeting_id: str, replaces: str | None = None) -> dict[str, Any]:
        """Join a meeting (or its lobby); rejoining the same meeting starts a fresh media session."""
        current = self.attendance_of(session)
        if current is not None:
            if current.meeting_id != meeting_id:
                raise Conflict("already_in_meeting", f"leave meeting {current.meeting_id} first")
            await self.leave(session, "rejoined")
        auth = session.app[keys.AUTH]
        assert session.principal is not None
        # the directory has the last word at every join, not only at connect
        session.principal = principal = await auth.recheck(session.principal)
        meeting, decision = await self.service.join_decision(principal, meeting_id)
        unit = principal.org_unit
        info = {
            "participant_id": session.id,
            "person_id": principal.id,
            "name": principal.person.name,
            "title": principal.person.title,
            "org_unit_id": unit.id,
            "org_unit_name": unit.name,
            "role": meeting.role_of(principal.id).value,
            "audio": True,
            "video": True,
            "screen": False,
            "hand": False,
            "joined_at": time.time(),
        }
        att = Attendance(meeting_id, session.id, info)
        session.state[STATE] = att
        self.attendance[session.id] = (session, att)
        if not session.state.get("meetings_cleanup"):
            session.state["meetings_cleanup"] = True
            session.on_close(lambda: self.leave(session, "disconnected"))
        try:
            await self._follow(session, att, direct_channel(meeting_id, session.id), self._on_order)
            await self._follow(session, att, channel(meeting_id), self._on_meeting_event)
            if decision == JoinDecision.LOBBY:
                await self.bus.presence_set(lobby_group(meeting_id), session.id, info,
                                            self.settings.meetings.presence_ttl)
                await self.service.publish(meeting_id, "lobby.waiting", {"participant": info})
                log.info("meeting %s: %s (%s) waits in the lobby", meeting_id, principal.id, session.id)
                return {"status": "lobby", "participant_id": session.id, "meeting": meeting.to_dict()}
            return await self._enter(session, att, meeting, replaces)
        except Exception:
            # half a join is no join: nobody should see a participant that never made it in
            await self.leave(session, "failed")
            raise

    async def _follow(self, session: Session, att: Attendance, name: str, handler: Any) -> None:
        async def on_message(message: Message) -> None:
            await handler(session, att, message)

        await session.follow(name, on_message)
        att.channels.append(name)

    async def _enter(self, session: Session, att: Attendance, meeting: Meeting, replaces: str | None) -> dict[str, Any]:
        meeting_id = att.meeting_id
        principal = session.principal
        assert principal is not None

        async def on_offer(sdp: str) -> None:
            session.send_event("sdp.offer", {"meeting_id": meeting_id, "sdp": sdp})

        await self.media.join(meeting_id, att.participant_id, on_offer)
        att.joined = True
        await self.bus.presence_remove(lobby_group(meeting_id), att.participant_id)
        await self.bus.presence_set(
            presence_group(meeting_id), att.participant_id, att.info, self.settings.meetings.presence_ttl
        )
        await self.service.mark_live(meeting_id)
        await self.service.publish(meeting_id, "participant.joined", {"participant": att.info})
        if replaces and replaces != att.participant_id:
            previous = (await self.bus.presence_members(presence_group(meeting_id))).get(replaces)
            if previous is not None and previous.get("person_id") == principal.id:
                await self.bus.publish(direct_channel(meeting_id, replaces), {"order": "replaced"})
        log.info("meeting %s: %s joined as %s", meeting_id, principal.id, att.participant_id)
        moderator = principal.id == meeting.chair_id or principal.has(Role.ADMIN)
        att.moderator = moderator
        history = await self.service.recent_chat(meeting_id, self.settings.meetings.chat_history)
        participants = await self.service.participants(meeting_id)
        if replaces:
            participants = [p for p in participants if p.get("participant_id") != replaces]
        return {
            "status": "joined",
            "participant_id": att.participant_id,
            "meeting": meeting.to_dict(),
            "role": att.info["role"],
            "moderator": moderator,
            "participants": participants,
            "tracks": [track_json(t) for t in await self.media.tracks(meeting_id)],
            "chat": [m.to_dict() for m in history],
            "lobby": await self.service.lobby(meeting_id) if moderator else [],
            "ice_servers": ice_servers(self.settings, principal.id),
        }

    async def leave(self, session: Session, reason: str) -> None:
        """Take a session out of its meeting or lobby; everyone else hears it (idempotent)."""
        att = self.attendance_of(session)
        if att is None:
            return
        session.state.pop(STATE, None)
        self.attendance.pop(att.participant_id, None)
        for name in att.channels:
            await session.unfollow(name)
        try:
            if att.joined:
                await self.media.leave(att.meeting_id, att.participant_id)
                await self.bus.presence_remove(presence_group(att.meeting_id), att.participant_id)
                await self.service.publish(
                    att.meeting_id, "participant.left",
                    {"participant_id": att.participant_id, "person_id": att.info["person_id"], "reason": reason},
                )
            else:
                await self.bus.presence_remove(lobby_group(att.meeting_id), att.participant_id)
                await self.service.publish(att.meeting_id, "lobby.left",
                                           {"participant_id": att.participant_id, "reason": reason})
        except Exception:
            log.exception("meeting %s: cleaning up %s failed", att.meeting_id, att.participant_id)
        log.info("meeting %s: %s left (%s)", att.meeting_id, att.participant_id, reason)

    # --- what participants change about themselves ---------------------------------------------------------

    async def update_self(self, session: Session, meeting_id: str, **changes: bool) -> dict[str, Any]:
        """Mute, camera, screen share, hand: stored in presence and told to everyone."""
        att = self.joined(session, meeting_id)
        att.info.update(changes)
        await self.bus.presence_set(
            presence_group(meeting_id), att.participant_id, att.info, self.settings.meetings.presence_ttl
        )
        await self.service.publish(meeting_id, "participant.updated", {"participant": att.info})
        return att.info

    # --- moderation (the chair's orders travel to the target's own channel) --------------------------------

    async def order(self, session: Session, meeting_id: str, target: str, order: str, **extra: Any) -> None:
        """Send a moderator's order to a participant or lobby waiter, checking the sender is the chair."""
        assert session.principal is not None
        await self.service.moderated(session.principal, meeting_id)
        self.joined(session, meeting_id)
        group = lobby_group(meeting_id) if order in ("admit", "deny") else presence_group(meeting_id)
        members = await self.bus.presence_members(group)
        if target not in members:
            where = "in the lobby" if order in ("admit", "deny") else "in the meeting"
            raise NotFound("participant_not_found", f"no participant {target!r} {where}")
        person_id = str(members[target].get("person_id"))
        if order == "remove" and person_id != session.principal.id:
            await self.service.mark_removed(meeting_id, person_id)
        if order == "admit":
            await self.service.readmit(meeting_id, person_id)
        await self.bus.publish(direct_channel(meeting_id, target), {"order": order, "by": session.principal.id,
                                                                     **extra})

    async def _on_order(self, session: Session, att: Attendance, message: Message) -> None:
        order = message.get("order")
        if self.attendance_of(session) is not att:
            return
        if order == "admit" and not att.joined:
            meeting = await self.service.find(att.meeting_id)
            if meeting is None or meeting.over:
                return
            try:
                result = await self._enter(session, att, meeting, None)
            except HubError as refusal:
                self._leave_then(session, "refused", "lobby.denied", {"meeting_id": att.meeting_id,
                                                                      "reason": refusal.code})
                return
            session.send_event("lobby.admitted", result)
        elif order == "deny" and not att.joined:
            self._leave_then(session, "denied", "lobby.denied", {"meeting_id": att.meeting_id, "reason": "denied"})
        elif order == "mute" and att.joined:
            kind = "video" if message.get("kind") == "video" else "audio"
            await self.update_self(session, att.meeting_id, **{kind: False})
            session.send_event("moderator.muted", {"meeting_id": att.meeting_id, "kind": kind, "by": message.get("by")})
        elif order == "remove":
            self._leave_then(session, "removed", "meeting.removed", {"meeting_id": att.meeting_id,
                                                                      "by": message.get("by")})
        elif order == "media_lost" and att.joined:
            # the node holding this participant's media lost its peer, or died: join again (it is placed anew)
            reason = f"media_{message.get('reason', 'failed')}"
            self._leave_then(session, reason, "meeting.left", {"meeting_id": att.meeting_id, "reason": reason})
        elif order == "replaced":
            self._leave_then(session, "replaced", "meeting.left", {"meeting_id": att.meeting_id, "reason": "replaced"})

    async def media_lost(self, meeting_id: str, participant_id: str) -> None:
        """The node holding a local participant's media is gone: it leaves, and its client joins again."""
        await self.bus.publish(direct_channel(meeting_id, participant_id),
                               {"order": "media_lost", "reason": "node_lost"})

    async def node_lost(self, meeting_id: str, participant_id: str) -> None:
        """A participant whose socket was on a node that died (its peer in this SFU is gone): out of the meeting."""
        group = presence_group(meeting_id)
        try:
            info = (await self.bus.presence_members(group)).get(participant_id) or {}
            await self.bus.presence_remove(group, participant_id)
            await self.service.publish(meeting_id, "participant.left", {
                "participant_id": participant_id, "person_id": str(info.get("person_id", "")), "reason": "node_lost",
            })
            # should its node be alive after all (a stall, not a death), its session leaves and joins again
            await self.bus.publish(direct_channel(meeting_id, participant_id),
                                   {"order": "media_lost", "reason": "node_lost"})
        except HubError as exc:
            log.warning("meeting %s: %s of a lost node not taken out (%s)", meeting_id, participant_id, exc.message)
            return
        log.info("meeting %s: %s left (its node is gone)", meeting_id, participant_id)

    def _leave_then(self, session: Session, reason: str, event: str, data: dict[str, Any]) -> None:
        # Leaving unfollows the bus channel whose pump is running this very handler: do it in a task of our own.
        async def run() -> None:
            await self.leave(session, reason)
            session.send_event(event, data)

        self._spawn(run())

    async def _on_meeting_event(self, session: Session, att: Attendance, message: Message) -> None:
        event = message.get("event")
        if not isinstance(event, str) or self.attendance_of(session) is not att:
            return
        data = {k: v for k, v in message.items() if k != "event"}
        if event.startswith("lobby.") and not att.moderator:
            return  # who waits outside is the chair's business
        if att.joined or event in ("meeting.ended", "meeting.updated"):
            session.send_event(event, data)
        if event == "meeting.ended":
            self._spawn(self.leave(session, "ended"))

    # --- SFU events ----------------------------------------------------------------------------------------

    def on_sfu_event(self, event: SfuEvent) -> None:
        """The SFU's callback (synchronous): tracks and speakers go to the bus, dead peers are taken out."""
        if isinstance(event, TrackPublished):
            self._spawn(self.service.publish(event.room_id, "track.published", {"track": track_json(event.track)}))
        elif isinstance(event, TrackUnpublished):
            self._spawn(self.service.publish(event.room_id, "track.unpublished", {"track": track_json(event.track)}))
        elif isinstance(event, ActiveSpeakerChanged):
            self._spawn(self.service.publish(
                event.room_id, "speaker.active", {"participant_id": event.participant_id, "previous": event.previous}
            ))
        elif isinstance(event, PeerFailed):
            self._spawn(self._peer_failed(event))

    async def _peer_failed(self, event: PeerFailed) -> None:
        entry = self.attendance.get(event.participant_id)
        if entry is None:
            # a participant whose socket is on another node: its node takes it out
            await self.bus.publish(direct_channel(event.room_id, event.participant_id),
                                   {"order": "media_lost", "reason": event.reason})
            return
        session, att = entry
        if att.meeting_id != event.room_id:
            return
        log.info("meeting %s: %s lost its media connection (%s)", att.meeting_id, att.participant_id, event.reason)
        await self.leave(session, f"media_{event.reason}")
        session.send_event("meeting.left", {"meeting_id": att.meeting_id, "reason": f"media_{event.reason}"})


def ice_servers(settings: Settings, person_id: str) -> list[dict[str, Any]]:
    """The city's STUN/TURN servers for a client; TURN credentials per person, time-limited (TURN REST API)."""
    if not settings.ice.servers:
        return []
    entry: dict[str, Any] = {"urls": list(settings.ice.servers)}
    if settings.ice.turn_secret:
        username = f"{int(time.time()) + settings.ice.turn_ttl}:{person_id}"
        digest = hmac.new(settings.ice.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
        entry.update(username=username, credential=base64.b64encode(digest).decode())
    return [entry]

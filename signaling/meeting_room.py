"""MeetingRoom: one live meeting on this node — its local participants and lobby, their orders, its event fan-out,
and its media when the meeting's SFU room is here (HostedMedia).

A node has a MeetingRoom for a meeting while it holds a session in it (joined or waiting in the lobby) or hosts
its SFU room (the meeting's media lives here, perhaps only for participants whose sockets are on other nodes).
The room follows the bus channel `meeting.{id}` once and hands each event to its local sessions; orders for one
participant (admit, mute, remove, ...) come on `meeting.{id}.to.{participant}`, wherever the sender is. Who is in
the meeting is bus presence, which the room keeps fresh for its own participants. It stops itself when its last
local member (session or hosted media) is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from hub.auth import policy
from hub.bus.base import Bus, Message, Subscription
from hub.errors import Conflict, HubError, NotFound
from hub.logs import own_context
from hub.meetings.conference import Conference
from hub.meetings.model import JoinDecision, Meeting
from hub.meetings.service import MeetingService, channel, lobby_group, presence_group
from hub.recordings.service import RecordingService
from hub.settings import MeetingSettings
from signaling.hosted_media import HostedMedia, finish
from signaling.media_router import MediaRouter
from signaling.participants import Member, Order, OrderMessage, Participant, direct_channel, track_json
from signaling.protocol import event_message
from signaling.session import Session
from signaling.sfu import SfuEvent, SfuRoom

log = logging.getLogger(__name__)

# The events a participant waiting in the lobby still hears.
LOBBY_EVENTS = frozenset({"meeting.ended", "meeting.updated"})
# Events after which the main venue may stand for someone else.
MAIN_VENUE_EVENTS = frozenset({"participant.joined", "participant.left", "meeting.updated"})
# Events after which the recorder (on the node holding the media) may have to start or stop (a meeting set to
# record from the start does once it is live).
RECORDING_EVENTS = frozenset({"recording.started", "recording.stopped", "meeting.updated"})
# The hub's notices to one participant, and the /ws event each becomes.
NOTICES = {Order.SLOTS: "media.slots", Order.PAUSE: "media.pause"}


class RoomStopped(Exception):
    """The room stopped while a join was on its way in: the registry opens a fresh one."""


class MeetingRoom:
    """One live meeting on this node: built with what it needs, started and stopped explicitly."""

    def __init__(self, meeting_id: str, settings: MeetingSettings, service: MeetingService, conference: Conference,
                 bus: Bus, media: MediaRouter, ice: Callable[[str], list[dict[str, Any]]],
                 on_closed: Callable[[MeetingRoom], None], *, recordings: RecordingService | None = None) -> None:
        self.meeting_id = meeting_id
        self._recordings = recordings
        self._settings = settings
        self._service = service
        self._stage = conference.stage
        self._floor = conference.floor
        self._attendance = conference.attendance
        self._bus = bus
        self._media = media
        self._ice = ice
        self._on_closed = on_closed
        self.members: dict[str, Member] = {}  # participant id -> member (joined or in the lobby)
        self.media_host: HostedMedia | None = None  # set while this node holds the meeting's media
        self._joining = 0
        self._leaving = 0
        self._events: Subscription | None = None
        self._fan_out_task: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.started = asyncio.get_running_loop().create_future()
        self.stopped = False

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Follow the meeting's bus channel, keep local participants present, work through SFU events."""
        try:
            self._events = await self._bus.subscribe(channel(self.meeting_id))
        except BaseException as exc:
            self.started.set_exception(exc)
            self.started.exception()  # retrieved here: the joins waiting on it re-raise it themselves
            await self.stop()
            raise
        self._fan_out_task = asyncio.create_task(self._fan_out(self._events), name=f"meeting-{self.meeting_id}-events",
                                                context=own_context(f"meeting:{self.meeting_id}"))
        self._refresher = asyncio.create_task(self._refresh(), name=f"meeting-{self.meeting_id}-presence",
                                             context=own_context(f"meeting:{self.meeting_id}"))
        self.started.set_result(None)
        log.debug("meeting %s: room open on this node", self.meeting_id)

    async def stop(self) -> None:
        """Take every local participant out, stop the SFU room held here and every task (idempotent)."""
        if self.stopped:
            return
        self.stopped = True
        self._on_closed(self)
        for member in list(self.members.values()):
            await self._leave(member, "shutdown")
        if self.media_host is not None:
            media_host, self.media_host = self.media_host, None
            await media_host.stop()
        if self._events is not None:
            self._events.close()
        # the event and order loops end with their closed subscriptions once the message under way is handled (a
        # handler cancelled in the middle of a database call can leave its connection behind); the presence
        # refresh only sleeps and touches the bus, so it is cancelled
        if self._refresher is not None:
            self._refresher.cancel()
        current = asyncio.current_task()
        loops = [t for t in (self._fan_out_task, self._refresher) if t is not None]
        await finish(*(t for t in [*loops, *self._tasks] if t is not current))
        log.debug("meeting %s: room closed on this node", self.meeting_id)

    @property
    def empty(self) -> bool:
        """No local session, no join on its way in or leave on its way out, no media hosted here."""
        return not self.members and not self._joining and not self._leaving and self.media_host is None

    async def _stop_if_empty(self) -> None:
        if self.empty and not self.stopped:
            await self.stop()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self) -> None:
        ttl = self._settings.presence_ttl
        while True:
            await asyncio.sleep(ttl / 3)
            for member in list(self.members.values()):
                group = presence_group(self.meeting_id) if member.joined else lobby_group(self.meeting_id)
                with contextlib.suppress(HubError):
                    await self._bus.presence_set(group, member.participant_id, member.participant.to_json(), ttl)

    # --- joining and leaving -------------------------------------------------------------------------------

    async def join(self, session: Session, replaces: str | None, *, audio: bool = True,
                   video: bool = True) -> tuple[Member, dict[str, Any]]:
        """Let a session in (or into the lobby), as the meeting's rules decide; the join result for the client.

        The result is a snapshot of the meeting, and the session may hear of the meeting before it is taken: its
        events are held until the result is on its way (the socket holds them while a request is handled).
        """
        assert session.principal is not None
        principal = session.principal
        self._joining += 1
        try:
            await self.started
            if self.stopped:
                raise RoomStopped(self.meeting_id)
            meeting, decision = await self._service.join_decision(principal, self.meeting_id)
            if self.stopped:
                raise RoomStopped(self.meeting_id)
            member = Member(self, session, Participant.of(session.id, principal, meeting, audio=audio, video=video))
            self.members[member.participant_id] = member
            try:
                member.orders = await self._bus.subscribe(direct_channel(self.meeting_id, member.participant_id))
                self._spawn(self._read_orders(member, member.orders))
                if decision == JoinDecision.LOBBY:
                    await self._bus.presence_set(lobby_group(self.meeting_id), member.participant_id,
                                                 member.participant.to_json(), self._settings.presence_ttl)
                    await self._service.publish(self.meeting_id, "lobby.waiting",
                                                {"participant": member.participant.to_json()})
                    log.info("meeting %s: %s (%s) waits in the lobby", self.meeting_id, principal.id,
                             member.participant_id)
                    return member, {"status": "lobby", "participant_id": member.participant_id,
                                    "meeting": meeting.to_dict()}
                return member, await self._enter(member, meeting, replaces)
            except Exception:
                # half a join is no join: nobody should see a participant that never made it in
                await self._leave(member, "failed")
                raise
        finally:
            self._joining -= 1
            if self.empty and not self.stopped:
                self._spawn(self._stop_if_empty())

    async def _enter(self, member: Member, meeting: Meeting, replaces: str | None) -> dict[str, Any]:
        session = member.session
        principal = session.principal
        assert principal is not None

        async def on_offer(sdp: str) -> None:
            session.send_event("sdp.offer", {"meeting_id": self.meeting_id, "sdp": sdp})

        await self._media.join(self.meeting_id, member.participant_id, on_offer)
        member.joined = True
        member.moderator = policy.can_moderate_meeting(principal, meeting)
        participant = member.participant.to_json()
        await self._bus.presence_remove(lobby_group(self.meeting_id), member.participant_id)
        await self._bus.presence_set(presence_group(self.meeting_id), member.participant_id, participant,
                                     self._settings.presence_ttl)
        await self._service.mark_live(self.meeting_id)
        await self._attendance.arrived(member.participant.stay(self.meeting_id, self._service.clock.now()))
        await self._service.publish(self.meeting_id, "participant.joined", {"participant": participant})
        if replaces and replaces != member.participant_id:
            previous = (await self._bus.presence_members(presence_group(self.meeting_id))).get(replaces)
            if previous is not None and previous.get("person_id") == principal.id:
                await self._bus.publish(direct_channel(self.meeting_id, replaces),
                                        OrderMessage(Order.REPLACED).to_bus())
        log.info("meeting %s: %s joined as %s", self.meeting_id, principal.id, member.participant_id)
        history = await self._service.recent_chat(self.meeting_id, self._settings.chat_history)
        participants = await self._service.participants(self.meeting_id)
        if replaces:
            participants = [p for p in participants if p.get("participant_id") != replaces]
        return {
            "status": "joined",
            "participant_id": member.participant_id,
            "meeting": meeting.to_dict(),
            "role": member.participant.role.value,
            "moderator": member.moderator,
            "participants": participants,
            "tracks": [track_json(t) for t in await self._media.tracks(self.meeting_id)],
            "chat": [m.to_dict() for m in history],
            "lobby": await self._service.lobby(self.meeting_id) if member.moderator else [],
            "stage": await self._stage.current(self.meeting_id),
            "floor": await self._floor.queue(self.meeting_id),
            "recording": await self._recording(),
            "ice_servers": self._ice(principal.id),
        }

    async def _recording(self) -> dict[str, Any] | None:
        live = await self._recordings.live(self.meeting_id) if self._recordings is not None else None
        return live.to_dict() if live is not None else None

    async def leave(self, member: Member, reason: str) -> None:
        """Take a member out of the meeting or its lobby; everyone else hears it (idempotent)."""
        await self._leave(member, reason)
        await self._stop_if_empty()

    async def _leave(self, member: Member, reason: str) -> None:
        if self.members.get(member.participant_id) is not member:
            return
        del self.members[member.participant_id]
        member.gone()
        # until its cleanup is done the room is not empty: stopping now would cancel it half-way
        self._leaving += 1
        try:
            if member.joined:
                await self._media.leave(self.meeting_id, member.participant_id)
                await self._bus.presence_remove(presence_group(self.meeting_id), member.participant_id)
                await self._floor.cancel(self.meeting_id, member.participant_id, "left")
                await self._attendance.left(self.meeting_id, member.participant_id, reason)
                await self._service.publish(self.meeting_id, "participant.left", {
                    "participant_id": member.participant_id, "person_id": member.participant.person_id,
                    "reason": reason,
                })
            else:
                await self._bus.presence_remove(lobby_group(self.meeting_id), member.participant_id)
                await self._service.publish(self.meeting_id, "lobby.left",
                                            {"participant_id": member.participant_id, "reason": reason})
        except Exception:
            log.exception("meeting %s: cleaning up %s failed", self.meeting_id, member.participant_id)
        finally:
            self._leaving -= 1
        log.info("meeting %s: %s left (%s)", self.meeting_id, member.participant_id, reason)

    async def _leave_then(self, member: Member, reason: str, event: str, data: dict[str, Any]) -> None:
        await self.leave(member, reason)
        member.session.send_event(event, data)

    # --- media: the member's connection to the SFU that holds the meeting (here or on its owner node) -------

    async def offer(self, member: Member, sdp: str, sources: Mapping[str, str]) -> str:
        """The member's offer (its published tracks); the SFU's answer."""
        return await self._media.offer(self.meeting_id, member.participant_id, sdp, sources)

    async def answer(self, member: Member, sdp: str) -> None:
        """The member's answer to a server offer."""
        await self._media.answer(self.meeting_id, member.participant_id, sdp)

    async def candidate(self, member: Member, candidate: Mapping[str, Any] | None) -> None:
        """A trickled ICE candidate of the member (None: gathering done)."""
        await self._media.candidate(self.meeting_id, member.participant_id, candidate)

    async def view(self, member: Member, visible: list[str], last_n: int | None) -> None:
        """The participants whose tiles the member shows (and perhaps fewer videos): its receive slots follow."""
        present = {p.get("participant_id") for p in await self._service.participants(self.meeting_id)}
        strangers = [p for p in visible if p not in present]
        if strangers:
            raise NotFound("participant_not_found", f"not in the meeting: {', '.join(strangers[:5])}")
        await self._media.view(self.meeting_id, member.participant_id, visible, last_n)

    # --- what participants change about themselves ---------------------------------------------------------

    async def update_self(self, member: Member, **changes: bool) -> dict[str, Any]:
        """Mute, camera, screen share, hand: stored in presence and told to everyone."""
        member.participant.update(**changes)
        participant = member.participant.to_json()
        await self._bus.presence_set(presence_group(self.meeting_id), member.participant_id, participant,
                                     self._settings.presence_ttl)
        await self._service.publish(self.meeting_id, "participant.updated", {"participant": participant})
        return participant

    # --- moderation: the chair's orders travel to the target's own channel --------------------------------

    async def order(self, member: Member, target: str, order: Order, **extra: Any) -> None:
        """Send the chair's order to a participant or lobby waiter (the policy decides who is the chair)."""
        principal = member.session.principal
        assert principal is not None
        await self._service.moderated(principal, self.meeting_id)
        in_lobby = order in (Order.ADMIT, Order.DENY)
        group = lobby_group(self.meeting_id) if in_lobby else presence_group(self.meeting_id)
        members = await self._bus.presence_members(group)
        if target not in members:
            where = "in the lobby" if in_lobby else "in the meeting"
            raise NotFound("participant_not_found", f"no participant {target!r} {where}")
        person_id = str(members[target].get("person_id"))
        if order is Order.REMOVE and person_id != principal.id:
            await self._service.mark_removed(self.meeting_id, person_id)
        if order is Order.ADMIT:
            await self._service.readmit(self.meeting_id, person_id)
        await self._bus.publish(direct_channel(self.meeting_id, target),
                                OrderMessage(order, by=principal.id, **extra).to_bus())

    async def order_all(self, member: Member, order: Order, **extra: Any) -> int:
        """The chair's order to everyone in the meeting but the chair (mute all, unmute all); how many. Mute all
        (全体静音) spares the main venue's microphone too: it is the sub-venues that go quiet."""
        principal = member.session.principal
        assert principal is not None
        await self._service.moderated(principal, self.meeting_id)
        spared = {member.participant_id}
        if order is Order.MUTE and extra.get("kind", "audio") == "audio":
            main = await self._stage.main(self.meeting_id)
            if main is not None:
                spared.add(str(main.get("participant_id")))
        targets = [p for p in await self._service.participants(self.meeting_id)
                   if p.get("participant_id") not in spared]
        message = OrderMessage(order, by=principal.id, **extra).to_bus()
        for target in targets:
            await self._bus.publish(direct_channel(self.meeting_id, str(target.get("participant_id"))), message)
        log.info("meeting %s: %s ordered %s to %d participants", self.meeting_id, principal.id, order, len(targets))
        return len(targets)

    async def _unmute(self, member: Member, by: str | None, why: str) -> None:
        # the chair called on this participant or unmuted everyone: its microphone goes on, and it is told why
        await self.update_self(member, audio=True)
        member.session.send_event("moderator.unmuted", {"meeting_id": self.meeting_id, "by": by, "reason": why})

    async def _read_orders(self, member: Member, orders: Subscription) -> None:
        async for message in orders:
            order = OrderMessage.from_bus(message)
            if order is None:
                log.warning("meeting %s: unreadable order for %s: %r", self.meeting_id, member.participant_id,
                            message)
                continue
            try:
                await self._obey(member, order)
            except Exception:
                log.exception("meeting %s: order %s for %s failed", self.meeting_id, order.order,
                              member.participant_id)

    async def _obey(self, member: Member, order: OrderMessage) -> None:
        if self.members.get(member.participant_id) is not member:
            return
        data: dict[str, Any] = {"meeting_id": self.meeting_id}
        if order.order is Order.ADMIT and not member.joined:
            meeting = await self._service.find(self.meeting_id)
            if meeting is None or meeting.over:
                return
            member.session.hold_events()  # the meeting as it is when let in goes out first, then what follows
            try:
                result = await self._enter(member, meeting, None)
            except HubError as refusal:
                await self._leave_then(member, "refused", "lobby.denied", {**data, "reason": refusal.code})
                return
            else:
                member.session.send(event_message("lobby.admitted", result))
            finally:
                member.session.release_events()
        elif order.order is Order.DENY and not member.joined:
            await self._leave_then(member, "denied", "lobby.denied", {**data, "reason": "denied"})
        elif order.order is Order.MUTE and member.joined:
            kind = "video" if order.kind == "video" else "audio"
            if kind == "audio":
                member.called_unmuted = False
            await self.update_self(member, **{kind: False})
            member.session.send_event("moderator.muted", {**data, "kind": kind, "by": order.by})
        elif order.order is Order.UNMUTE and member.joined:
            member.called_unmuted = False  # the chair's own unmute stays when the roll call moves on
            await self._unmute(member, order.by, "unmuted")
        elif order.order is Order.REMOVE:
            await self._leave_then(member, "removed", "meeting.removed", {**data, "by": order.by})
        elif order.order is Order.MEDIA_LOST and member.joined:
            # the node holding this participant's media lost its peer, or died: join again (it is placed anew)
            reason = f"media_{order.reason or 'failed'}"
            await self._leave_then(member, reason, "meeting.left", {**data, "reason": reason})
        elif order.order is Order.REPLACED:
            await self._leave_then(member, "replaced", "meeting.left", {**data, "reason": "replaced"})
        elif order.order in NOTICES and member.joined and order.data is not None:
            member.session.send_event(NOTICES[order.order], {**order.data, **data})

    # --- events for everyone in the meeting ----------------------------------------------------------------

    async def _fan_out(self, events: Subscription) -> None:
        async for message in events:
            try:
                await self._deliver(message)
            except Exception:
                log.exception("meeting %s: delivering %r failed", self.meeting_id, message.get("event"))

    async def _deliver(self, message: Message) -> None:
        event = message.get("event")
        if not isinstance(event, str):
            return
        data = {k: v for k, v in message.items() if k != "event"}
        lobby_event = event.startswith("lobby.")
        for member in list(self.members.values()):
            if lobby_event and not member.moderator:
                continue  # who waits outside is the chair's business
            if member.joined or event in LOBBY_EVENTS:
                member.session.send_event(event, data)
        if event == "stage.changed":
            await self._staged(data.get("spotlight"), data.get("by"))
        if event in ("participant.joined", "participant.updated") and self.media_host is not None:
            participant = data.get("participant")
            if isinstance(participant, dict):
                self.media_host.heard(participant)
        if event == "participant.left" and self.media_host is not None and isinstance(data.get("participant_id"), str):
            await self.media_host.left(data["participant_id"])
        if event in MAIN_VENUE_EVENTS and self.media_host is not None:
            await self.media_host.follow_main()
        if event in RECORDING_EVENTS and self.media_host is not None:
            self.media_host.on_sfu_event_later(self.media_host.follow_recording)
        if event == "meeting.ended":
            for member in list(self.members.values()):
                await self._leave(member, "ended")
            await self._stop_if_empty()

    async def _staged(self, spotlight: Any, by: Any) -> None:
        participant_id = spotlight.get("participant_id") if isinstance(spotlight, dict) else None
        chair = by if isinstance(by, str) else None
        if self.media_host is not None:
            self.media_host.spotlight(participant_id if isinstance(participant_id, str) else None)
        for member in list(self.members.values()):
            if member.called_unmuted and member.participant_id != participant_id and member.joined:
                # the roll call moved on (or ended): the venue it had switched on goes back to muted, as a
                # conference's roll call does (点名发言 opens one venue's microphone at a time)
                member.called_unmuted = False
                await self.update_self(member, audio=False)
                member.session.send_event("moderator.muted", {"meeting_id": self.meeting_id, "kind": "audio",
                                                              "by": chair, "reason": "spotlight_ended"})
        called = self.members.get(participant_id) if isinstance(participant_id, str) else None
        if called is not None and called.joined:
            called.called_unmuted = called.called_unmuted or not called.participant.audio
            await self._unmute(called, chair, "spotlight")

    # --- the meeting's media, when this node holds it -----------------------------------------------------

    @property
    def sfu_room(self) -> SfuRoom | None:
        """The meeting's SFU room, while this node holds the meeting's media."""
        return self.media_host.sfu_room if self.media_host is not None else None

    def host(self, sfu_room: SfuRoom) -> None:
        """This node's SFU opened the meeting's media room: the room holds it until it closes."""
        self.media_host = HostedMedia(self.meeting_id, sfu_room, self._service, self._stage, self._bus,
                                      self._recordings, self._media_closed)

    def on_sfu_event(self, event: SfuEvent) -> None:
        """An event of this meeting's SFU room (synchronous)."""
        if self.media_host is not None:
            self.media_host.on_sfu_event(event)

    async def _media_closed(self, media_host: HostedMedia) -> None:
        if self.media_host is media_host:
            self.media_host = None
            await self._stop_if_empty()


def not_joined(meeting_id: str) -> Conflict:
    """The refusal of a meeting command from a session that is not in that meeting."""
    return Conflict("not_joined", f"join meeting {meeting_id!r} first")


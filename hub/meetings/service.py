"""The rules of meetings: scheduling, who may see, join and moderate, the lifecycle, chat, who is in the room."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth import policy
from hub.auth.principal import Principal
from hub.bus.base import Bus, Message
from hub.clock import Clock
from hub.directory.model import Role
from hub.directory.service import DirectoryService
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.meetings import store
from hub.meetings.model import ChatMessage, JoinDecision, Meeting, MeetingChanges, MeetingStatus
from hub.notifications.model import Notification, Subject
from hub.notifications.service import NotificationService
from hub.storage.db import Database

log = logging.getLogger(__name__)

MAX_INVITED = 500
MAX_CHAT_CHARS = 2000
REMOVED_TTL = 12 * 3600.0


def channel(meeting_id: str) -> str:
    """The bus channel every participant of a meeting follows: events for everyone in it."""
    return f"meeting.{meeting_id}"


def presence_group(meeting_id: str) -> str:
    """Who is in the meeting right now (bus presence, refreshed by the node holding each participant)."""
    return f"meeting:{meeting_id}:participants"


def lobby_group(meeting_id: str) -> str:
    """Who is waiting in the lobby right now."""
    return f"meeting:{meeting_id}:lobby"


@dataclass(frozen=True)
class NewMeeting:
    title: str
    chair_id: str
    starts_at: datetime
    ends_at: datetime
    secretary_id: str | None = None
    description: str = ""
    invited_units: tuple[str, ...] = ()
    invited_people: tuple[str, ...] = ()
    lobby: bool = True
    locked: bool = False
    main_unit: str | None = None
    record: bool = False


class MeetingService:
    """Meetings: the one place that decides who may do what with them."""

    def __init__(self, db: Database, bus: Bus, directory: DirectoryService, clock: Clock,
                 notifications: NotificationService) -> None:
        self.db = db
        self.bus = bus
        self.directory = directory
        self.clock = clock
        self.notifications = notifications
        self._create_minutes: Callable[[Meeting], Awaitable[str]] | None = None
        # live meetings this node saw empty, and since when (end_unattended)
        self._empty_since: dict[str, datetime] = {}
        self._minutes_final: Callable[[str], Awaitable[None]] | None = None

    def use_minutes(self, create_minutes: Callable[[Meeting], Awaitable[str]],
                    minutes_final: Callable[[str], Awaitable[None]] | None = None) -> None:
        """The documents domain plugs in here: every meeting gets its minutes document when it is created, and
        is told (with the meeting id) when the minutes became final."""
        self._create_minutes = create_minutes
        self._minutes_final = minutes_final

    # --- scheduling -----------------------------------------------------------------------------------------

    async def create(self, principal: Principal, new: NewMeeting) -> Meeting:
        """Schedule a meeting organised by the principal."""
        policy.require(policy.can_create_meeting(principal), "meeting_forbidden", "you may not schedule meetings")
        meeting = Meeting(
            id=uuid.uuid4().hex[:16],
            title=new.title.strip(),
            description=new.description.strip(),
            organizer_id=principal.id,
            chair_id=new.chair_id,
            secretary_id=new.secretary_id or None,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            invited_units=_unique(new.invited_units),
            invited_people=_unique(new.invited_people),
            lobby=new.lobby,
            locked=new.locked,
            main_unit=new.main_unit or None,
            record=new.record,
            created_at=self.clock.now(),
        )
        meeting = _main_unit_invited(meeting)
        await self._check(meeting)
        if self._create_minutes is not None:
            meeting = dataclasses.replace(meeting, minutes_doc_id=await self._create_minutes(meeting))
        invited = await self.people_of(meeting)
        async with self.db.begin() as conn:
            await store.insert(conn, meeting)
            sent = await self._tell(conn, meeting, "invited", invited - {principal.id})
        await self.notifications.announce(sent)
        log.info("meeting %s scheduled by %s", meeting.id, principal.id)
        return meeting

    async def update(self, principal: Principal, meeting_id: str, changes: MeetingChanges) -> Meeting:
        """Change a meeting that has not ended."""
        meeting = await self.get(principal, meeting_id)
        policy.require(policy.can_manage_meeting(principal, meeting), "meeting_forbidden",
                       "only the organizer, the chair or an admin may change this meeting")
        if meeting.over:
            raise Conflict("meeting_over", "this meeting is over and can no longer be changed")
        values = {k: v for k, v in dataclasses.asdict(changes).items() if v is not None}
        for key in ("invited_units", "invited_people"):
            if key in values:
                values[key] = _unique(values[key])
        for key in ("secretary_id", "main_unit"):
            if key in values and not values[key]:
                values[key] = None
        if "title" in values:
            values["title"] = values["title"].strip()
        updated = _main_unit_invited(dataclasses.replace(meeting, **values))
        await self._check(updated)
        before, after = await self.people_of(meeting), await self.people_of(updated)
        others = {principal.id}
        changed = any(getattr(meeting, k) != getattr(updated, k) for k in NOTICED_CHANGES)
        async with self.db.begin() as conn:
            await store.update(conn, updated)
            sent = await self._tell(conn, updated, "invited", after - before - others)
            sent += await self._tell(conn, updated, "uninvited", before - after - others)
            if changed:
                sent += await self._tell(conn, updated, "changed", (after & before) - others)
        await self.notifications.announce(sent)
        await self.publish(meeting_id, "meeting.updated", {"meeting": updated.to_dict()})
        return updated

    async def cancel(self, principal: Principal, meeting_id: str) -> Meeting:
        """Cancel a scheduled meeting (a live one is ended instead)."""
        meeting = await self.get(principal, meeting_id)
        policy.require(policy.can_manage_meeting(principal, meeting), "meeting_forbidden",
                       "only the organizer, the chair or an admin may cancel this meeting")
        if meeting.status == MeetingStatus.LIVE:
            return await self.end(principal, meeting_id)
        invited = await self.people_of(meeting)
        async with self.db.begin() as conn:
            moved = await store.set_status(conn, meeting_id, MeetingStatus.CANCELLED,
                                           only_from=[MeetingStatus.SCHEDULED], ended_at=self.clock.now())
            if not moved:
                raise Conflict("meeting_over", "this meeting is over already")
            # the reminder about it asks nothing of anyone any more
            await self.notifications.retire(conn, Subject.MEETING, meeting_id, ("starting",))
            sent = await self._tell(conn, meeting, "cancelled", invited - {principal.id})
        await self.notifications.announce(sent)
        await self.publish(meeting_id, "meeting.ended", {"meeting_id": meeting_id, "reason": "cancelled"})
        return await self._get(meeting_id)

    async def people_of(self, meeting: Meeting) -> set[str]:
        """Everyone a meeting concerns: its chair, secretary and organizer, the invited people and the active
        members of the invited units."""
        people = {meeting.chair_id, meeting.organizer_id, *meeting.invited_people}
        if meeting.secretary_id:
            people.add(meeting.secretary_id)
        people.update(p.id for p in await self.directory.members(list(meeting.invited_units)))
        return people

    async def _tell(self, conn: AsyncConnection, meeting: Meeting, kind: str, people: set[str]) -> list[Notification]:
        """Notifications about a meeting, written in the caller's transaction (announce them after it)."""
        if not people:
            return []
        return await self.notifications.write(conn, people, Subject.MEETING, meeting.id, kind, notice_data(meeting))

    async def remind_starting(self, before: timedelta) -> list[str]:
        """Tell everyone a meeting concerns that it starts within `before`: once per meeting and start time,
        whichever node looks first. Called on a timer by every node; the ids of the meetings reminded of."""
        now = self.clock.now()
        async with self.db.connect() as conn:
            soon = await store.starting_between(conn, now, now + before)
        reminded = []
        for meeting in soon:
            once = f"meeting-starting:{meeting.id}:{meeting.starts_at.isoformat()}"
            if await self.notifications.send(await self.people_of(meeting), Subject.MEETING, meeting.id, "starting",
                                             notice_data(meeting), once=once):
                reminded.append(meeting.id)
        return reminded

    async def _check(self, meeting: Meeting) -> None:
        if not meeting.title:
            raise BadRequest("invalid_body", "title: a title is required", field="title")
        if meeting.ends_at <= meeting.starts_at:
            raise BadRequest("invalid_body", "ends_at: the meeting must end after it starts", field="ends_at")
        if meeting.ends_at - meeting.starts_at > timedelta(days=7):
            raise BadRequest("invalid_body", "ends_at: a meeting lasts at most 7 days", field="ends_at")
        if len(meeting.invited_units) + len(meeting.invited_people) > MAX_INVITED:
            raise BadRequest("invalid_body", f"invite at most {MAX_INVITED} units and people", field="invited_people")
        wanted = {meeting.chair_id, *meeting.invited_people}
        if meeting.secretary_id:
            wanted.add(meeting.secretary_id)
        found = await self.directory.people(sorted(wanted))
        for role, person_id in (("chair_id", meeting.chair_id), ("secretary_id", meeting.secretary_id)):
            if person_id and (person_id not in found or not found[person_id].active):
                raise BadRequest("unknown_person", f"{role}: no active person {person_id!r}", field=role)
        for person_id in meeting.invited_people:
            if person_id not in found:
                raise BadRequest("unknown_person", f"invited_people: no person {person_id!r}", field="invited_people")
        units = {u.id for u in await self.directory.units()}
        if meeting.main_unit is not None and meeting.main_unit not in units:
            raise BadRequest("unknown_org_unit", f"main_unit: no org unit {meeting.main_unit!r}", field="main_unit")
        for unit_id in meeting.invited_units:
            if unit_id not in units:
                raise BadRequest("unknown_org_unit", f"invited_units: no org unit {unit_id!r}", field="invited_units")

    # --- reading --------------------------------------------------------------------------------------------

    async def _get(self, meeting_id: str) -> Meeting:
        async with self.db.connect() as conn:
            meeting = await store.get(conn, meeting_id)
        if meeting is None:
            raise NotFound("meeting_not_found", f"no meeting {meeting_id!r}")
        return meeting

    async def get(self, principal: Principal, meeting_id: str) -> Meeting:
        """A meeting the principal may see (NotFound otherwise, so ids are not probed)."""
        meeting = await self._get(meeting_id)
        if not policy.can_see_meeting(principal, meeting):
            raise NotFound("meeting_not_found", f"no meeting {meeting_id!r}")
        return meeting

    async def find(self, meeting_id: str) -> Meeting | None:
        """A meeting by id, without permission checks (signaling decides with join_decision)."""
        async with self.db.connect() as conn:
            return await store.get(conn, meeting_id)

    async def listing(
        self, principal: Principal, *, scope: str = "mine", when: str = "upcoming", limit: int = 50, offset: int = 0,
        title: str = "",
    ) -> list[Meeting]:
        """Meetings of the principal ("mine"), of their unit ("unit") or every one (admins, "all"); with `title`,
        those whose title contains it."""
        person_id: str | None = principal.id
        unit_ids: list[str] | None = None
        if scope == "unit":
            person_id, unit_ids = None, [principal.org_unit.id]
        elif scope == "all":
            policy.require(policy.can_administer(principal) or principal.has(Role.SUPERVISOR),
                           "meeting_forbidden", "only admins and supervisors list every meeting")
            person_id = None
        elif scope == "mine":
            unit_ids = [principal.org_unit.id]
        else:
            raise BadRequest("invalid_parameter", "scope: mine, unit or all", field="scope")
        if when not in ("upcoming", "past", "all"):
            raise BadRequest("invalid_parameter", "when: upcoming, past or all", field="when")
        async with self.db.connect() as conn:
            return await store.listing(conn, person_id=person_id, unit_ids=unit_ids, when=when, now=self.clock.now(),
                                       limit=limit, offset=offset, title=title.strip()[:100])

    # --- joining and the lifecycle --------------------------------------------------------------------------

    async def join_decision(self, principal: Principal, meeting_id: str) -> tuple[Meeting, JoinDecision]:
        """Whether the principal gets in, waits in the lobby, or is refused (Forbidden / Conflict)."""
        meeting = await self._get(meeting_id)
        if meeting.over:
            raise Conflict("meeting_over", "this meeting has ended")
        if principal.has(Role.TERMINAL) and not policy.is_invited(principal, meeting):
            raise Forbidden("not_invited", "this terminal is not invited to the meeting")
        removed = await self.bus.get_key(_removed_key(meeting_id, principal.id)) is not None
        admitted = policy.bypasses_lock(principal, meeting) or (
            policy.is_invited(principal, meeting) and not meeting.locked and not removed
        )
        if policy.can_administer(principal) and not removed:
            admitted = True
        if admitted:
            return meeting, JoinDecision.ADMIT
        if meeting.lobby:
            return meeting, JoinDecision.LOBBY
        if removed:
            raise Forbidden("removed", "the chair removed you from this meeting")
        if meeting.locked:
            raise Forbidden("meeting_locked", "the meeting is locked")
        raise Forbidden("not_invited", "you are not invited to this meeting")

    async def mark_live(self, meeting_id: str) -> None:
        """The first participant came in: a scheduled meeting is live."""
        async with self.db.begin() as conn:
            moved = await store.set_status(conn, meeting_id, MeetingStatus.LIVE,
                                           only_from=[MeetingStatus.SCHEDULED], started_at=self.clock.now())
        if moved:
            log.info("meeting %s is live", meeting_id)
            await self.publish(meeting_id, "meeting.updated", {"meeting": (await self._get(meeting_id)).to_dict()})

    async def moderated(self, principal: Principal, meeting_id: str) -> Meeting:
        """The meeting, if the principal may moderate it (Forbidden `not_chair` otherwise)."""
        meeting = await self._get(meeting_id)
        policy.require(policy.can_moderate_meeting(principal, meeting), "not_chair",
                       "only the chair may do this")
        return meeting

    async def set_locked(self, principal: Principal, meeting_id: str, locked: bool) -> Meeting:
        """Lock (no one new joins without the chair) or unlock a meeting."""
        await self.moderated(principal, meeting_id)
        async with self.db.begin() as conn:
            await store.set_flags(conn, meeting_id, locked=locked)
        meeting = await self._get(meeting_id)
        await self.publish(meeting_id, "meeting.updated", {"meeting": meeting.to_dict()})
        return meeting

    async def end(self, principal: Principal, meeting_id: str) -> Meeting:
        """End the meeting for everybody."""
        meeting = await self.moderated(principal, meeting_id)
        if meeting.over:
            raise Conflict("meeting_over", "this meeting is over already")
        await self._finish(meeting_id, [MeetingStatus.SCHEDULED, MeetingStatus.LIVE], "ended", principal.id)
        return await self._get(meeting_id)

    async def end_unattended(self, idle: timedelta) -> list[str]:
        """End the live meetings nobody is in, whose scheduled end has passed or that have been empty for `idle`
        (as this node saw them); the ids of those ended. Called on a timer by every node: ending is idempotent."""
        now = self.clock.now()
        async with self.db.connect() as conn:
            live = await store.live(conn)
        ended = []
        for meeting in live:
            if await self.participants(meeting.id):
                self._empty_since.pop(meeting.id, None)
                continue
            empty_since = self._empty_since.setdefault(meeting.id, now)
            if now >= meeting.ends_at or now - empty_since >= idle:
                if await self._finish(meeting.id, [MeetingStatus.LIVE], "empty", None):
                    ended.append(meeting.id)
                self._empty_since.pop(meeting.id, None)
        for gone in set(self._empty_since) - {m.id for m in live}:
            del self._empty_since[gone]
        return ended

    async def _finish(self, meeting_id: str, only_from: list[MeetingStatus], reason: str, by: str | None) -> bool:
        """End a meeting (and every stay still open in it) and tell everyone; whether it moved (races lose)."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            moved = await store.set_status(conn, meeting_id, MeetingStatus.ENDED, only_from=only_from, ended_at=now)
            if moved:
                await store.end_open_stays(conn, meeting_id, now, "ended")
        if not moved:
            return False
        log.info("meeting %s ended (%s%s)", meeting_id, reason, f" by {by}" if by else "")
        await self.publish(meeting_id, "meeting.ended",
                           {"meeting_id": meeting_id, "reason": reason, **({"by": by} if by else {})})
        return True

    async def close_for_edits(self, principal: Principal, meeting_id: str) -> Meeting:
        """After the meeting ended, the chair or secretary closes it: decisions and minutes are final."""
        meeting = await self.get(principal, meeting_id)
        policy.require(
            principal.id in (meeting.chair_id, meeting.secretary_id) or policy.can_administer(principal),
            "meeting_forbidden", "only the chair or the secretary may close the meeting for edits",
        )
        if meeting.status != MeetingStatus.ENDED:
            raise Conflict("meeting_not_ended", "a meeting is closed for edits only after it ended")
        async with self.db.begin() as conn:
            await store.set_flags(conn, meeting_id, closed_for_edits=True)
        if self._minutes_final is not None:
            await self._minutes_final(meeting_id)
        meeting = await self._get(meeting_id)
        await self.publish(meeting_id, "meeting.updated", {"meeting": meeting.to_dict()})
        return meeting

    async def mark_removed(self, meeting_id: str, person_id: str) -> None:
        """Remember that the chair removed someone: they no longer get straight back in."""
        await self.bus.set_key(_removed_key(meeting_id, person_id), {"removed": True}, REMOVED_TTL)

    async def readmit(self, meeting_id: str, person_id: str) -> None:
        """The chair let a removed person back in from the lobby."""
        await self.bus.delete_key(_removed_key(meeting_id, person_id))

    # --- the service API other domains use (supervision, documents) -----------------------------------------

    async def can_record_decisions(self, principal: Principal, meeting_id: str) -> bool:
        """Whether the principal may record decisions of this meeting now."""
        meeting = await self.find(meeting_id)
        return meeting is not None and policy.can_record_decisions(principal, meeting)

    async def is_closed_for_edits(self, meeting_id: str) -> bool:
        """Whether the meeting's decisions and minutes are final (NotFound for an unknown meeting)."""
        meeting = await self._get(meeting_id)
        return meeting.closed_for_edits or meeting.status == MeetingStatus.CANCELLED

    async def participants(self, meeting_id: str) -> list[dict[str, Any]]:
        """Who is in the meeting right now, on any node, ordered by arrival."""
        members = await self.bus.presence_members(presence_group(meeting_id))
        return sorted(members.values(), key=lambda p: (p.get("joined_at", 0), p.get("participant_id", "")))

    async def lobby(self, meeting_id: str) -> list[dict[str, Any]]:
        """Who waits in the lobby right now."""
        members = await self.bus.presence_members(lobby_group(meeting_id))
        return sorted(members.values(), key=lambda p: (p.get("joined_at", 0), p.get("participant_id", "")))

    async def publish(self, meeting_id: str, event: str, data: Message) -> None:
        """Tell everyone in the meeting, on every node."""
        await self.bus.publish(channel(meeting_id), {"event": event, **data})

    # --- chat -----------------------------------------------------------------------------------------------

    async def chat(self, principal: Principal, meeting_id: str, text: str) -> ChatMessage:
        """Store a chat message and send it to everyone in the meeting."""
        text = text.strip()
        if not text:
            raise BadRequest("invalid_message", "text: a chat message needs some text", field="text")
        if len(text) > MAX_CHAT_CHARS:
            raise BadRequest("invalid_message", f"text: at most {MAX_CHAT_CHARS} characters", field="text")
        async with self.db.begin() as conn:
            message = await store.add_chat(conn, meeting_id, principal.id, principal.person.name, text,
                                           self.clock.now())
        await self.publish(meeting_id, "chat.message", {"message": message.to_dict()})
        return message

    async def recent_chat(self, meeting_id: str, limit: int = 50) -> list[ChatMessage]:
        """The latest chat messages, oldest first (for late joiners)."""
        async with self.db.connect() as conn:
            return await store.recent_chat(conn, meeting_id, limit)


# Changes of a meeting its invitees are told of (a new lobby setting or lock is nobody's news).
NOTICED_CHANGES = ("title", "starts_at", "ends_at", "chair_id", "description", "main_unit")


def notice_data(meeting: Meeting) -> dict[str, Any]:
    """What a notification about a meeting carries: enough to show it and to put it in a calendar."""
    return {"title": meeting.title, "starts_at": meeting.starts_at.isoformat(),
            "ends_at": meeting.ends_at.isoformat(), "calendar": f"/api/v1/meetings/{meeting.id}/calendar.ics"}


def _removed_key(meeting_id: str, person_id: str) -> str:
    return f"meeting:{meeting_id}:removed:{person_id}"


def _main_unit_invited(meeting: Meeting) -> Meeting:
    """The main venue's unit is invited: its terminal comes in without the lobby."""
    if meeting.main_unit is None or meeting.main_unit in meeting.invited_units:
        return meeting
    return dataclasses.replace(meeting, invited_units=(meeting.main_unit, *meeting.invited_units))


def _unique(items: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))

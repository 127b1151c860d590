"""The only place with SQL for meetings: meetings, their invitations, chat messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.meetings.model import Attendance, ChatMessage, Meeting, MeetingStatus
from hub.storage.meta import UtcDateTime, contains, metadata

meetings = sa.Table(
    "meetings",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("organizer_id", sa.String(64), nullable=False),
    sa.Column("chair_id", sa.String(64), nullable=False, index=True),
    sa.Column("secretary_id", sa.String(64), nullable=True),
    sa.Column("starts_at", UtcDateTime, nullable=False, index=True),
    sa.Column("ends_at", UtcDateTime, nullable=False),
    sa.Column("lobby", sa.Boolean, nullable=False),
    sa.Column("locked", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("closed_for_edits", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("minutes_doc_id", sa.String(64), nullable=True),
    sa.Column("main_unit", sa.String(64), nullable=True),
    sa.Column("record", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=True),
    sa.Column("ended_at", UtcDateTime, nullable=True),
)

# kind is "unit" or "person"; one row per invited org unit or person.
meeting_invitations = sa.Table(
    "meeting_invitations",
    metadata,
    sa.Column("meeting_id", sa.String(32), sa.ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("target_id", sa.String(64), primary_key=True),
    sa.Index("ix_meeting_invitations_target", "kind", "target_id"),
)

meeting_chat = sa.Table(
    "meeting_chat",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("meeting_id", sa.String(32), sa.ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False),
    sa.Column("person_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=False),
    sa.Index("ix_meeting_chat_meeting", "meeting_id", "id"),
)

# One row per stay: a participant (one tab, one terminal) from its joining to its leaving (签到); a session that
# leaves and joins again is the same participant with a second stay.
meeting_attendance = sa.Table(
    "meeting_attendance",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("meeting_id", sa.String(32), sa.ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False),
    sa.Column("participant_id", sa.String(64), nullable=False),
    sa.Column("person_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("org_unit_id", sa.String(64), nullable=False),
    sa.Column("org_unit_name", sa.String(200), nullable=False),
    sa.Column("venue", sa.Boolean, nullable=False),
    sa.Column("joined_at", UtcDateTime, nullable=False),
    sa.Column("left_at", UtcDateTime, nullable=True),
    sa.Column("left_reason", sa.String(32), nullable=True),
    sa.Index("ix_meeting_attendance_meeting", "meeting_id", "participant_id"),
    sa.Index("ix_meeting_attendance_person", "person_id"),
)


async def _invitations(conn: AsyncConnection, ids: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    found: dict[str, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
    if not ids:
        return found
    rows = await conn.execute(
        sa.select(meeting_invitations)
        .where(meeting_invitations.c.meeting_id.in_(ids))
        .order_by(meeting_invitations.c.target_id)
    )
    for row in rows:
        units, people = found[row.meeting_id]
        (units if row.kind == "unit" else people).append(row.target_id)
    return found


def _meeting(row: Any, units: list[str], people: list[str]) -> Meeting:
    return Meeting(
        id=row.id,
        title=row.title,
        description=row.description,
        organizer_id=row.organizer_id,
        chair_id=row.chair_id,
        secretary_id=row.secretary_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        invited_units=tuple(units),
        invited_people=tuple(people),
        lobby=row.lobby,
        locked=row.locked,
        status=MeetingStatus(row.status),
        closed_for_edits=row.closed_for_edits,
        minutes_doc_id=row.minutes_doc_id,
        main_unit=row.main_unit,
        record=row.record,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


async def _load(conn: AsyncConnection, query: sa.Select[Any]) -> list[Meeting]:
    rows = list(await conn.execute(query))
    invitations = await _invitations(conn, [row.id for row in rows])
    return [_meeting(row, *invitations[row.id]) for row in rows]


async def get(conn: AsyncConnection, meeting_id: str) -> Meeting | None:
    found = await _load(conn, sa.select(meetings).where(meetings.c.id == meeting_id))
    return found[0] if found else None


async def _write_invitations(conn: AsyncConnection, meeting: Meeting) -> None:
    await conn.execute(sa.delete(meeting_invitations).where(meeting_invitations.c.meeting_id == meeting.id))
    rows = [{"meeting_id": meeting.id, "kind": "unit", "target_id": u} for u in meeting.invited_units]
    rows += [{"meeting_id": meeting.id, "kind": "person", "target_id": p} for p in meeting.invited_people]
    if rows:
        await conn.execute(sa.insert(meeting_invitations), rows)


def _columns(meeting: Meeting) -> dict[str, Any]:
    return {
        "title": meeting.title,
        "description": meeting.description,
        "organizer_id": meeting.organizer_id,
        "chair_id": meeting.chair_id,
        "secretary_id": meeting.secretary_id,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "lobby": meeting.lobby,
        "locked": meeting.locked,
        "status": meeting.status.value,
        "closed_for_edits": meeting.closed_for_edits,
        "minutes_doc_id": meeting.minutes_doc_id,
        "main_unit": meeting.main_unit,
        "record": meeting.record,
        "started_at": meeting.started_at,
        "ended_at": meeting.ended_at,
    }


async def insert(conn: AsyncConnection, meeting: Meeting) -> None:
    await conn.execute(sa.insert(meetings).values(id=meeting.id, created_at=meeting.created_at, **_columns(meeting)))
    await _write_invitations(conn, meeting)


async def update(conn: AsyncConnection, meeting: Meeting) -> None:
    await conn.execute(sa.update(meetings).where(meetings.c.id == meeting.id).values(**_columns(meeting)))
    await _write_invitations(conn, meeting)


async def set_status(
    conn: AsyncConnection, meeting_id: str, status: MeetingStatus, *, only_from: Iterable[MeetingStatus],
    **stamps: datetime,
) -> bool:
    """Move a meeting to `status` if it is in one of `only_from`; whether it moved (races lose quietly)."""
    result = await conn.execute(
        sa.update(meetings)
        .where(meetings.c.id == meeting_id, meetings.c.status.in_([s.value for s in only_from]))
        .values(status=status.value, **stamps)
    )
    return bool(result.rowcount)


async def set_flags(conn: AsyncConnection, meeting_id: str, **flags: bool) -> bool:
    result = await conn.execute(sa.update(meetings).where(meetings.c.id == meeting_id).values(**flags))
    return bool(result.rowcount)


async def live(conn: AsyncConnection) -> list[Meeting]:
    """Every live meeting."""
    return await _load(conn, sa.select(meetings).where(meetings.c.status == MeetingStatus.LIVE.value))


async def starting_between(conn: AsyncConnection, after: datetime, until: datetime) -> list[Meeting]:
    """Scheduled meetings whose start is in (after, until]."""
    return await _load(conn, sa.select(meetings).where(
        meetings.c.status == MeetingStatus.SCHEDULED.value, meetings.c.starts_at > after,
        meetings.c.starts_at <= until))


async def listing(
    conn: AsyncConnection,
    *,
    person_id: str | None,
    unit_ids: list[str] | None,
    when: str,
    now: datetime,
    limit: int,
    offset: int,
    title: str = "",
) -> list[Meeting]:
    """Meetings involving a person (invited, chair, secretary, organizer) and/or invited units: "upcoming" (live,
    or scheduled and not yet over, soonest first), "past" (ended, cancelled, or scheduled and over without having
    been held, latest first) or "all" (by start time)."""
    conditions: list[Any] = []
    if person_id is not None:
        invited = sa.select(meeting_invitations.c.meeting_id).where(
            meeting_invitations.c.kind == "person", meeting_invitations.c.target_id == person_id
        )
        conditions += [
            meetings.c.id.in_(invited),
            meetings.c.chair_id == person_id,
            meetings.c.secretary_id == person_id,
            meetings.c.organizer_id == person_id,
        ]
    if unit_ids:
        by_unit = sa.select(meeting_invitations.c.meeting_id).where(
            meeting_invitations.c.kind == "unit", meeting_invitations.c.target_id.in_(unit_ids)
        )
        conditions.append(meetings.c.id.in_(by_unit))
    query = sa.select(meetings)
    if conditions:
        query = query.where(sa.or_(*conditions))
    if title:
        query = query.where(contains(meetings.c.title, title))
    status = meetings.c.status
    scheduled = status == MeetingStatus.SCHEDULED.value
    if when == "upcoming":
        query = query.where(sa.or_(status == MeetingStatus.LIVE.value, sa.and_(scheduled, meetings.c.ends_at >= now)))
    elif when == "past":
        over = [MeetingStatus.ENDED.value, MeetingStatus.CANCELLED.value]
        query = query.where(sa.or_(status.in_(over), sa.and_(scheduled, meetings.c.ends_at < now)))
    order = meetings.c.starts_at.desc() if when == "past" else meetings.c.starts_at
    return await _load(conn, query.order_by(order, meetings.c.id).limit(limit).offset(offset))


async def add_chat(conn: AsyncConnection, meeting_id: str, person_id: str, name: str, text: str,
                   sent_at: datetime) -> ChatMessage:
    result = await conn.execute(
        sa.insert(meeting_chat)
        .values(meeting_id=meeting_id, person_id=person_id, name=name, text=text, sent_at=sent_at)
        .returning(meeting_chat.c.id)
    )
    return ChatMessage(int(result.scalar_one()), meeting_id, person_id, name, text, sent_at)


async def recent_chat(conn: AsyncConnection, meeting_id: str, limit: int) -> list[ChatMessage]:
    """The last `limit` chat messages of a meeting, oldest first."""
    rows = await conn.execute(
        sa.select(meeting_chat)
        .where(meeting_chat.c.meeting_id == meeting_id)
        .order_by(meeting_chat.c.id.desc())
        .limit(limit)
    )
    found = [ChatMessage(r.id, r.meeting_id, r.person_id, r.name, r.text, r.sent_at) for r in rows]
    return list(reversed(found))


async def add_stay(conn: AsyncConnection, stay: Attendance) -> None:
    """Someone came in (while their stay is open, recording it again changes nothing)."""
    exists = await conn.execute(sa.select(meeting_attendance.c.id).where(
        meeting_attendance.c.meeting_id == stay.meeting_id, meeting_attendance.c.participant_id == stay.participant_id,
        meeting_attendance.c.left_at.is_(None)))
    if exists.first() is None:
        await conn.execute(sa.insert(meeting_attendance).values(**stay.columns()))


async def end_stay(conn: AsyncConnection, meeting_id: str, participant_id: str, left_at: datetime,
                   reason: str) -> bool:
    """Someone left; whether their stay was open."""
    result = await conn.execute(
        sa.update(meeting_attendance)
        .where(meeting_attendance.c.meeting_id == meeting_id, meeting_attendance.c.participant_id == participant_id,
               meeting_attendance.c.left_at.is_(None))
        .values(left_at=left_at, left_reason=reason)
    )
    return bool(result.rowcount)


async def end_open_stays(conn: AsyncConnection, meeting_id: str, left_at: datetime, reason: str) -> int:
    """The meeting ended: every stay still open ends with it (a node that died never wrote its leavings)."""
    result = await conn.execute(
        sa.update(meeting_attendance)
        .where(meeting_attendance.c.meeting_id == meeting_id, meeting_attendance.c.left_at.is_(None))
        .values(left_at=left_at, left_reason=reason)
    )
    return int(result.rowcount)


async def stays(conn: AsyncConnection, meeting_id: str) -> list[Attendance]:
    """Every stay in a meeting, in the order they began."""
    rows = await conn.execute(
        sa.select(meeting_attendance).where(meeting_attendance.c.meeting_id == meeting_id)
        .order_by(meeting_attendance.c.joined_at, meeting_attendance.c.id)
    )
    return [Attendance(**{k: v for k, v in row._asdict().items() if k != "id"}) for row in rows]

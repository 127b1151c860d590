"""The only place with SQL for calls: calls, who took part, and who is on the line right now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.calls.model import MISSED_FOR_CALLEE, Call, CallState, LogEntry, Outcome, PartyRole, TargetKind
from hub.storage.meta import UtcDateTime, metadata

calls = sa.Table(
    "calls",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("caller_id", sa.String(64), nullable=False, index=True),
    sa.Column("caller_device", sa.String(64), nullable=False),
    sa.Column("target_kind", sa.String(10), nullable=False),
    sa.Column("target_id", sa.String(64), nullable=False),
    sa.Column("extension", sa.String(20), nullable=True),
    sa.Column("state", sa.String(10), nullable=False, index=True),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("dialled_at", UtcDateTime, nullable=False),
    sa.Column("ring_deadline", UtcDateTime, nullable=False),
    sa.Column("ringing_at", UtcDateTime, nullable=True),
    sa.Column("answered_at", UtcDateTime, nullable=True),
    sa.Column("ended_at", UtcDateTime, nullable=True),
    sa.Column("answered_by", sa.String(64), nullable=True),
    sa.Column("answered_device", sa.String(64), nullable=True),
    sa.Column("ended_by", sa.String(64), nullable=True),
    sa.Column("meeting_id", sa.String(64), nullable=True),
)

# Everyone a call involved: the caller and each person it rang, with what they did about it.
call_parties = sa.Table(
    "call_parties",
    metadata,
    sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", sa.String(64), primary_key=True, index=True),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("declined", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("seen_at", UtcDateTime, nullable=True),
)

# Who is on a call right now: the primary key makes "one call at a time" hold across every node.
call_lines = sa.Table(
    "call_lines",
    metadata,
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("call_id", sa.String(32), nullable=False, index=True),
    sa.Column("taken_at", UtcDateTime, nullable=False),
)

LIVE = (CallState.RINGING.value, CallState.ACTIVE.value)


def _call(row: Any, callees: Iterable[str] = ()) -> Call:
    return Call(
        id=row.id,
        caller_id=row.caller_id,
        caller_device=row.caller_device,
        target_kind=TargetKind(row.target_kind),
        target_id=row.target_id,
        extension=row.extension,
        state=CallState(row.state),
        outcome=Outcome(row.outcome) if row.outcome else None,
        dialled_at=row.dialled_at,
        ring_deadline=row.ring_deadline,
        ringing_at=row.ringing_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        answered_by=row.answered_by,
        answered_device=row.answered_device,
        ended_by=row.ended_by,
        meeting_id=row.meeting_id,
        callees=tuple(callees),
    )


async def insert_call(conn: AsyncConnection, call: Call) -> None:
    """Store a new call and its parties (the caller and every callee)."""
    await conn.execute(
        sa.insert(calls).values(
            id=call.id, caller_id=call.caller_id, caller_device=call.caller_device,
            target_kind=call.target_kind.value, target_id=call.target_id, extension=call.extension,
            state=call.state.value, outcome=call.outcome.value if call.outcome else None,
            dialled_at=call.dialled_at, ring_deadline=call.ring_deadline, ringing_at=call.ringing_at,
            ended_at=call.ended_at,
        )
    )
    parties = [{"call_id": call.id, "person_id": call.caller_id, "role": PartyRole.CALLER.value}]
    callee = PartyRole.CALLEE.value
    parties += [{"call_id": call.id, "person_id": p, "role": callee} for p in call.callees if p != call.caller_id]
    await conn.execute(sa.insert(call_parties), parties)


async def _callees(conn: AsyncConnection, call_ids: list[str]) -> dict[str, list[str]]:
    if not call_ids:
        return {}
    rows = await conn.execute(
        sa.select(call_parties.c.call_id, call_parties.c.person_id)
        .where(call_parties.c.call_id.in_(call_ids), call_parties.c.role == PartyRole.CALLEE.value)
        .order_by(call_parties.c.person_id)
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.call_id, []).append(row.person_id)
    return found


async def get_call(conn: AsyncConnection, call_id: str) -> Call | None:
    row = (await conn.execute(sa.select(calls).where(calls.c.id == call_id))).first()
    if row is None:
        return None
    return _call(row, (await _callees(conn, [call_id])).get(call_id, []))


async def transition(conn: AsyncConnection, call_id: str, from_states: Iterable[CallState], **values: Any) -> bool:
    """Change a call only if it is still in one of from_states: the one race-free way to move a call on."""
    stored = {k: (v.value if isinstance(v, CallState | Outcome) else v) for k, v in values.items()}
    result = await conn.execute(
        sa.update(calls)
        .where(calls.c.id == call_id, calls.c.state.in_([s.value for s in from_states]))
        .values(**stored)
    )
    return bool(result.rowcount)


async def move_device(conn: AsyncConnection, call_id: str, side: str, old: str, new: str) -> bool:
    """Move one end of an answered call to another device, only if it is still answered on the old one."""
    column = {"caller_device": calls.c.caller_device, "answered_device": calls.c.answered_device}[side]
    result = await conn.execute(
        sa.update(calls)
        .where(calls.c.id == call_id, calls.c.state == CallState.ACTIVE.value, column == old)
        .values({side: new})
    )
    return bool(result.rowcount)


async def party_roles(conn: AsyncConnection, call_id: str) -> dict[str, tuple[PartyRole, bool]]:
    """person -> (role, declined) for one call."""
    rows = await conn.execute(sa.select(call_parties).where(call_parties.c.call_id == call_id))
    return {row.person_id: (PartyRole(row.role), row.declined) for row in rows}


async def set_declined(conn: AsyncConnection, call_id: str, person_id: str) -> None:
    await conn.execute(
        sa.update(call_parties)
        .where(call_parties.c.call_id == call_id, call_parties.c.person_id == person_id)
        .values(declined=True)
    )


async def take_line(conn: AsyncConnection, person_id: str, call_id: str, now: datetime) -> None:
    """Put a person on a call's line; raises IntegrityError when they are on another one."""
    await conn.execute(sa.insert(call_lines).values(person_id=person_id, call_id=call_id, taken_at=now))


async def line_of(conn: AsyncConnection, person_id: str) -> tuple[str, datetime] | None:
    """The call a person is on and since when, if any."""
    row = (await conn.execute(sa.select(call_lines).where(call_lines.c.person_id == person_id))).first()
    return None if row is None else (row.call_id, row.taken_at)


async def lines_of(conn: AsyncConnection, person_ids: list[str]) -> dict[str, str]:
    """person -> call for those who are on a line."""
    if not person_ids:
        return {}
    rows = await conn.execute(sa.select(call_lines).where(call_lines.c.person_id.in_(person_ids)))
    return {row.person_id: row.call_id for row in rows}


async def release_line(conn: AsyncConnection, person_id: str, call_id: str) -> None:
    await conn.execute(
        sa.delete(call_lines).where(call_lines.c.person_id == person_id, call_lines.c.call_id == call_id)
    )


async def release_lines(conn: AsyncConnection, call_id: str) -> None:
    await conn.execute(sa.delete(call_lines).where(call_lines.c.call_id == call_id))


async def live_calls(conn: AsyncConnection) -> list[Call]:
    """Calls that ring or are going on (for the sweeper)."""
    rows = list(await conn.execute(sa.select(calls).where(calls.c.state.in_(LIVE))))
    callees = await _callees(conn, [row.id for row in rows])
    return [_call(row, callees.get(row.id, [])) for row in rows]


def _missed_clause() -> sa.ColumnElement[bool]:
    return sa.and_(
        call_parties.c.role == PartyRole.CALLEE.value,
        call_parties.c.declined.is_(False),
        calls.c.state == CallState.ENDED.value,
        calls.c.outcome.in_([o.value for o in MISSED_FOR_CALLEE]),
    )


async def log_of(
    conn: AsyncConnection, person_id: str, *, missed_only: bool, limit: int, offset: int
) -> tuple[list[LogEntry], int]:
    """A person's calls, newest first, with the total."""
    joined = calls.join(call_parties, call_parties.c.call_id == calls.c.id)
    where = [call_parties.c.person_id == person_id]
    if missed_only:
        where.append(_missed_clause())
    total = (await conn.execute(sa.select(sa.func.count()).select_from(joined).where(*where))).scalar_one()
    missed = _missed_clause().label("is_missed")
    rows = list(
        await conn.execute(
            sa.select(calls, call_parties.c.role, call_parties.c.seen_at, missed)
            .select_from(joined)
            .where(*where)
            .order_by(calls.c.dialled_at.desc(), calls.c.id)
            .limit(limit)
            .offset(offset)
        )
    )
    callees = await _callees(conn, [row.id for row in rows])
    entries = [
        LogEntry(
            call=_call(row, callees.get(row.id, [])),
            role=PartyRole(row.role),
            missed=bool(row.is_missed),
            seen=row.seen_at is not None,
        )
        for row in rows
    ]
    return entries, int(total)


async def missed_unseen(conn: AsyncConnection, person_id: str) -> int:
    """How many missed calls a person has not looked at yet."""
    joined = calls.join(call_parties, call_parties.c.call_id == calls.c.id)
    query = (
        sa.select(sa.func.count())
        .select_from(joined)
        .where(call_parties.c.person_id == person_id, call_parties.c.seen_at.is_(None), _missed_clause())
    )
    return int((await conn.execute(query)).scalar_one())


async def mark_seen(conn: AsyncConnection, person_id: str, now: datetime) -> None:
    """Every call of a person counts as seen from now on."""
    await conn.execute(
        sa.update(call_parties)
        .where(call_parties.c.person_id == person_id, call_parties.c.seen_at.is_(None))
        .values(seen_at=now)
    )


async def recent_contacts(conn: AsyncConnection, person_id: str, limit: int) -> list[tuple[str, str]]:
    """(kind, id) of whom a person called or was called by most recently, newest first, no repeats."""
    mine = sa.select(call_parties.c.call_id).where(call_parties.c.person_id == person_id)
    rows = await conn.execute(
        sa.select(calls.c.caller_id, calls.c.target_kind, calls.c.target_id, calls.c.answered_by)
        .where(calls.c.id.in_(mine))
        .order_by(calls.c.dialled_at.desc())
        .limit(limit * 4)
    )
    seen: list[tuple[str, str]] = []
    for row in rows:
        if row.caller_id != person_id:
            contact = (TargetKind.PERSON.value, row.caller_id)
        else:
            contact = (row.target_kind, row.target_id)
        if contact not in seen:
            seen.append(contact)
        if len(seen) >= limit:
            break
    return seen

"""Read-side SQL of supervision: filtered lists, counts, per-department figures, scheduler candidates."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.supervision.model import ACTIVE_STATUSES, OPEN_STATUSES, Item, ItemFilter, Status, UnitStats
from hub.supervision.store import item_of
from hub.supervision.tables import item_units, items, reminders

OPEN = sorted(s.value for s in OPEN_STATUSES)
ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)


def conditions(f: ItemFilter, today: date) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of a filter; `today` is the city's calendar day (overdue = open and due before it)."""
    where: list[sa.ColumnElement[bool]] = []
    if f.unit_id:
        where.append(items.c.lead_unit_id == f.unit_id)
    if f.status:
        where.append(items.c.status == f.status.value)
    if f.overdue is True:
        where += [items.c.status.in_(ACTIVE), items.c.due_date < today]
    elif f.overdue is False:
        where.append(sa.or_(items.c.status.not_in(ACTIVE), items.c.due_date >= today))
    if f.meeting_id:
        where.append(items.c.meeting_id == f.meeting_id)
    if f.due_from:
        where.append(items.c.due_date >= f.due_from)
    if f.due_to:
        where.append(items.c.due_date <= f.due_to)
    if f.involving_unit:
        where.append(items.c.id.in_(sa.select(item_units.c.item_id).where(item_units.c.unit_id == f.involving_unit)))
    return where


async def list_items(
    conn: AsyncConnection, f: ItemFilter, today: date, *, limit: int | None, offset: int = 0
) -> tuple[list[Item], int]:
    """A page of matching items, soonest due first, and how many match in all."""
    where = conditions(f, today)
    query = sa.select(items).where(*where).order_by(items.c.due_date, items.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = (await conn.execute(query)).all()
    total = len(rows) if limit is None else int(
        await conn.scalar(sa.select(sa.func.count()).select_from(items).where(*where)) or 0
    )
    return [item_of(row, today) for row in rows], total


def _is_open() -> sa.ColumnElement[bool]:
    return items.c.status.in_(OPEN)


def _is_late(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(items.c.status.in_(ACTIVE), items.c.due_date < today)


async def counts(conn: AsyncConnection, f: ItemFilter, today: date) -> dict[str, int]:
    """How many matching items are in each state, and how many are overdue."""
    overdue = sa.func.sum(sa.case((_is_late(today), 1), else_=0))
    rows = (
        await conn.execute(
            sa.select(items.c.status, sa.func.count(), overdue).where(*conditions(f, today)).group_by(items.c.status)
        )
    ).all()
    result = {status.value: 0 for status in Status}
    result["overdue"] = 0
    result["total"] = 0
    for status, count, late in rows:
        result[status] = int(count)
        result["overdue"] += int(late or 0)
        result["total"] += int(count)
    result["open"] = sum(result[s] for s in OPEN)
    return result


async def unit_stats(conn: AsyncConnection, f: ItemFilter, today: date) -> list[UnitStats]:
    """Per lead department: totals, overdue now, closed, closed on time, average days to close."""
    is_open = _is_open()
    closed = items.c.status == Status.CLOSED.value
    query = (
        sa.select(
            items.c.lead_unit_id,
            sa.func.count(),
            sa.func.sum(sa.case((is_open, 1), else_=0)),
            sa.func.sum(sa.case((_is_late(today), 1), else_=0)),
            sa.func.sum(sa.case((closed, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(closed, items.c.on_time.is_(True)), 1), else_=0)),
            sa.func.avg(sa.case((closed, items.c.days_to_close), else_=None)),
        )
        .where(*conditions(f, today))
        .group_by(items.c.lead_unit_id)
    )
    return [
        UnitStats(
            unit_id=row[0], total=int(row[1]), open=int(row[2] or 0), overdue=int(row[3] or 0),
            closed=int(row[4] or 0), closed_on_time=int(row[5] or 0),
            avg_days_to_close=None if row[6] is None else float(row[6]),
        )
        for row in (await conn.execute(query)).all()
    ]


async def reminder_candidates(
    conn: AsyncConnection, horizon: date, last_threshold: str
) -> list[dict[str, Any]]:
    """Open items due on or before `horizon` whose last threshold has not fired for their current due date."""
    done = sa.exists().where(
        reminders.c.item_id == items.c.id, reminders.c.due_date == items.c.due_date,
        reminders.c.threshold == last_threshold,
    )
    query = (
        sa.select(items.c.id, items.c.due_date, items.c.lead_unit_id, items.c.responsible_id, items.c.title)
        .where(items.c.status.in_(ACTIVE), items.c.due_date <= horizon, ~done)
        .order_by(items.c.due_date, items.c.id)
    )
    return [dict(row._mapping) for row in (await conn.execute(query)).all()]


async def fired_thresholds(conn: AsyncConnection, item_id: str, due_date: date) -> set[str]:
    rows = await conn.execute(
        sa.select(reminders.c.threshold).where(reminders.c.item_id == item_id, reminders.c.due_date == due_date)
    )
    return {row[0] for row in rows}


async def record_thresholds(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(sa.insert(reminders), rows)

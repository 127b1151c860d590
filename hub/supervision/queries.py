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


def _is_late(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(items.c.status.in_(ACTIVE), items.c.due_date < today)


async def summary(conn: AsyncConnection, f: ItemFilter, today: date) -> tuple[dict[str, int], list[UnitStats]]:
    """Counts per state (and overdue) and per-department figures of the matching items, from one grouped scan."""
    closed = items.c.status == Status.CLOSED.value
    query = (
        sa.select(
            items.c.lead_unit_id,
            items.c.status,
            sa.func.count(),
            sa.func.sum(sa.case((_is_late(today), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(closed, items.c.on_time.is_(True)), 1), else_=0)),
            sa.func.sum(sa.case((closed, items.c.days_to_close), else_=None)),
        )
        .where(*conditions(f, today))
        .group_by(items.c.lead_unit_id, items.c.status)
    )
    counts = {status.value: 0 for status in Status}
    counts.update(overdue=0, total=0)
    per_unit: dict[str, dict[str, Any]] = {}
    for unit_id, status, count, late, on_time, days in (await conn.execute(query)).all():
        count, late = int(count), int(late or 0)
        counts[status] += count
        counts["overdue"] += late
        counts["total"] += count
        unit = per_unit.setdefault(
            unit_id, {"total": 0, "open": 0, "overdue": 0, "closed": 0, "on_time": 0, "days": 0.0}
        )
        unit["total"] += count
        unit["overdue"] += late
        if status in OPEN:
            unit["open"] += count
        if status == Status.CLOSED.value:
            unit["closed"] += count
            unit["on_time"] += int(on_time or 0)
            unit["days"] += float(days or 0.0)
    counts["open"] = sum(counts[s] for s in OPEN)
    stats = [
        UnitStats(
            unit_id=unit_id, total=u["total"], open=u["open"], overdue=u["overdue"], closed=u["closed"],
            closed_on_time=u["on_time"], avg_days_to_close=u["days"] / u["closed"] if u["closed"] else None,
        )
        for unit_id, u in per_unit.items()
    ]
    return counts, stats


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

"""Read-side SQL of supervision: filtered lists, counts, per-department figures, scheduler candidates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.storage.meta import contains
from hub.supervision.model import ACTIVE_STATUSES, OPEN_STATUSES, Item, ItemFilter, Status, UnitStats
from hub.supervision.store import item_of
from hub.supervision.tables import decisions, item_units, items, reminders, rollup

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
    if f.title:
        where.append(contains(items.c.title, f.title))
    return where


async def list_items(
    conn: AsyncConnection, f: ItemFilter, today: date, *, limit: int | None, offset: int = 0
) -> tuple[list[Item], int]:
    """A page of matching items, soonest due first, and how many match in all."""
    source: sa.FromClause = items
    order: tuple[sa.ColumnElement[Any], ...] = (items.c.due_date, items.c.id)
    where = conditions(replace(f, involving_unit=None), today)
    if f.involving_unit:
        # A department's view walks its own index (unit, due date) and fetches only the page's items.
        source = item_units.join(items, items.c.id == item_units.c.item_id)
        order = (item_units.c.due_date, item_units.c.item_id)
        where.append(item_units.c.unit_id == f.involving_unit)
    query = sa.select(items).select_from(source).where(*where).order_by(*order).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = (await conn.execute(query)).all()
    if limit is None:
        total = len(rows)
    elif _rollup_serves(f):
        # By department and/or state only: the rollup knows the total without counting the items.
        counted = sa.select(sa.func.coalesce(sa.func.sum(rollup.c.item_count), 0))
        if f.unit_id:
            counted = counted.where(rollup.c.unit_id == f.unit_id)
        if f.status:
            counted = counted.where(rollup.c.status == f.status.value)
        total = int(await conn.scalar(counted) or 0)
    elif f.involving_unit and replace(f, involving_unit=None) == ItemFilter():
        total = int(await conn.scalar(
            sa.select(sa.func.count()).select_from(item_units).where(item_units.c.unit_id == f.involving_unit)
        ) or 0)
    else:
        total = int(await conn.scalar(sa.select(sa.func.count()).select_from(source).where(*where)) or 0)
    return [item_of(row, today) for row in rows], total


def _is_late(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(items.c.status.in_(ACTIVE), items.c.due_date < today)


def _rollup_serves(f: ItemFilter) -> bool:
    return not (f.overdue is not None or f.meeting_id or f.due_from or f.due_to or f.involving_unit or f.title)


async def summary(conn: AsyncConnection, f: ItemFilter, today: date) -> tuple[dict[str, int], list[UnitStats]]:
    """Counts per state (and overdue) and per-department figures of the matching items.

    Filtered by department and/or state only (the dashboard's usual view), they come from the rollup plus an index
    range of the overdue items; any other filter takes one grouped scan of the matching items.
    """
    if _rollup_serves(f):
        return await _summary_from_rollup(conn, f, today)
    return await _summary_by_scan(conn, f, today)


async def _summary_from_rollup(
    conn: AsyncConnection, f: ItemFilter, today: date
) -> tuple[dict[str, int], list[UnitStats]]:
    query = sa.select(
        rollup.c.unit_id, rollup.c.status, rollup.c.item_count, rollup.c.on_time, rollup.c.days_sum
    ).where(rollup.c.item_count > 0)
    late = sa.select(items.c.lead_unit_id, sa.func.count()).where(_is_late(today)).group_by(items.c.lead_unit_id)
    if f.unit_id:
        query = query.where(rollup.c.unit_id == f.unit_id)
        late = late.where(items.c.lead_unit_id == f.unit_id)
    if f.status:
        query = query.where(rollup.c.status == f.status.value)
        late = late.where(items.c.status == f.status.value)
    overdue = {unit: int(count) for unit, count in (await conn.execute(late)).all()}
    rows = [(unit, status, count, 0, on_time, days) for unit, status, count, on_time, days in
            (await conn.execute(query)).all()]
    counts, stats = _fold(rows)
    counts["overdue"] = sum(overdue.values())
    stats = [replace(s, overdue=overdue.get(s.unit_id, 0)) for s in stats]
    return counts, stats


async def _summary_by_scan(
    conn: AsyncConnection, f: ItemFilter, today: date
) -> tuple[dict[str, int], list[UnitStats]]:
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
    return _fold([tuple(row) for row in (await conn.execute(query)).all()])


def _fold(rows: list[tuple[Any, ...]]) -> tuple[dict[str, int], list[UnitStats]]:
    """Counts and per-department figures from (unit, status, items, overdue, closed on time, days summed) rows."""
    counts = {status.value: 0 for status in Status}
    counts.update(overdue=0, total=0)
    per_unit: dict[str, dict[str, Any]] = {}
    for unit_id, status, count, late, on_time, days in rows:
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


async def meeting_titles(conn: AsyncConnection, meeting_ids: list[str]) -> dict[str, str]:
    """The titles of meetings that decided something, as recorded with their decisions."""
    if not meeting_ids:
        return {}
    rows = await conn.execute(sa.select(decisions.c.meeting_id, sa.func.max(decisions.c.meeting_title))
                              .where(decisions.c.meeting_id.in_(meeting_ids)).group_by(decisions.c.meeting_id))
    return {row[0]: row[1] for row in rows}


async def decided_meetings(conn: AsyncConnection, limit: int) -> list[tuple[str, str, Any]]:
    """The meetings that decided something: (id, title, when it last decided), the most recent first."""
    last = sa.func.max(decisions.c.recorded_at).label("last")
    rows = await conn.execute(
        sa.select(decisions.c.meeting_id, sa.func.max(decisions.c.meeting_title), last)
        .group_by(decisions.c.meeting_id).order_by(last.desc(), decisions.c.meeting_id).limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in rows]


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

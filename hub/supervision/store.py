"""The only place with SQL for supervision's decisions, items and follow-ups (queries: hub.supervision.queries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.supervision.model import (
    ACTIVE_STATUSES,
    Attachment,
    Decision,
    FollowUp,
    Item,
    Priority,
    Status,
)
from hub.supervision.tables import attachments, decisions, followups, item_units, items, rollup, signoffs


def decision_of(row: Any, item_id: str) -> Decision:
    return Decision(
        id=row.id, meeting_id=row.meeting_id, meeting_title=row.meeting_title, minutes_doc_id=row.minutes_doc_id,
        number=row.number, text=row.text, recorded_by=row.recorded_by, recorded_at=row.recorded_at, item_id=item_id,
    )


def item_of(row: Any, today: date | None = None) -> Item:
    status = Status(row.status)
    overdue = today is not None and status in ACTIVE_STATUSES and row.due_date < today
    return Item(
        id=row.id, decision_id=row.decision_id, meeting_id=row.meeting_id, title=row.title,
        lead_unit_id=row.lead_unit_id, coop_unit_ids=tuple(row.coop_unit_ids), responsible_id=row.responsible_id,
        priority=Priority(row.priority), status=status, percent=row.percent, due_date=row.due_date,
        original_due_date=row.original_due_date, requested_due_date=row.requested_due_date,
        created_at=row.created_at, updated_at=row.updated_at, submitted_at=row.submitted_at,
        closed_at=row.closed_at, on_time=row.on_time, days_to_close=row.days_to_close, number=row.number,
        overdue=overdue,
    )


async def next_decision_number(conn: AsyncConnection, meeting_id: str) -> int:
    current = await conn.scalar(
        sa.select(sa.func.max(decisions.c.number)).where(decisions.c.meeting_id == meeting_id)
    )
    return int(current or 0) + 1


async def next_item_number(conn: AsyncConnection, year: int) -> int:
    """The next item's place in its year (callers hold the audit lock; a unique constraint backs it up)."""
    current = await conn.scalar(sa.select(sa.func.max(items.c.number_seq)).where(items.c.number_year == year))
    return int(current or 0) + 1


def item_number(prefix: str, year: int, seq: int) -> str:
    """督办〔2026〕12号: the form of official papers' numbers (GB/T 9704: year in 〔〕, no leading zeros)."""
    return f"{prefix}〔{year}〕{seq}号"


async def insert_decision(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(decisions).values(**values))


async def _count(conn: AsyncConnection, unit_id: str, status: str, delta: int, on_time: int = 0,
                 days: float = 0.0) -> None:
    """Move one item into (delta 1) or out of (delta -1) a department's count for a state."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(insert(rollup).values(unit_id=unit_id, status=status).on_conflict_do_nothing())
    await conn.execute(
        sa.update(rollup)
        .where(rollup.c.unit_id == unit_id, rollup.c.status == status)
        .values(item_count=rollup.c.item_count + delta, on_time=rollup.c.on_time + on_time,
                days_sum=rollup.c.days_sum + days)
    )


async def rebuild_rollup(conn: AsyncConnection) -> None:
    """Recount the rollup from the items (after items were written by anything but the service)."""
    await conn.execute(sa.delete(rollup))
    closed = items.c.status == Status.CLOSED.value
    await conn.execute(
        sa.insert(rollup).from_select(
            ["unit_id", "status", "item_count", "on_time", "days_sum"],
            sa.select(
                items.c.lead_unit_id, items.c.status, sa.func.count(),
                sa.func.sum(sa.case((sa.and_(closed, items.c.on_time.is_(True)), 1), else_=0)),
                sa.func.coalesce(sa.func.sum(sa.case((closed, items.c.days_to_close), else_=None)), 0.0),
            ).group_by(items.c.lead_unit_id, items.c.status),
        )
    )


async def insert_item(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(items).values(**values))
    await _count(conn, values["lead_unit_id"], values["status"], 1)
    units = [values["lead_unit_id"], *[u for u in values["coop_unit_ids"] if u != values["lead_unit_id"]]]
    await conn.execute(
        sa.insert(item_units), [{"item_id": values["id"], "unit_id": u, "due_date": values["due_date"]} for u in units]
    )


async def get_item(conn: AsyncConnection, item_id: str, today: date | None = None) -> Item | None:
    row = (await conn.execute(sa.select(items).where(items.c.id == item_id))).first()
    return item_of(row, today) if row else None


async def get_decision(conn: AsyncConnection, decision_id: str, item_id: str) -> Decision | None:
    row = (await conn.execute(sa.select(decisions).where(decisions.c.id == decision_id))).first()
    return decision_of(row, item_id) if row else None


async def decisions_of_meeting(
    conn: AsyncConnection, meeting_id: str, today: date
) -> list[tuple[Decision, Item]]:
    query = (
        sa.select(decisions, items.c.id.label("item_id_"), items.c.status.label("item_status"))
        .join(items, items.c.decision_id == decisions.c.id)
        .where(decisions.c.meeting_id == meeting_id)
        .order_by(decisions.c.number)
    )
    rows = (await conn.execute(query)).all()
    ids = [row.item_id_ for row in rows]
    by_id = {i.id: i for i in await get_items(conn, ids, today)}
    return [(decision_of(row, row.item_id_), by_id[row.item_id_]) for row in rows]


async def meeting_has_decisions(conn: AsyncConnection, meeting_id: str) -> bool:
    query = sa.select(decisions.c.id).where(decisions.c.meeting_id == meeting_id).limit(1)
    return (await conn.execute(query)).first() is not None


async def get_items(conn: AsyncConnection, ids: Sequence[str], today: date | None = None) -> list[Item]:
    if not ids:
        return []
    rows = (await conn.execute(sa.select(items).where(items.c.id.in_(list(ids))))).all()
    return [item_of(row, today) for row in rows]


async def update_item(conn: AsyncConnection, item_id: str, expected: Status, values: dict[str, Any]) -> bool:
    """Change an item only if it is still in the state it was read in; False when someone changed it first."""
    result = await conn.execute(
        sa.update(items)
        .where(items.c.id == item_id, items.c.status == expected.value)
        .values(**values)
        .returning(items.c.lead_unit_id, items.c.status, items.c.on_time, items.c.days_to_close)
    )
    row = result.first()
    if row is None:
        return False
    if "due_date" in values:
        await conn.execute(
            sa.update(item_units).where(item_units.c.item_id == item_id).values(due_date=values["due_date"])
        )
    if row.status != expected.value:
        await _count(conn, row.lead_unit_id, expected.value, -1)
        closed = row.status == Status.CLOSED.value
        await _count(conn, row.lead_unit_id, row.status, 1, on_time=int(bool(closed and row.on_time)),
                     days=float(row.days_to_close or 0.0) if closed else 0.0)
    return True


async def insert_followup(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(sa.insert(followups).values(**values).returning(followups.c.id))
    return int(result.scalar_one())


async def insert_attachment(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(attachments).values(**values))


def _attachment(row: Any) -> Attachment:
    return Attachment(
        id=row.id, item_id=row.item_id, followup_id=row.followup_id, filename=row.filename,
        content_type=row.content_type, size=row.size, sha256=row.sha256,
    )


async def timeline(conn: AsyncConnection, item_id: str) -> list[FollowUp]:
    rows = (
        await conn.execute(
            sa.select(followups).where(followups.c.item_id == item_id).order_by(followups.c.at, followups.c.id)
        )
    ).all()
    files = (
        await conn.execute(
            sa.select(*[c for c in attachments.c if c.name != "content"])
            .where(attachments.c.item_id == item_id)
            .order_by(attachments.c.filename)
        )
    ).all()
    by_followup: dict[int, list[Attachment]] = {}
    for row in files:
        by_followup.setdefault(row.followup_id, []).append(_attachment(row))
    return [
        FollowUp(
            id=row.id, item_id=row.item_id, kind=row.kind, author_id=row.author_id, text=row.text,
            percent=row.percent, data=row.data, at=row.at, attachments=tuple(by_followup.get(row.id, ())),
        )
        for row in rows
    ]


async def attachment_content(conn: AsyncConnection, attachment_id: str) -> tuple[Attachment, bytes] | None:
    row = (await conn.execute(sa.select(attachments).where(attachments.c.id == attachment_id))).first()
    return (_attachment(row), bytes(row.content)) if row else None


async def insert_signoff(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(signoffs).values(**values))


async def signoffs_of(conn: AsyncConnection, item_id: str) -> list[dict[str, Any]]:
    """An item's handwritten signatures (without strokes and image), oldest first."""
    rows = (await conn.execute(
        sa.select(signoffs.c.id, signoffs.c.followup_id, signoffs.c.signer_id, signoffs.c.signer_name,
                  signoffs.c.signed_at, signoffs.c.method, signoffs.c.state_sha256)
        .where(signoffs.c.item_id == item_id).order_by(signoffs.c.signed_at)
    )).all()
    return [{**row._asdict(), "image": f"/api/v1/supervision/items/{item_id}/signoffs/{row.id}/image"}
            for row in rows]


async def signoff_image(conn: AsyncConnection, item_id: str, signoff_id: str) -> bytes | None:
    row = (await conn.execute(sa.select(signoffs.c.image).where(
        signoffs.c.item_id == item_id, signoffs.c.id == signoff_id))).first()
    return bytes(row.image) if row else None

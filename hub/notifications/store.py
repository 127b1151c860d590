"""The only place with SQL for notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.notifications.model import Notification, Subject
from hub.notifications.tables import notifications, sent_once


def _notification(row: Any) -> Notification:
    return Notification(
        id=row.id, person_id=row.person_id, subject=Subject(row.subject), subject_id=row.subject_id, kind=row.kind,
        data=row.data, created_at=row.created_at, read_at=row.read_at,
    )


async def insert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[Notification]:
    """Store notifications; the stored ones, with their ids."""
    if not rows:
        return []
    result = await conn.execute(sa.insert(notifications).returning(*notifications.c), rows)
    return [_notification(row) for row in result]


async def of_person(
    conn: AsyncConnection, person_id: str, *, unread_only: bool, subject: Subject | None, limit: int, offset: int
) -> list[Notification]:
    query = sa.select(notifications).where(notifications.c.person_id == person_id)
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    if subject is not None:
        query = query.where(notifications.c.subject == subject.value)
    rows = await conn.execute(query.order_by(notifications.c.id.desc()).limit(limit).offset(offset))
    return [_notification(row) for row in rows]


async def get(conn: AsyncConnection, person_id: str, notification_id: int) -> Notification | None:
    row = (await conn.execute(sa.select(notifications).where(
        notifications.c.id == notification_id, notifications.c.person_id == person_id))).first()
    return None if row is None else _notification(row)


async def unread_count(conn: AsyncConnection, person_id: str) -> int:
    query = sa.select(sa.func.count()).where(notifications.c.person_id == person_id,
                                             notifications.c.read_at.is_(None))
    return int((await conn.execute(query)).scalar_one())


async def mark_read(conn: AsyncConnection, person_id: str, notification_id: int, now: datetime) -> bool:
    """Mark one of a person's notifications read; False when they have no such notification."""
    mine = (notifications.c.id == notification_id) & (notifications.c.person_id == person_id)
    await conn.execute(sa.update(notifications).where(mine, notifications.c.read_at.is_(None)).values(read_at=now))
    return (await conn.scalar(sa.select(notifications.c.id).where(mine))) is not None


async def mark_all_read(conn: AsyncConnection, person_id: str, now: datetime) -> int:
    """Mark every unread notification of a person read; how many were unread."""
    result = await conn.execute(
        sa.update(notifications)
        .where(notifications.c.person_id == person_id, notifications.c.read_at.is_(None))
        .values(read_at=now)
    )
    return int(result.rowcount or 0)


async def retire(conn: AsyncConnection, subject: Subject, subject_id: str, kinds: Sequence[str],
                 now: datetime) -> None:
    """Mark everyone's unread news of these kinds about one thing read (it asks nothing of anyone any more)."""
    await conn.execute(
        sa.update(notifications)
        .where(notifications.c.subject == subject.value, notifications.c.subject_id == subject_id,
               notifications.c.read_at.is_(None), notifications.c.kind.in_(tuple(kinds)))
        .values(read_at=now)
    )


async def claim_once(conn: AsyncConnection, key: str, now: datetime) -> bool:
    """Whether this is the first claim of a key (news sent once); a later claim on any node gets False."""
    insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    result = await conn.execute(
        insert_(sent_once).values(key=key, sent_at=now).on_conflict_do_nothing().returning(sent_once.c.key)
    )
    return result.first() is not None

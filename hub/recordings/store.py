"""The only place with SQL for recordings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.recordings.model import Recording, RecordingStatus
from hub.storage.meta import UtcDateTime, metadata

recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("meeting_id", sa.String(32), sa.ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("started_by", sa.String(64), nullable=True),
    sa.Column("stopped_at", UtcDateTime, nullable=True),
    sa.Column("stopped_by", sa.String(64), nullable=True),
    sa.Column("stop_reason", sa.String(32), nullable=True),
    sa.Column("duration", sa.Float, nullable=False, server_default="0"),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("archive_bytes", sa.BigInteger, nullable=True),
    sa.Column("seen_at", UtcDateTime, nullable=True),
    sa.Index("ix_recordings_meeting", "meeting_id", "started_at"),
    # one recording under way per meeting, whichever node two clicks reach at once
    sa.Index("uq_recordings_live", "meeting_id", unique=True, sqlite_where=sa.text("status = 'recording'"),
             postgresql_where=sa.text("status = 'recording'")),
)


def _recording(row: Any) -> Recording:
    return Recording(
        id=row.id, meeting_id=row.meeting_id, status=RecordingStatus(row.status), started_at=row.started_at,
        started_by=row.started_by, stopped_at=row.stopped_at, stopped_by=row.stopped_by,
        stop_reason=row.stop_reason, duration=row.duration, progress=row.progress, error=row.error,
        archive_bytes=row.archive_bytes, seen_at=row.seen_at,
    )


async def insert(conn: AsyncConnection, recording: Recording) -> None:
    await conn.execute(recordings.insert().values(
        id=recording.id, meeting_id=recording.meeting_id, status=recording.status.value,
        started_at=recording.started_at, started_by=recording.started_by, seen_at=recording.seen_at,
    ))


async def get(conn: AsyncConnection, recording_id: str) -> Recording | None:
    row = (await conn.execute(sa.select(recordings).where(recordings.c.id == recording_id))).first()
    return _recording(row) if row else None


async def of_meeting(conn: AsyncConnection, meeting_id: str) -> list[Recording]:
    query = sa.select(recordings).where(recordings.c.meeting_id == meeting_id).order_by(recordings.c.started_at)
    return [_recording(row) for row in (await conn.execute(query)).all()]


async def of_meetings(conn: AsyncConnection, meeting_ids: list[str]) -> list[Recording]:
    if not meeting_ids:
        return []
    query = (sa.select(recordings).where(recordings.c.meeting_id.in_(meeting_ids),
                                         recordings.c.status != RecordingStatus.DELETED.value)
             .order_by(recordings.c.started_at))
    return [_recording(row) for row in (await conn.execute(query)).all()]


async def live_of(conn: AsyncConnection, meeting_id: str) -> Recording | None:
    """The meeting's recording under way, if any."""
    query = sa.select(recordings).where(recordings.c.meeting_id == meeting_id,
                                        recordings.c.status == RecordingStatus.RECORDING.value)
    row = (await conn.execute(query)).first()
    return _recording(row) if row else None


async def with_status(conn: AsyncConnection, status: RecordingStatus, *, seen_before: datetime | None = None,
                      stopped_before: datetime | None = None) -> list[Recording]:
    query = sa.select(recordings).where(recordings.c.status == status.value)
    if seen_before is not None:
        query = query.where(sa.or_(recordings.c.seen_at.is_(None), recordings.c.seen_at < seen_before))
    if stopped_before is not None:
        query = query.where(recordings.c.stopped_at < stopped_before)
    return [_recording(row) for row in (await conn.execute(query.order_by(recordings.c.started_at))).all()]


async def update(conn: AsyncConnection, recording_id: str, expected: tuple[RecordingStatus, ...], *,
                 seen: datetime | None = None, **values: Any) -> bool:
    """Change a recording if it is still in one of the `expected` states (and, with `seen`, was last seen then):
    one node wins a race; True if this one did."""
    if isinstance(values.get("status"), RecordingStatus):
        values["status"] = values["status"].value
    query = recordings.update().where(recordings.c.id == recording_id,
                                      recordings.c.status.in_([s.value for s in expected]))
    if seen is not None:
        query = query.where(recordings.c.seen_at == seen)
    result = await conn.execute(query.values(**values))
    return result.rowcount == 1

"""The only place with SQL for document metadata, access grants and named versions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.docs.model import DocKind, DocRole, Document, Grant, SubjectKind, Version
from hub.docs.tables import doc_grants, doc_versions, documents


def _document(row: Any) -> Document:
    return Document(
        id=row.id,
        title=row.title,
        kind=DocKind(row.kind),
        owner_unit_id=row.owner_unit_id,
        meeting_id=row.meeting_id,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _version(row: Any) -> Version:
    return Version(
        id=row.id,
        doc_id=row.doc_id,
        name=row.name,
        created_by=row.created_by,
        created_at=row.created_at,
        size=int(row.size),
    )


async def insert_document(conn: AsyncConnection, doc: Document, grants: Iterable[Grant]) -> None:
    """Store a new document and its grants."""
    await conn.execute(sa.insert(documents).values(
        id=doc.id, title=doc.title, kind=doc.kind.value, owner_unit_id=doc.owner_unit_id,
        meeting_id=doc.meeting_id, created_by=doc.created_by, created_at=doc.created_at,
        updated_at=doc.updated_at,
    ))
    await set_grants(conn, doc.id, grants)


async def get_document(conn: AsyncConnection, doc_id: str) -> Document | None:
    row = (await conn.execute(sa.select(documents).where(documents.c.id == doc_id))).first()
    return _document(row) if row is not None else None


async def document_of_meeting(conn: AsyncConnection, meeting_id: str) -> Document | None:
    row = (await conn.execute(sa.select(documents).where(documents.c.meeting_id == meeting_id))).first()
    return _document(row) if row is not None else None


async def rename(conn: AsyncConnection, doc_id: str, title: str, now: datetime) -> None:
    await conn.execute(sa.update(documents).where(documents.c.id == doc_id).values(title=title, updated_at=now))


async def touch(conn: AsyncConnection, doc_id: str, now: datetime) -> None:
    await conn.execute(sa.update(documents).where(documents.c.id == doc_id).values(updated_at=now))


async def grants_of(conn: AsyncConnection, doc_id: str) -> list[Grant]:
    rows = (await conn.execute(
        sa.select(doc_grants).where(doc_grants.c.doc_id == doc_id)
        .order_by(doc_grants.c.subject_kind, doc_grants.c.subject_id)
    )).all()
    return [Grant(SubjectKind(r.subject_kind), r.subject_id, DocRole(r.role)) for r in rows]


async def set_grants(conn: AsyncConnection, doc_id: str, grants: Iterable[Grant]) -> None:
    """Replace every grant of a document."""
    await conn.execute(sa.delete(doc_grants).where(doc_grants.c.doc_id == doc_id))
    rows = [{"doc_id": doc_id, "subject_kind": g.kind.value, "subject_id": g.subject_id, "role": g.role.value}
            for g in grants]
    if rows:
        await conn.execute(sa.insert(doc_grants), rows)


async def visible_documents(conn: AsyncConnection, *, person_id: str, unit_id: str, scope: str,
                            meeting_id: str | None = None, my_meetings: Sequence[str] = (),
                            limit: int = 200) -> list[Document]:
    """Candidate documents for a list; the service still decides access for each one.

    ``mine``: created by or shared with the person, or the minutes of ``my_meetings``; ``unit``: owned by or
    shared with the unit; ``meeting``: the meeting's documents.
    """
    query = sa.select(documents)
    if scope == "mine":
        shared = sa.select(doc_grants.c.doc_id).where(
            doc_grants.c.subject_kind == SubjectKind.PERSON.value, doc_grants.c.subject_id == person_id)
        mine = [documents.c.created_by == person_id, documents.c.id.in_(shared)]
        if my_meetings:
            mine.append(documents.c.meeting_id.in_(list(my_meetings)))
        query = query.where(sa.or_(*mine))
    elif scope == "unit":
        shared = sa.select(doc_grants.c.doc_id).where(
            doc_grants.c.subject_kind == SubjectKind.UNIT.value, doc_grants.c.subject_id == unit_id)
        query = query.where(sa.or_(documents.c.owner_unit_id == unit_id, documents.c.id.in_(shared)))
    elif scope == "meeting":
        query = query.where(documents.c.meeting_id == meeting_id)
    else:
        raise ValueError(f"unknown scope {scope!r}")
    rows = (await conn.execute(query.order_by(documents.c.updated_at.desc(), documents.c.id).limit(limit))).all()
    return [_document(r) for r in rows]


async def insert_version(conn: AsyncConnection, version_id: str, doc_id: str, name: str, snapshot: bytes,
                         created_by: str | None, now: datetime) -> None:
    await conn.execute(sa.insert(doc_versions).values(
        id=version_id, doc_id=doc_id, name=name, snapshot=snapshot, created_by=created_by, created_at=now))


_VERSION_COLUMNS = (
    doc_versions.c.id, doc_versions.c.doc_id, doc_versions.c.name, doc_versions.c.created_by,
    doc_versions.c.created_at, sa.func.length(doc_versions.c.snapshot).label("size"),
)


async def versions_of(conn: AsyncConnection, doc_id: str) -> list[Version]:
    rows = (await conn.execute(
        sa.select(*_VERSION_COLUMNS).where(doc_versions.c.doc_id == doc_id)
        .order_by(doc_versions.c.created_at.desc(), doc_versions.c.id)
    )).all()
    return [_version(r) for r in rows]


async def get_version(conn: AsyncConnection, doc_id: str, version_id: str) -> tuple[Version, bytes] | None:
    """A version and its snapshot."""
    row = (await conn.execute(
        sa.select(*_VERSION_COLUMNS, doc_versions.c.snapshot)
        .where(doc_versions.c.doc_id == doc_id, doc_versions.c.id == version_id)
    )).first()
    if row is None:
        return None
    return _version(row), bytes(row.snapshot)


async def count_versions(conn: AsyncConnection, doc_id: str) -> int:
    return int((await conn.execute(
        sa.select(sa.func.count()).select_from(doc_versions).where(doc_versions.c.doc_id == doc_id)
    )).scalar_one())

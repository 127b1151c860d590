"""The only place with SQL for the directory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.directory.model import OrgKind, OrgUnit, Person, Role
from hub.directory.pinyin import search_key
from hub.storage.meta import UtcDateTime, contains, like_escaped, metadata

org_units = sa.Table(
    "org_units",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("parent_id", sa.String(64), nullable=True, index=True),
    sa.Column("extension", sa.String(20), nullable=True, unique=True),
    sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # pinyin of the name (hub.directory.pinyin): "shigongyongshiyeju sgysyj"
    sa.Column("search_key", sa.String(400), nullable=False, server_default=""),
)

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("org_unit_id", sa.String(64), sa.ForeignKey("org_units.id"), nullable=False, index=True),
    sa.Column("title", sa.String(100), nullable=False, server_default=""),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("extension", sa.String(20), nullable=True, unique=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # pinyin of the name, every reading of the surname (hub.directory.pinyin): "xiejicheng xjc"
    sa.Column("search_key", sa.String(400), nullable=False, server_default=""),
)


# Client certificates bound to people (certificate sign-in): the SHA-256 of the certificate's DER.
person_certificates = sa.Table(
    "person_certificates",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("person_id", sa.String(64), sa.ForeignKey("people.id"), nullable=False, index=True),
    sa.Column("bound_at", UtcDateTime, nullable=False),
)


def _unit(row: Any) -> OrgUnit:
    return OrgUnit(
        id=row.id,
        name=row.name,
        kind=OrgKind(row.kind),
        parent_id=row.parent_id,
        extension=row.extension,
        sort_order=row.sort_order,
    )


def _person(row: Any) -> Person:
    return Person(
        id=row.id,
        name=row.name,
        org_unit_id=row.org_unit_id,
        title=row.title,
        roles=frozenset(Role(r) for r in row.roles if r in Role.__members__.values()),
        extension=row.extension,
        active=row.active,
        updated_at=row.updated_at,
    )


async def all_units(conn: AsyncConnection) -> list[OrgUnit]:
    rows = await conn.execute(sa.select(org_units).order_by(org_units.c.sort_order, org_units.c.id))
    return [_unit(row) for row in rows]


async def get_unit(conn: AsyncConnection, unit_id: str) -> OrgUnit | None:
    row = (await conn.execute(sa.select(org_units).where(org_units.c.id == unit_id))).first()
    return None if row is None else _unit(row)


async def get_person(conn: AsyncConnection, person_id: str) -> Person | None:
    row = (await conn.execute(sa.select(people).where(people.c.id == person_id))).first()
    return None if row is None else _person(row)


async def get_people(conn: AsyncConnection, person_ids: Iterable[str]) -> dict[str, Person]:
    ids = list(set(person_ids))
    if not ids:
        return {}
    rows = await conn.execute(sa.select(people).where(people.c.id.in_(ids)))
    return {row.id: _person(row) for row in rows}


async def people_of_units(conn: AsyncConnection, unit_ids: Sequence[str], *, active_only: bool = True) -> list[Person]:
    query = sa.select(people).where(people.c.org_unit_id.in_(list(unit_ids)))
    if active_only:
        query = query.where(people.c.active.is_(True))
    rows = await conn.execute(query.order_by(people.c.sort_order, people.c.id))
    return [_person(row) for row in rows]


async def find_extension(conn: AsyncConnection, extension: str) -> OrgUnit | Person | None:
    row = (await conn.execute(sa.select(people).where(people.c.extension == extension))).first()
    if row is not None:
        return _person(row)
    unit = (await conn.execute(sa.select(org_units).where(org_units.c.extension == extension))).first()
    return None if unit is None else _unit(unit)


def _matching(q: str, *columns: sa.ColumnElement[Any], keys: sa.ColumnElement[Any]) -> tuple[Any, Any]:
    """Rows whose columns contain q, or whose pinyin keys start with it (a key: "xiejicheng xjc"), and an order
    that puts exact and prefix matches first."""
    lowered = q.lower()
    prefix = f"{like_escaped(lowered)}%"
    in_keys = sa.func.lower(keys)
    match = sa.or_(*(contains(c, q) for c in columns),
                   in_keys.like(prefix, escape="\\"), in_keys.like(f"% {prefix}", escape="\\"))
    name = sa.func.lower(columns[0])
    rank = sa.case((name == lowered, 0), (name.like(prefix, escape="\\"), 1),
                   (in_keys.like(prefix, escape="\\"), 1), (in_keys.like(f"% {prefix}", escape="\\"), 2), else_=3)
    return match, rank


async def search_people(
    conn: AsyncConnection, q: str, *, org_unit: str | None, include_inactive: bool, limit: int, offset: int
) -> tuple[list[Person], int]:
    """People whose name, title, extension, id or org unit name contains q, or whose name's pinyin starts with it
    (谢继成: `xjc`, `xiejicheng`, `xie`); exact and prefix matches first; with the total count."""
    query = sa.select(people).select_from(people.join(org_units, people.c.org_unit_id == org_units.c.id))
    order: list[Any] = []
    if q:
        match, rank = _matching(q, people.c.name, people.c.title, people.c.extension, people.c.id, org_units.c.name,
                                keys=people.c.search_key)
        query = query.where(match)
        order.append(rank)
    if org_unit:
        query = query.where(people.c.org_unit_id == org_unit)
    if not include_inactive:
        query = query.where(people.c.active.is_(True))
    total = (await conn.execute(sa.select(sa.func.count()).select_from(query.subquery()))).scalar_one()
    rows = await conn.execute(
        query.order_by(*order, org_units.c.sort_order, people.c.sort_order, people.c.id).limit(limit).offset(offset)
    )
    return [_person(row) for row in rows], int(total)


async def search_units(conn: AsyncConnection, q: str, *, limit: int) -> list[OrgUnit]:
    """Org units whose name, id or extension contains q, or whose name's pinyin starts with it; best first."""
    match, rank = _matching(q, org_units.c.name, org_units.c.id, org_units.c.extension, keys=org_units.c.search_key)
    rows = await conn.execute(sa.select(org_units).where(match).order_by(rank, org_units.c.sort_order,
                                                                         org_units.c.id).limit(limit))
    return [_unit(row) for row in rows]


async def all_people(conn: AsyncConnection) -> list[Person]:
    rows = await conn.execute(sa.select(people).order_by(people.c.sort_order, people.c.id))
    return [_person(row) for row in rows]


async def upsert_units(conn: AsyncConnection, units: list[dict[str, Any]], now: datetime) -> tuple[int, int]:
    """Insert or update org units; returns (created, updated)."""
    existing = set((await conn.execute(sa.select(org_units.c.id))).scalars())
    created = updated = 0
    # Extensions are unique: clear the ones that move first, so a swap between two units does not collide.
    moving = [u["id"] for u in units if u["id"] in existing]
    if moving:
        await conn.execute(sa.update(org_units).where(org_units.c.id.in_(moving)).values(extension=None))
    for order, unit in enumerate(units):
        values = {
            "name": unit["name"],
            "kind": unit["kind"],
            "parent_id": unit.get("parent"),
            "extension": unit.get("extension"),
            "sort_order": order,
            "updated_at": now,
            "search_key": search_key(unit["name"]),
        }
        if unit["id"] in existing:
            await conn.execute(sa.update(org_units).where(org_units.c.id == unit["id"]).values(**values))
            updated += 1
        else:
            await conn.execute(sa.insert(org_units).values(id=unit["id"], **values))
            created += 1
    return created, updated


async def upsert_people(conn: AsyncConnection, persons: list[dict[str, Any]], now: datetime) -> tuple[int, int]:
    """Insert or update people; returns (created, updated)."""
    existing = set((await conn.execute(sa.select(people.c.id))).scalars())
    moving = [p["id"] for p in persons if p["id"] in existing]
    if moving:
        await conn.execute(sa.update(people).where(people.c.id.in_(moving)).values(extension=None))
    created = updated = 0
    for order, person in enumerate(persons):
        values = {
            "name": person["name"],
            "org_unit_id": person["org_unit"],
            "title": person.get("title") or "",
            "roles": sorted(person.get("roles") or []),
            "extension": person.get("extension"),
            "active": bool(person.get("active", True)),
            "sort_order": order,
            "updated_at": now,
            "search_key": search_key(person["name"], surname=True),
        }
        if person["id"] in existing:
            await conn.execute(sa.update(people).where(people.c.id == person["id"]).values(**values))
            updated += 1
        else:
            await conn.execute(sa.insert(people).values(id=person["id"], **values))
            created += 1
    return created, updated


async def deactivate_people_except(conn: AsyncConnection, keep: set[str], now: datetime) -> list[str]:
    """Deactivate every active person not in keep; returns their ids."""
    rows = await conn.execute(sa.select(people.c.id).where(people.c.active.is_(True)))
    gone = [pid for pid in rows.scalars() if pid not in keep]
    if gone:
        await conn.execute(
            sa.update(people).where(people.c.id.in_(gone)).values(active=False, updated_at=now)
        )
    return gone


async def existing_extensions(conn: AsyncConnection) -> dict[str, str]:
    """Every extension in use, to the id that holds it."""
    result: dict[str, str] = {}
    for row in await conn.execute(sa.select(org_units.c.id, org_units.c.extension)):
        if row.extension:
            result[row.extension] = row.id
    for row in await conn.execute(sa.select(people.c.id, people.c.extension)):
        if row.extension:
            result[row.extension] = row.id
    return result


async def set_active(conn: AsyncConnection, person_id: str, active: bool, now: datetime) -> bool:
    result = await conn.execute(
        sa.update(people).where(people.c.id == person_id).values(active=active, updated_at=now)
    )
    return result.rowcount > 0


async def certificate_owners(conn: AsyncConnection) -> dict[str, str]:
    """Every bound certificate's fingerprint -> its person."""
    rows = (await conn.execute(sa.select(person_certificates.c.sha256, person_certificates.c.person_id))).all()
    return {row.sha256: row.person_id for row in rows}


async def set_certificates(conn: AsyncConnection, person_id: str, fingerprints: list[str], now: datetime) -> None:
    """The person's bound certificates become exactly these."""
    await conn.execute(sa.delete(person_certificates).where(person_certificates.c.person_id == person_id))
    if fingerprints:
        await conn.execute(sa.insert(person_certificates), [
            {"sha256": sha, "person_id": person_id, "bound_at": now} for sha in fingerprints])


async def person_of_certificate(conn: AsyncConnection, fingerprint: str) -> str | None:
    row = (await conn.execute(sa.select(person_certificates.c.person_id).where(
        person_certificates.c.sha256 == fingerprint))).first()
    return row.person_id if row else None

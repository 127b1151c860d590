"""The directory's rules: import (checked whole, one transaction), look-ups, search, the org tree."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth import store as auth_store
from hub.bus.base import Bus
from hub.clock import Clock
from hub.directory import store
from hub.directory.importer import DirectoryImportError, normalise
from hub.directory.model import DirectoryData, ImportReport, OrgUnit, Person
from hub.errors import BadRequest, Conflict, NotFound
from hub.storage.db import Database

log = logging.getLogger(__name__)

# Published whenever people change; every open connection of those people is re-checked.
CHANGED_CHANNEL = "directory.changed"
MAX_PAGE = 200


class DirectoryService:
    """The unified directory: who exists, where they belong, which roles and extensions they hold."""

    def __init__(self, db: Database, bus: Bus, clock: Clock) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock

    async def import_data(self, data: DirectoryData, *, prune: bool = False) -> ImportReport:
        """Upsert a whole directory in one transaction; with prune, deactivate people missing from it."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            stored = await store.all_units(conn)
            units, persons = normalise(
                data, stored_units={unit.id for unit in stored},
                stored_extensions=await store.existing_extensions(conn),
                stored_parents={unit.id: unit.parent_id for unit in stored},
            )
            before = {p.id: p for p in await store.all_people(conn)}
            created_u, updated_u = await store.upsert_units(conn, units, now)
            created_p, updated_p = await store.upsert_people(conn, persons, now)
            await self._bind_all(conn, persons, now)
            deactivated = (
                await store.deactivate_people_except(conn, {p["id"] for p in persons}, now) if prune else []
            )
            after = {p.id: p for p in await store.all_people(conn)}
            changed = sorted(pid for pid, person in after.items() if _differs(before.get(pid), person))
            if changed:
                await auth_store.record_change(conn, auth_store.CHANGE_PEOPLE, changed, now)
        report = ImportReport(
            org_units=len(units),
            people=len(persons),
            created=created_u + created_p,
            updated=updated_u + updated_p,
            deactivated=len(deactivated),
        )
        log.info("directory import: %s", report.to_dict())
        if changed:
            await self.bus.publish(CHANGED_CHANNEL, {"people": changed})
        return report

    async def _bind_all(self, conn: AsyncConnection, persons: list[dict[str, Any]], now: datetime) -> None:
        listed = {p["id"]: p["certificates"] for p in persons if p["certificates"] is not None}
        owners = await store.certificate_owners(conn)
        for person_id, fingerprints in listed.items():
            for sha in fingerprints:
                owner = owners.get(sha)
                if owner is not None and owner != person_id and owner not in listed:
                    raise DirectoryImportError(message=f"{person_id}.certificates: {sha[:16]}… is bound to "
                                                       f"{owner}", field="certificates")
        for person_id in listed:  # (a certificate moving from one listed person to another)
            await store.set_certificates(conn, person_id, [], now)
        for person_id, fingerprints in listed.items():
            await store.set_certificates(conn, person_id, fingerprints, now)

    async def bind_certificate(self, person_id: str, fingerprint: str) -> None:
        """Bind a certificate (its SHA-256) to a person, for certificate sign-in; 409 if someone else has it."""
        async with self.db.begin() as conn:
            if await store.get_person(conn, person_id) is None:
                raise NotFound("person_not_found", f"no person {person_id!r}")
            owner = await store.person_of_certificate(conn, fingerprint)
            if owner is not None and owner != person_id:
                raise Conflict("certificate_bound", f"the certificate is bound to {owner}")
            if owner is None:
                mine = [sha for sha, who in (await store.certificate_owners(conn)).items() if who == person_id]
                await store.set_certificates(conn, person_id, sorted({*mine, fingerprint}), self.clock.now())
        log.info("directory: a certificate (%s…) bound to %s", fingerprint[:16], person_id)

    async def person_by_certificate(self, fingerprint: str) -> Person | None:
        """The person a certificate is bound to, if any."""
        async with self.db.connect() as conn:
            person_id = await store.person_of_certificate(conn, fingerprint)
            return await store.get_person(conn, person_id) if person_id else None

    async def set_active(self, person_id: str, active: bool) -> Person:
        """Activate or deactivate one person; their open sessions are re-checked."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            if not await store.set_active(conn, person_id, active, now):
                raise NotFound("person_not_found", f"no person {person_id!r} in the directory")
            person = await store.get_person(conn, person_id)
            await auth_store.record_change(conn, auth_store.CHANGE_PEOPLE, [person_id], now)
        assert person is not None
        log.info("directory: person %s %s", person_id, "activated" if active else "deactivated")
        await self.bus.publish(CHANGED_CHANNEL, {"people": [person_id]})
        return person

    async def person(self, person_id: str) -> Person:
        """A person, or NotFound."""
        async with self.db.connect() as conn:
            person = await store.get_person(conn, person_id)
        if person is None:
            raise NotFound("person_not_found", f"no person {person_id!r} in the directory")
        return person

    async def find_person(self, person_id: str) -> Person | None:
        """A person, or None."""
        async with self.db.connect() as conn:
            return await store.get_person(conn, person_id)

    async def people(self, person_ids: list[str]) -> dict[str, Person]:
        """Several people by id (absent ids are left out)."""
        async with self.db.connect() as conn:
            return await store.get_people(conn, person_ids)

    async def find_unit(self, unit_id: str) -> OrgUnit | None:
        """An org unit, or None."""
        async with self.db.connect() as conn:
            return await store.get_unit(conn, unit_id)

    async def unit(self, unit_id: str) -> OrgUnit:
        """An org unit, or NotFound."""
        async with self.db.connect() as conn:
            unit = await store.get_unit(conn, unit_id)
        if unit is None:
            raise NotFound("org_unit_not_found", f"no org unit {unit_id!r} in the directory")
        return unit

    async def units(self) -> list[OrgUnit]:
        """Every org unit, in directory order."""
        async with self.db.connect() as conn:
            return await store.all_units(conn)

    async def members(self, unit_ids: list[str], *, active_only: bool = True) -> list[Person]:
        """The people of some org units."""
        async with self.db.connect() as conn:
            return await store.people_of_units(conn, unit_ids, active_only=active_only)

    async def by_extension(self, extension: str) -> OrgUnit | Person:
        """Whoever holds an extension number: a person, or an org unit's duty line."""
        async with self.db.connect() as conn:
            holder = await store.find_extension(conn, extension.strip())
        if holder is None:
            raise NotFound("extension_not_found", f"no one holds extension {extension!r}")
        return holder

    async def search(
        self, q: str = "", *, org_unit: str | None = None, include_inactive: bool = False,
        limit: int = 50, offset: int = 0,
    ) -> tuple[list[Person], int]:
        """People matching a query (name, title, extension, org unit), a page at a time, with the total."""
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest("invalid_parameter", f"limit must be between 1 and {MAX_PAGE}", field="limit")
        if offset < 0:
            raise BadRequest("invalid_parameter", "offset must not be negative", field="offset")
        async with self.db.connect() as conn:
            return await store.search_people(
                conn, q.strip()[:100], org_unit=org_unit, include_inactive=include_inactive, limit=limit,
                offset=offset,
            )

    async def search_units(self, q: str, *, limit: int = 20) -> list[OrgUnit]:
        """Org units matching a query (name, id, extension, pinyin of the name), best first."""
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest("invalid_parameter", f"limit must be between 1 and {MAX_PAGE}", field="limit")
        q = q.strip()[:100]
        if not q:
            return []
        async with self.db.connect() as conn:
            return await store.search_units(conn, q, limit=limit)

    async def tree(self) -> list[dict[str, Any]]:
        """The org units as a tree of nested dicts with their children, roots first."""
        units = await self.units()
        nodes = {unit.id: {**unit.to_dict(), "children": []} for unit in units}
        roots: list[dict[str, Any]] = []
        for unit in units:
            parent = nodes.get(unit.parent_id) if unit.parent_id else None
            (parent["children"] if parent else roots).append(nodes[unit.id])
        return roots

    async def export(self) -> dict[str, Any]:
        """The whole directory in the import format."""
        async with self.db.connect() as conn:
            units = await store.all_units(conn)
            persons = await store.all_people(conn)
            owners = await store.certificate_owners(conn)
        bound: dict[str, list[str]] = {}
        for sha, person_id in sorted(owners.items()):
            bound.setdefault(person_id, []).append(sha)
        return {
            "org_units": [_compact(u.to_dict()) for u in units],
            "people": [_compact({**p.to_dict(), "certificates": bound.get(p.id)}) for p in persons],
        }

    async def is_empty(self) -> bool:
        """Whether no org unit exists yet (first run)."""
        return not await self.units()


def _differs(before: Person | None, after: Person) -> bool:
    if before is None:
        return False
    return (before.active, before.org_unit_id, before.roles) != (after.active, after.org_unit_id, after.roles)


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None and v != ""}

"""The call log: a person's calls as they saw them, missed calls until seen, recent contacts, cards to show."""

from __future__ import annotations

from typing import Any

from hub.bus.base import Bus
from hub.calls import store
from hub.calls.channels import person_channel
from hub.calls.model import Call, TargetKind
from hub.clock import Clock
from hub.directory.model import OrgUnit, Person
from hub.directory.service import DirectoryService
from hub.storage.db import Database


class CallHistory:
    """Reads of the call log, and the missed-calls count every device of a person shows until seen."""

    def __init__(self, db: Database, bus: Bus, directory: DirectoryService, clock: Clock) -> None:
        self.db = db
        self.bus = bus
        self.directory = directory
        self.clock = clock

    async def log_of(
        self, person_id: str, *, missed_only: bool = False, limit: int = 50, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """A person's call log (newest first) with the other party's name and unit, and the total."""
        async with self.db.connect() as conn:
            entries, total = await store.log_of(conn, person_id, missed_only=missed_only, limit=limit, offset=offset)
        ids = {e.call.caller_id for e in entries} | {e.call.target_id for e in entries} | {
            e.call.answered_by for e in entries if e.call.answered_by}
        people = await self.directory.people(list(ids))
        units = {u.id: u for u in await self.directory.units()}
        items = []
        for entry in entries:
            item = entry.to_dict()
            item["caller_card"] = card(people, units, TargetKind.PERSON, entry.call.caller_id)
            item["target_card"] = card(people, units, entry.call.target_kind, entry.call.target_id)
            items.append(item)
        return items, total

    async def missed_count(self, person_id: str) -> int:
        """Missed calls the person has not seen yet."""
        async with self.db.connect() as conn:
            return await store.missed_unseen(conn, person_id)

    async def mark_seen(self, person_id: str) -> None:
        """The person looked at their missed calls; every device's badge goes to zero."""
        async with self.db.begin() as conn:
            await store.mark_seen(conn, person_id, self.clock.now())
        await self.bus.publish(person_channel(person_id), {"event": "call.missed", "count": 0, "call_id": None})

    async def target_card(self, call: Call) -> dict[str, Any]:
        """Whom a call was placed to, as a card (name, unit, extension)."""
        people = await self.directory.people([call.target_id]) if call.target_kind is TargetKind.PERSON else {}
        units = {u.id: u for u in await self.directory.units()}
        return card(people, units, call.target_kind, call.target_id)

    async def recent_contacts(self, person_id: str, limit: int = 8) -> list[dict[str, Any]]:
        """Whom the person called or was called by lately, as cards to call back."""
        async with self.db.connect() as conn:
            contacts = await store.recent_contacts(conn, person_id, limit)
        people = await self.directory.people([cid for kind, cid in contacts if kind == TargetKind.PERSON.value])
        units = {u.id: u for u in await self.directory.units()}
        return [card(people, units, TargetKind(kind), cid) for kind, cid in contacts]


def card(people: dict[str, Person], units: dict[str, OrgUnit], kind: TargetKind, target_id: str) -> dict[str, Any]:
    """Whom a call was to or from, for the page: name, unit, extension (a person or a duty line)."""
    if kind is TargetKind.UNIT:
        unit = units.get(target_id)
        return {"kind": "unit", "id": target_id, "name": unit.name if unit else target_id, "title": "",
                "unit_id": target_id, "unit_name": unit.name if unit else "",
                "extension": unit.extension if unit else None}
    person = people.get(target_id)
    if person is None:  # gone from the directory since
        return {"kind": "person", "id": target_id, "name": target_id, "title": "", "unit_id": "", "unit_name": "",
                "extension": None}
    return {"kind": "person", **person_card(person, units)}


def person_card(person: Person, units: dict[str, OrgUnit]) -> dict[str, Any]:
    """A person with their unit's name, as the callee's screen shows a caller."""
    unit = units.get(person.org_unit_id)
    return {"id": person.id, "name": person.name, "title": person.title, "extension": person.extension,
            "unit_id": person.org_unit_id, "unit_name": unit.name if unit else ""}

"""The unified directory: org units, people, roles, extension numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class OrgKind(StrEnum):
    CITY = "city"
    DEPARTMENT = "department"
    DISTRICT = "district"
    OFFICE = "office"
    SUPERVISION = "supervision"


class Role(StrEnum):
    OFFICIAL = "official"
    CHAIR = "chair"
    SECRETARY = "secretary"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # An office video-phone terminal account, not a person at a desk.
    TERMINAL = "terminal"


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    kind: OrgKind
    parent_id: str | None = None
    extension: str | None = None
    sort_order: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "parent": self.parent_id,
            "extension": self.extension,
        }


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    org_unit_id: str
    title: str = ""
    roles: frozenset[Role] = field(default_factory=frozenset)
    extension: str | None = None
    active: bool = True
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API."""
        return {
            "id": self.id,
            "name": self.name,
            "org_unit": self.org_unit_id,
            "title": self.title,
            "roles": sorted(role.value for role in self.roles),
            "extension": self.extension,
            "active": self.active,
        }


@dataclass(frozen=True)
class DirectoryData:
    """A whole directory as read from a file, before it is checked and stored."""

    org_units: list[dict[str, Any]]
    people: list[dict[str, Any]]


@dataclass(frozen=True)
class ImportReport:
    org_units: int
    people: int
    created: int
    updated: int
    deactivated: int

    def to_dict(self) -> dict[str, int]:
        """The JSON shape of the API and CLI."""
        return {
            "org_units": self.org_units,
            "people": self.people,
            "created": self.created,
            "updated": self.updated,
            "deactivated": self.deactivated,
        }

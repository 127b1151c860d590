"""Shared documents: what a document is, who may edit or read it, its named versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hub.auth.principal import Principal

# The Y.XmlFragment that TipTap's Collaboration extension binds (web/static/src/editor.js, field 'default').
FRAGMENT = "default"
# The heading that decisions are appended under when a document has none of these yet (the first is created).
DECISIONS_HEADINGS = ("决定事项", "Decisions")


class DocKind(StrEnum):
    DOCUMENT = "document"
    MINUTES = "minutes"


class DocRole(StrEnum):
    """What a person may do with a document; an editor also renames, shares, saves and restores versions."""

    EDITOR = "editor"
    READER = "reader"


class SubjectKind(StrEnum):
    PERSON = "person"
    UNIT = "unit"


class Attendance(StrEnum):
    """How a person takes part in a meeting, as far as its minutes care."""

    PARTICIPANT = "participant"
    OBSERVER = "observer"


class MeetingAccess(Protocol):
    """The meetings domain's answer to "is this person a participant / an invited observer of meeting X?"."""

    async def attendance(self, meeting_id: str, person_id: str) -> Attendance | None:
        """The person's part in the meeting, or None when they are neither invited nor taking part."""
        ...

    async def meetings_of(self, principal: Principal) -> dict[str, datetime]:
        """The meetings the person takes part in (chair, secretary, invited, their unit invited): id -> start."""
        ...

    async def starts_at(self, meeting_id: str) -> datetime | None:
        """When a meeting starts (the date its minutes carry), or None when there is no such meeting."""
        ...


class NoMeetings:
    """MeetingAccess when no meetings domain is wired: nobody attends anything."""

    async def attendance(self, meeting_id: str, person_id: str) -> Attendance | None:
        return None

    async def meetings_of(self, principal: Principal) -> dict[str, datetime]:
        return {}

    async def starts_at(self, meeting_id: str) -> datetime | None:
        return None


@dataclass(frozen=True)
class Grant:
    """Access given to one person or to every member of one org unit."""

    kind: SubjectKind
    subject_id: str
    role: DocRole

    def to_dict(self) -> dict[str, str]:
        """The JSON shape of the API."""
        return {"kind": self.kind.value, "id": self.subject_id, "role": self.role.value}


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    kind: DocKind
    owner_unit_id: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    meeting_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API."""
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind.value,
            "owner_unit": self.owner_unit_id,
            "meeting": self.meeting_id,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Version:
    """A named snapshot of a document ("as approved at the meeting")."""

    id: str
    doc_id: str
    name: str
    created_by: str | None
    created_at: datetime
    size: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API."""
        return {
            "id": self.id,
            "doc": self.doc_id,
            "name": self.name,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "size": self.size,
        }

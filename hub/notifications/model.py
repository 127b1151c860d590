"""A notification: one person, one thing (a meeting or a supervision item), one kind of news about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Subject(StrEnum):
    """What a notification is about."""

    MEETING = "meeting"
    ITEM = "item"


# The kinds of news about each subject (what pages and scripts turn into a sentence).
MEETING_KINDS = ("invited", "changed", "uninvited", "cancelled", "starting", "floor_granted")
ITEM_KINDS = ("created", "submit", "request_extension", "return", "close", "grant_extension", "deny_extension",
              "cancel", "reminder", "escalation")
KINDS: dict[Subject, tuple[str, ...]] = {Subject.MEETING: MEETING_KINDS, Subject.ITEM: ITEM_KINDS}


def subject_url(subject: Subject, subject_id: str) -> str:
    """The page of the thing a notification is about."""
    if subject == Subject.MEETING:
        return f"/meetings/{subject_id}"
    return f"/supervision/items/{subject_id}"


@dataclass(frozen=True)
class Notification:
    id: int
    person_id: str
    subject: Subject
    subject_id: str
    kind: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None = None

    @property
    def url(self) -> str:
        return subject_url(self.subject, self.subject_id)

    @property
    def title(self) -> str:
        return str(self.data.get("title") or self.subject_id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API and of the live `notification` event."""
        return {
            "id": self.id,
            "subject": self.subject.value,
            "subject_id": self.subject_id,
            "kind": self.kind,
            "title": self.title,
            "data": self.data,
            "url": self.url,
            "created_at": self.created_at.isoformat(),
            "read": self.read_at is not None,
        }

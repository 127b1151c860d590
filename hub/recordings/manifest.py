"""What an archive job composes: the recording's length, its per-track files and the layout's events, in seconds
from the recording's start. The hub writes it as JSON (journal.manifest); the worker reads it back here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ComposeError(Exception):
    """The archive cannot be made at all: a malformed manifest, or not one readable track."""


class TrackFile(BaseModel):
    """One per-track file of the recording; its pts 0 plays `offset` seconds after the recording's start."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Literal["video", "audio"]
    file: Path
    offset: float = Field(allow_inf_nan=False)
    name: str = ""
    participant_id: str | None = None
    source: Literal["camera", "screen", "microphone"] = "camera"

    @model_validator(mode="before")
    @classmethod
    def _microphone_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "audio" and not data.get("source"):
            return {**data, "source": "microphone"}
        return data

    @field_validator("participant_id")
    @classmethod
    def _none_if_empty(cls, value: str | None) -> str | None:
        return value or None


class LayoutEvent(BaseModel):
    """At `at` seconds the spotlight moved ("spotlight"; participant None: cleared) or the speaker changed."""

    model_config = ConfigDict(frozen=True)

    at: float = Field(allow_inf_nan=False)
    event: str  # "spotlight" or "speaker"; others are ignored, for manifests of later hubs
    participant_id: str | None = None


class Manifest(BaseModel):
    """What to compose."""

    model_config = ConfigDict(frozen=True)

    duration: float = Field(gt=0, allow_inf_nan=False)
    tracks: tuple[TrackFile, ...]
    timeline: tuple[LayoutEvent, ...] = ()

    @field_validator("timeline")
    @classmethod
    def _in_order(cls, events: tuple[LayoutEvent, ...]) -> tuple[LayoutEvent, ...]:
        return tuple(sorted(events, key=lambda e: e.at))

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """The manifest from its JSON document; ComposeError names the first bad key."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")
            raise ComposeError(f"manifest: {where or 'the document'}: {error['msg']}") from None

    def to_json(self) -> dict[str, Any]:
        """The JSON document."""
        return self.model_dump(mode="json")

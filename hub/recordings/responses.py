"""The JSON bodies the recording endpoints answer with, as the OpenAPI document gives them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hub.api import ApiModel
from hub.recordings.model import RecordingStatus

# model.STOP_REASONS, as a type
StopReason = Literal["chair", "meeting_ended", "disk_full", "write_error", "interrupted"]


class Recording(ApiModel):
    """A meeting's recording (the live `recording.*` events carry it too)."""

    id: str
    meeting_id: str
    status: RecordingStatus
    started_at: datetime
    started_by: str | None = Field(description="the chair who started it; null: the meeting records from its start")
    stopped_at: datetime | None = Field(description="null: still recording")
    stopped_by: str | None = Field(description="the chair who stopped it; null: it stopped by itself or is going on")
    stop_reason: StopReason | None = Field(description="why it stopped; null: still recording")
    duration: float = Field(description="seconds from start to stop; 0 while recording")
    progress: float = Field(description="the archive job's share done, 0 to 1")
    error: str | None = Field(description="why writing or composing failed; null: it did not")
    archive_bytes: int | None = Field(description="the archive's size; null: not composed yet")
    url: str = Field(description="the playback page")
    media: str = Field(description="the archive (WebM), once ready")


class RecordingList(ApiModel):
    items: list[Recording] = Field(description="the meeting's recordings, oldest first (deleted ones left out)")


class RecordingTrack(ApiModel):
    """One track file of a recording."""

    id: str = Field(description="the track's msid track id")
    kind: Literal["audio", "video"]
    source: Literal["camera", "microphone", "screen"]
    participant_id: str
    name: str = Field(description="the participant's name (a venue's: its unit's)")
    codec: str = Field(description="the MIME type, lower case: video/vp8, audio/opus ...")
    start: float = Field(description="seconds into the recording")
    end: float = Field(description="seconds into the recording")


class RecordingChapter(ApiModel):
    """A roll call (点名) or a screen share, to jump to."""

    at: float = Field(description="seconds into the recording")
    kind: Literal["roll_call", "screen_share"]
    title: str = Field(description="who was called on or shared their screen")
    participant_id: str


class RecordingDetail(Recording):
    """A recording with its tracks and chapters, for those who may watch it."""

    meeting_title: str
    tracks: list[RecordingTrack]
    chapters: list[RecordingChapter]
    may_download: bool = Field(description="whether the caller may download the archive (?download=true)")

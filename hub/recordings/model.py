"""Recordings as frozen dataclasses: a meeting's recording, its status, and where its files live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class RecordingStatus(StrEnum):
    """RECORDING while the media node writes it; COMPOSING while the archive is made; READY to play; FAILED when
    the archive could not be made (it can be tried again); DELETED once retention removed its files."""

    RECORDING = "recording"
    COMPOSING = "composing"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"


# Why a recording stopped.
STOP_REASONS = ("chair", "meeting_ended", "disk_full", "write_error", "interrupted")


@dataclass(frozen=True)
class Recording:
    id: str
    meeting_id: str
    status: RecordingStatus
    started_at: datetime
    started_by: str | None  # None: the meeting records from its start
    stopped_at: datetime | None = None
    stopped_by: str | None = None
    stop_reason: str | None = None
    # seconds between start and stop (the archive's length); 0 while recording
    duration: float = 0.0
    # the archive job's share done (0..1), its error, the archive's size
    progress: float = 0.0
    error: str | None = None
    archive_bytes: int | None = None
    seen_at: datetime | None = None  # the recording node's or archive job's last sign of life

    @property
    def live(self) -> bool:
        return self.status is RecordingStatus.RECORDING

    def offset_of(self, moment: datetime) -> float | None:
        """Seconds into the recording at which `moment` happened; None when it was not recording then."""
        end = self.stopped_at
        if moment < self.started_at or (end is not None and moment > end):
            return None
        return (moment - self.started_at).total_seconds()

    def moment(self, at: datetime) -> dict[str, Any] | None:
        """The link to `at` in this recording ("▶ 00:12:34"); None when it was not recording then."""
        offset = self.offset_of(at)
        if offset is None:
            return None
        return {"recording_id": self.id, "offset": round(offset, 1), "url": f"/recordings/{self.id}?t={int(offset)}"}

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API and of live events."""
        return {
            "id": self.id,
            "meeting_id": self.meeting_id,
            "status": self.status.value,
            "started_at": self.started_at.isoformat(),
            "started_by": self.started_by,
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "stopped_by": self.stopped_by,
            "stop_reason": self.stop_reason,
            "duration": round(self.duration, 3),
            "progress": round(self.progress, 3),
            "error": self.error,
            "archive_bytes": self.archive_bytes,
            "url": f"/recordings/{self.id}",
            "media": f"/api/v1/recordings/{self.id}/media",
        }

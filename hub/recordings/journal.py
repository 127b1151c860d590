"""A recording's folder on the shared volume: per-track files, the journal of what happened while recording, and
the archive.

The node that records appends one JSON line per happening to `journal.jsonl` (a track's file begins or ends, the
chair calls on a venue, the active speaker changes), each line flushed as it is written, so that a node killed
mid-meeting leaves a journal that says what its files hold. Times are seconds from the recording's start. The
archive job, the chapters and the track list are read back from it; a torn last line (the kill) is skipped.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

JOURNAL = "journal.jsonl"
ARCHIVE = "archive.webm"
MANIFEST = "manifest.json"
TRACKS = "tracks"
# What the journal's lines say.
TRACK, TRACK_END, SPOTLIGHT, SPEAKER = "track", "track_end", "spotlight", "speaker"


def folder(root: Path, meeting_id: str, recording_id: str) -> Path:
    """Where one recording's files are kept."""
    return root / meeting_id / recording_id


def read(where: Path) -> list[dict[str, Any]]:
    """The journal's entries in order; lines that do not parse (a torn last line) are left out."""
    path = where / JOURNAL
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            entry = json.loads(line)
        except ValueError:
            log.warning("%s:%d: unreadable journal line skipped", path, number)
            continue
        if isinstance(entry, dict) and isinstance(entry.get("event"), str) and isinstance(entry.get("at"), int | float):
            entries.append(entry)
    return entries


def tracks(entries: list[dict[str, Any]], duration: float) -> list[dict[str, Any]]:
    """Every track file of the recording: who, what, and when it began and ended (seconds)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["event"] == TRACK and isinstance(entry.get("file"), str):
            found[entry["file"]] = {
                "id": str(entry.get("id")), "kind": entry.get("kind"), "source": entry.get("source"),
                "participant_id": entry.get("participant_id"), "name": entry.get("name") or "",
                "codec": entry.get("codec"), "file": entry["file"], "start": round(float(entry["at"]), 3),
                "end": None,
            }
        elif entry["event"] == TRACK_END:
            for track in found.values():
                if track["file"] == entry.get("file"):
                    track["end"] = round(float(entry["at"]), 3)
    for track in found.values():
        if track["end"] is None:
            track["end"] = round(duration, 3)
    return list(found.values())


def chapters(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recording's chapters: every roll call (点名) and every screen share, in order."""
    found = []
    for entry in entries:
        if entry["event"] == SPOTLIGHT and entry.get("participant_id"):
            found.append({"at": round(float(entry["at"]), 3), "kind": "roll_call", "title": entry.get("name") or "",
                          "participant_id": entry.get("participant_id")})
        elif entry["event"] == TRACK and entry.get("source") == "screen":
            found.append({"at": round(float(entry["at"]), 3), "kind": "screen_share", "title": entry.get("name") or "",
                          "participant_id": entry.get("participant_id")})
    return found


def manifest(where: Path, entries: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """What the archive job composes (hub/recordings/compose.py's Manifest, as JSON)."""
    return {
        "duration": duration,
        "tracks": [
            {"id": t["id"], "kind": t["kind"], "file": str(where / t["file"]), "offset": t["start"],
             "name": t["name"], "participant_id": t["participant_id"] or "", "source": t["source"] or "camera"}
            for t in tracks(entries, duration) if t["kind"] in ("audio", "video")
        ],
        "timeline": [
            {"at": round(float(e["at"]), 3), "event": e["event"], "participant_id": e.get("participant_id")}
            for e in entries if e["event"] in (SPOTLIGHT, SPEAKER)
        ],
    }

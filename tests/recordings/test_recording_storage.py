"""Recordings on disk: retention deletes an old recording (files gone, the audit chain says so and still holds),
a full disk stops the writer with the right reason, and a recording whose node went silent is archived by another
sweep (the part it wrote); a recording's tracks and chapters are read from its journal."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub import keys
from hub.recordings import store
from hub.recordings.model import Recording, RecordingStatus
from hub.supervision.tables import audit
from signaling.recorder import RECORDED, RecordingWriter
from tests.conftest import Hub
from tests.meetings.conftest import CHAIR, create_meeting


async def _insert(hub: Hub, meeting_id: str, **values: Any) -> Recording:
    now = hub.app[keys.CLOCK].now()
    recording = Recording(id=values.pop("id"), meeting_id=meeting_id, status=RecordingStatus.RECORDING,
                          started_at=values.pop("started_at", now), started_by=CHAIR, seen_at=now)
    async with hub.app[keys.DB].begin() as conn:
        await store.insert(conn, recording)
        if values:
            await store.update(conn, recording.id, (RecordingStatus.RECORDING,), **values)
        found = await store.get(conn, recording.id)
    assert found is not None
    return found


async def test_retention_deletes_old_recordings_into_the_audit_chain(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    service = hub.app[keys.RECORDINGS]
    now = hub.app[keys.CLOCK].now()
    days = service.settings.retention_days
    old = await _insert(hub, meeting["id"], id="0ld0", started_at=now - timedelta(days=days + 2),
                        status=RecordingStatus.READY, stopped_at=now - timedelta(days=days + 1), duration=60.0)
    recent = await _insert(hub, meeting["id"], id="4e3e", started_at=now - timedelta(days=2),
                           status=RecordingStatus.READY, stopped_at=now - timedelta(days=1), duration=60.0)
    for recording in (old, recent):
        folder = service.folder(recording)
        folder.mkdir(parents=True)
        (folder / "archive.webm").write_bytes(b"\x1a\x45\xdf\xa3")

    assert await service.expire() == [old.id]
    assert not service.folder(old).exists() and service.folder(recent).exists()
    gone = await hub.client.get(f"/api/v1/recordings/{old.id}", headers=hub.auth(CHAIR))
    assert gone.status == 404
    assert (await hub.client.get(f"/api/v1/recordings/{recent.id}", headers=hub.auth(CHAIR))).status == 200
    async with hub.app[keys.DB].connect() as conn:
        rows = (await conn.execute(sa.select(audit).where(audit.c.action == "recording.deleted"))).all()
    assert [row.data["recording_id"] for row in rows] == [old.id]
    verified = await hub.client.get("/api/v1/supervision/audit/verify", headers=hub.auth("supervision-01"))
    assert verified.status == 200, await verified.text()
    assert (await verified.json())["status"] in ("intact", "unanchored")
    assert await service.expire() == []  # once


async def test_a_silent_recording_node_is_taken_over(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    service = hub.app[keys.RECORDINGS]
    now = hub.app[keys.CLOCK].now()
    lost = await _insert(hub, meeting["id"], id="1057", started_at=now - timedelta(seconds=90),
                         seen_at=now - timedelta(seconds=60))
    other = await create_meeting(hub)  # (one recording under way per meeting)
    alive = await _insert(hub, other["id"], id="a11e", started_at=now - timedelta(seconds=90))
    service.folder(lost).mkdir(parents=True)  # it wrote nothing readable: the archive fails, and says why
    await service.sweep()
    for _ in range(100):
        got = await hub.client.get(f"/api/v1/recordings/{lost.id}", headers=hub.auth(CHAIR))
        body = await got.json()
        if body["status"] == "failed":
            break
        await asyncio.sleep(0.1)
    assert body["status"] == "failed" and body["stop_reason"] == "interrupted" and body["error"]
    assert 29.0 <= body["duration"] <= 31.0  # up to its node's last sign of life
    still = await hub.client.get(f"/api/v1/recordings/{alive.id}", headers=hub.auth(CHAIR))
    assert (await still.json())["status"] == "recording"
    member = await hub.client.post(f"/api/v1/recordings/{lost.id}/archive", headers=hub.auth("pub-util-02"))
    assert member.status == 403
    retried = await hub.client.post(f"/api/v1/recordings/{lost.id}/archive", headers=hub.auth(CHAIR))
    assert retried.status == 202 and (await retried.json())["status"] == "composing"


async def test_a_recording_shows_its_tracks_and_chapters_from_its_journal(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    now = hub.app[keys.CLOCK].now()
    recording = await _insert(hub, meeting["id"], id="c4a9", started_at=now - timedelta(minutes=2),
                              status=RecordingStatus.READY, stopped_at=now, duration=120.0)
    folder = hub.app[keys.RECORDINGS].folder(recording)
    folder.mkdir(parents=True)
    track = {"event": "track", "kind": "video", "participant_id": "pa", "name": "蒋平", "codec": "video/vp8"}
    lines = [
        {**track, "at": 0.5, "id": "t1", "source": "camera", "file": "tracks/001-video.webm"},
        {"at": 30.0, "event": "spotlight", "participant_id": "pa", "name": "蒋平"},
        {**track, "at": 40.0, "id": "t2", "source": "screen", "file": "tracks/002-video.webm"},
        {"at": 50.0, "event": "track_end", "id": "t2", "file": "tracks/002-video.webm"},
    ]
    (folder / "journal.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    got = await hub.client.get(f"/api/v1/recordings/{recording.id}", headers=hub.auth(CHAIR))
    assert got.status == 200, await got.text()
    body = await got.json()
    assert [(t["source"], t["start"], t["end"]) for t in body["tracks"]] == [("camera", 0.5, 120.0),
                                                                             ("screen", 40.0, 50.0)]
    assert [(c["kind"], c["at"], c["title"]) for c in body["chapters"]] == [("roll_call", 30.0, "蒋平"),
                                                                            ("screen_share", 40.0, "蒋平")]


async def test_a_full_disk_stops_the_writer_as_disk_full(tmp_path: Path) -> None:
    where = tmp_path / "rec"
    (where / "tracks").mkdir(parents=True)
    (where / "tracks" / "full.webm").symlink_to("/dev/full")
    told: list[tuple[str, str]] = []
    writer = RecordingWriter(where, lambda reason, message: told.append((reason, message)))
    writer.start()
    writer.put("journal", {"at": 0.0, "event": "track", "file": "tracks/full.webm"})
    writer.put("open", "tracks/full.webm", RECORDED["audio/opus"], None, b"")
    for n in range(200):  # a few seconds of Opus frames: more than the muxer keeps in memory
        writer.put("frame", "tracks/full.webm", b"\xfc" + bytes(80), n * 960, 48000, True)
    writer.finish()
    await asyncio.to_thread(writer.join)
    await asyncio.sleep(0)  # the error is handed to the loop
    assert [reason for reason, _ in told] == ["disk_full"]
    assert "No space left" in told[0][1]
    # the journal went to a disk that had room: it says what was meant to be written
    assert json.loads((where / "journal.jsonl").read_text().splitlines()[0])["file"] == "tracks/full.webm"


async def test_recording_into_storage_that_cannot_be_written_is_refused_clearly(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    service = hub.app[keys.RECORDINGS]
    service.root.mkdir(parents=True, exist_ok=True)
    (service.root / meeting["id"]).write_text("not a folder")  # the meeting's folder cannot be made
    async with hub.app[keys.DB].begin() as conn:  # live, as if someone had joined
        await conn.execute(sa.text("UPDATE meetings SET status = 'live' WHERE id = :id"), {"id": meeting["id"]})
    refused = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/recording", headers=hub.auth(CHAIR))
    assert refused.status == 503
    assert (await refused.json())["error"]["code"] == "recording_storage_unavailable"
    listed = await hub.client.get(f"/api/v1/meetings/{meeting['id']}/recordings", headers=hub.auth(CHAIR))
    assert (await listed.json())["items"] == []
    not_live = await create_meeting(hub)
    early = await hub.client.post(f"/api/v1/meetings/{not_live['id']}/recording", headers=hub.auth(CHAIR))
    assert early.status == 409 and (await early.json())["error"]["code"] == "meeting_not_live"
    unknown = await hub.client.post("/api/v1/meetings/nosuchmeeting/recording", headers=hub.auth(CHAIR))
    assert unknown.status == 404


async def test_two_starts_at_once_make_one_recording(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    async with hub.app[keys.DB].begin() as conn:  # live, as if someone had joined
        await conn.execute(sa.text("UPDATE meetings SET status = 'live' WHERE id = :id"), {"id": meeting["id"]})
    path = f"/api/v1/meetings/{meeting['id']}/recording"
    answers = await asyncio.gather(*(hub.client.post(path, headers=hub.auth(CHAIR)) for _ in range(4)))
    assert sorted(a.status for a in answers) == [201, 409, 409, 409]
    listed = await hub.client.get(f"/api/v1/meetings/{meeting['id']}/recordings", headers=hub.auth(CHAIR))
    assert [r["status"] for r in (await listed.json())["items"]] == ["recording"]
    # the unique index itself: a second recording under way is refused by the database
    service = hub.app[keys.RECORDINGS]
    with pytest.raises(sa.exc.IntegrityError):
        await _insert(hub, meeting["id"], id="dupe")
    assert len(await service.listed(meeting["id"])) == 1

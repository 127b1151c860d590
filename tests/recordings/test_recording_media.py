"""Recording a meeting with real aiortc clients: the chair starts and stops it, everybody is told, the per-track
files hold what was sent (checked with PyAV), the archive is composed and served with Range requests, a decision
keeps its moment, and whoever the meeting does not concern gets 403."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
import sqlalchemy as sa

from hub import keys
from hub.supervision.tables import audit
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.conftest import CHAIR, create_meeting

pytestmark = pytest.mark.media

MEMBER = "pub-util-02"
OUTSIDER = "pub-util-04"  # in the chair's unit (pub-util) but not in the meeting: the chair's unit may watch
STRANGER = "water-04"


@pytest.fixture
async def recording_hub(aiohttp_client: Any, tmp_path: Path) -> Hub:
    settings = make_settings(tmp_path, meetings={"inactivity_timeout": 3.0},
                             recordings={"archive_width": 320, "archive_height": 180, "heartbeat": 1.0})
    return await start_hub(aiohttp_client, settings)


async def until_status(hub: Hub, recording_id: str, status: str, within: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        got = await hub.client.get(f"/api/v1/recordings/{recording_id}", headers=hub.auth(CHAIR))
        assert got.status == 200, await got.text()
        body = dict(await got.json())
        if body["status"] == status:
            return body
        assert body["status"] != "failed", body
        assert time.monotonic() < deadline, f"recording still {body['status']}"
        await asyncio.sleep(0.3)


def streams_of(path: Path) -> tuple[list[str], float]:
    """Codec names and the decoded duration (seconds) of a file."""
    with av.open(str(path)) as container:
        codecs = [s.codec_context.name for s in container.streams]
        last = 0.0
        for frame in container.decode(container.streams[0]):
            if frame.time is not None:
                last = max(last, frame.time)
    return codecs, last


async def test_a_recorded_meeting(recording_hub: Hub, meeting_clients: Any) -> None:
    hub = recording_hub
    meeting = await create_meeting(hub, invited_people=[MEMBER])
    meeting_id = meeting["id"]
    chair = meeting_clients(hub, CHAIR, meeting_id)
    member = meeting_clients(hub, MEMBER, meeting_id)
    await chair.join()
    await member.join()
    await chair.wait(lambda: len(chair.decoded("video")) == 1 and min(chair.decoded().values(), default=0) > 3,
                     what="the chair decoding the member")

    refused = await hub.client.post(f"/api/v1/meetings/{meeting_id}/recording", headers=hub.auth(MEMBER))
    assert refused.status == 403
    started = await hub.client.post(f"/api/v1/meetings/{meeting_id}/recording", headers=hub.auth(CHAIR))
    assert started.status == 201, await started.text()
    recording = await started.json()
    again = await hub.client.post(f"/api/v1/meetings/{meeting_id}/recording", headers=hub.auth(CHAIR))
    assert again.status == 409 and (await again.json())["error"]["code"] == "already_recording"
    for client in (chair, member):
        await client.wait(lambda c=client: "recording.started" in c.event_names(), within=5, what="told it records")

    await asyncio.sleep(3)
    due = (hub.app[keys.SUPERVISION].today() + timedelta(days=14)).isoformat()
    decided = await hub.client.post(f"/api/v1/meetings/{meeting_id}/decisions", headers=hub.auth(CHAIR), json={
        "text": "一周内完成供水管网巡查", "lead_unit": "pub-util", "responsible": MEMBER, "due_date": due})
    assert decided.status == 201, await decided.text()
    item_id = (await decided.json())["item"]["id"]
    await asyncio.sleep(3)

    stopped = await hub.client.delete(f"/api/v1/meetings/{meeting_id}/recording", headers=hub.auth(CHAIR))
    assert stopped.status == 200, await stopped.text()
    assert (await stopped.json())["stop_reason"] == "chair"
    not_again = await hub.client.delete(f"/api/v1/meetings/{meeting_id}/recording", headers=hub.auth(CHAIR))
    assert not_again.status == 409 and (await not_again.json())["error"]["code"] == "not_recording"
    for client in (chair, member):
        await client.wait(lambda c=client: "recording.stopped" in c.event_names(), within=5, what="told it stopped")

    ready = await until_status(hub, recording["id"], "ready")
    assert 5.0 <= ready["duration"] <= 9.0
    kinds = sorted((t["kind"], t["source"]) for t in ready["tracks"])
    assert kinds == [("audio", "microphone"), ("audio", "microphone"), ("video", "camera"), ("video", "camera")]
    assert ready["may_download"] is True

    folder = hub.app[keys.RECORDINGS].folder(await _recording(hub, recording["id"]))
    for track in (folder / "tracks").glob("*.webm"):
        codecs, seconds = streams_of(track)
        assert codecs in (["vp8"], ["opus"]), codecs
        assert seconds >= 4.0, (track.name, seconds)
    codecs, seconds = streams_of(folder / "archive.webm")
    assert abs(seconds - ready["duration"]) <= 1.0

    media = f"/api/v1/recordings/{recording['id']}/media"
    whole = await hub.client.get(media, headers=hub.auth(MEMBER))
    assert whole.status == 200 and whole.headers["Content-Type"] == "video/webm"
    body = await whole.read()
    assert body == (folder / "archive.webm").read_bytes()
    part = await hub.client.get(media, headers={**hub.auth(MEMBER), "Range": "bytes=100-199"})
    assert part.status == 206
    assert await part.read() == body[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(body)}"

    # watching: the participants, the chair's unit; downloading: the chair; a stranger: neither
    assert (await hub.client.get(f"/api/v1/recordings/{recording['id']}", headers=hub.auth(OUTSIDER))).status == 200
    assert (await hub.client.get(media + "?download=true", headers=hub.auth(MEMBER))).status == 403
    download = await hub.client.get(media + "?download=true", headers=hub.auth(CHAIR))
    assert download.status == 200 and "attachment" in download.headers["Content-Disposition"]
    page = await hub.client.get(f"/recordings/{recording['id']}", headers=hub.auth(MEMBER))
    assert page.status == 200 and "/api/v1/recordings/" in await page.text()
    async with hub.app[keys.DB].connect() as conn:  # who watched and who kept a copy: in the audit chain
        rows = (await conn.execute(sa.select(audit.c.action, audit.c.actor).where(
            audit.c.action.like("recording.%")).order_by(audit.c.seq))).all()
    assert [tuple(row) for row in rows] == [("recording.downloaded", CHAIR), ("recording.viewed", MEMBER)]
    for path in (f"/api/v1/recordings/{recording['id']}", media, f"/api/v1/meetings/{meeting_id}/recordings"):
        denied = await hub.client.get(path, headers=hub.auth(STRANGER))
        assert denied.status == 403, path
        assert (await denied.json())["error"]["code"] == "recording_forbidden"
    listed = await hub.client.get(f"/api/v1/meetings/{meeting_id}/recordings", headers=hub.auth(MEMBER))
    assert [r["id"] for r in (await listed.json())["items"]] == [recording["id"]]

    item = await hub.client.get(f"/api/v1/supervision/items/{item_id}", headers=hub.auth(CHAIR))
    moment = (await item.json())["recording"]
    assert moment["recording_id"] == recording["id"]
    assert abs(moment["offset"] - 3.0) <= 1.5


async def _recording(hub: Hub, recording_id: str) -> Any:
    recording, _ = await hub.app[keys.RECORDINGS].get(await _principal(hub, CHAIR), recording_id)
    return recording


async def _principal(hub: Hub, person: str) -> Any:
    return await hub.app[keys.AUTH].authenticate(hub.token(person))


async def test_a_meeting_set_to_record_from_the_start(recording_hub: Hub, meeting_clients: Any) -> None:
    hub = recording_hub
    meeting = await create_meeting(hub, invited_people=[MEMBER], record=True)
    assert meeting["record"] is True
    chair = meeting_clients(hub, CHAIR, meeting["id"])
    await chair.join()
    await chair.wait(lambda: "recording.started" in chair.event_names(), within=10, what="recording from the start")
    member = meeting_clients(hub, MEMBER, meeting["id"])
    joined = await member.join()
    assert joined["recording"]["status"] == "recording" and joined["recording"]["started_by"] is None

    stopped = await hub.client.delete(f"/api/v1/meetings/{meeting['id']}/recording", headers=hub.auth(CHAIR))
    assert stopped.status == 200
    # the chair stopped it: what happens next in the meeting does not start it again
    changed = await hub.client.patch(f"/api/v1/meetings/{meeting['id']}", headers=hub.auth(CHAIR),
                                     json={"description": "议程调整"})
    assert changed.status == 200
    await member.wait(lambda: "meeting.updated" in member.event_names(), within=5, what="the change told")
    await asyncio.sleep(1)
    listed = await hub.client.get(f"/api/v1/meetings/{meeting['id']}/recordings", headers=hub.auth(CHAIR))
    assert [r["status"] for r in (await listed.json())["items"]] in (["composing"], ["ready"], ["failed"])
    late = meeting_clients(hub, "pub-util-03", meeting["id"])
    assert (await late.join())["recording"] is None


async def test_an_h264_camera_is_recorded_as_it_is(recording_hub: Hub, meeting_clients: Any) -> None:
    hub = recording_hub
    meeting = await create_meeting(hub, invited_people=[MEMBER])
    chair = meeting_clients(hub, CHAIR, meeting["id"], video_codec="video/H264")
    member = meeting_clients(hub, MEMBER, meeting["id"], video=False)  # someone watches: the camera is not paused
    await chair.join()
    await member.join()
    await member.wait(lambda: min(member.decoded().values(), default=0) > 3, what="the member decoding the chair")
    started = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/recording", headers=hub.auth(CHAIR))
    assert started.status == 201
    recording = await started.json()
    await asyncio.sleep(4)
    assert (await hub.client.delete(f"/api/v1/meetings/{meeting['id']}/recording",
                                    headers=hub.auth(CHAIR))).status == 200
    ready = await until_status(hub, recording["id"], "ready")
    assert {(t["kind"], t["codec"]) for t in ready["tracks"] if t["kind"] == "video"} == {("video", "video/h264")}
    folder = hub.app[keys.RECORDINGS].folder(await _recording(hub, recording["id"]))
    (camera,) = (folder / "tracks").glob("*.mkv")
    codecs, seconds = streams_of(camera)
    assert codecs == ["h264"] and seconds >= 2.5
    _, archived = streams_of(folder / "archive.webm")
    assert abs(archived - ready["duration"]) <= 1.0

"""The playback page of a recording: the archive with chapters (roll calls, screen shares) and the meeting's
decisions at the moment each was taken; its status while the archive is being made."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hub import keys
from hub.auth import policy
from hub.errors import HubError
from hub.recordings.model import RecordingStatus
from web.pages import TRANSLATOR, page_principal, render

SCRIPT_STRINGS = ("Compose again", "Composing…")


async def recording_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    recordings = request.app[keys.RECORDINGS]
    recording_id = request.match_info["recording_id"]
    recording, meeting = await recordings.get(principal, recording_id)
    detail = await recordings.describe(principal, recording, meeting)
    if recording.status is RecordingStatus.READY:  # (a page waiting for the archive looks again every few seconds)
        await recordings.accessed(principal, recording, "recording.viewed")
    try:
        decided = await request.app[keys.DECISIONS].of_meeting(principal, meeting.id)
    except HubError:
        decided = []  # its decisions are for the meeting's people and supervisors
    moments = [{"offset": offset, "text": d.text, "item_id": i.id, "number": i.number}
               for d, i in decided if (offset := recording.offset_of(d.recorded_at)) is not None]
    start = request.query.get("t", "")
    data: dict[str, Any] = {
        "recording": {"id": recording.id, "status": recording.status.value, "progress": recording.progress},
        "start": float(start) if start.isdigit() else 0.0,
        "strings": request.app[TRANSLATOR].strings(*SCRIPT_STRINGS),
    }
    return await render(request, "recording.html", {
        "recording": recording,
        "detail": detail,
        "meeting": meeting,
        "moments": moments,
        "ready": recording.status is RecordingStatus.READY,
        "can_retry": recording.status is RecordingStatus.FAILED and policy.can_moderate_meeting(principal, meeting),
        "page_data": json.dumps(data, ensure_ascii=False).replace("</", "<\\/"),
    })


def setup_recording_pages(app: web.Application) -> None:
    """The playback page of a recording."""
    app.router.add_get("/recordings/{recording_id:[0-9a-f]{1,32}}", recording_page)

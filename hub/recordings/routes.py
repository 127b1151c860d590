"""HTTP endpoints of recordings: start and stop (the chair), a meeting's recordings, one recording, its archive
(with HTTP range requests, so the player seeks), and composing a failed archive again."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from hub import keys
from hub.api import ApiRoutes, json_response, read_query
from hub.auth.http import principal_of
from hub.recordings.responses import Recording, RecordingDetail, RecordingList

routes = ApiRoutes("recordings")


@routes.post("/api/v1/meetings/{meeting_id}/recording", status=201, response=Recording,
             creates=("/api/v1/recordings", "/id"),
             summary="Start recording a live meeting (chair): everybody in it sees and hears that it is recorded")
async def start_recording(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    recording = await request.app[keys.RECORDINGS].start(principal, request.match_info["meeting_id"])
    return json_response(recording.to_dict(), status=201)


@routes.delete("/api/v1/meetings/{meeting_id}/recording", response=Recording,
               summary="Stop recording (chair): the archive is composed from what was recorded")
async def stop_recording(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    recording = await request.app[keys.RECORDINGS].stop(principal, request.match_info["meeting_id"])
    return json_response(recording.to_dict())


@routes.get("/api/v1/meetings/{meeting_id}/recordings", response=RecordingList,
            summary="A meeting's recordings (its participants, the chair's and secretary's units, supervisors of "
                    "its decisions)")
async def meeting_recordings(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    found = await request.app[keys.RECORDINGS].of_meeting(principal, request.match_info["meeting_id"])
    return json_response({"items": [r.to_dict() for r in found]})


@routes.get("/api/v1/recordings/{recording_id}", response=RecordingDetail,
            summary="One recording: status, duration, tracks, chapters (roll calls and screen shares)")
async def get_recording(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return json_response(await request.app[keys.RECORDINGS].detail(principal, request.match_info["recording_id"]))


class MediaQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    download: bool = False


@routes.get("/api/v1/recordings/{recording_id}/media", query=MediaQuery, content_type="video/webm",
            responses={206: "Part of the archive (a Range request)", 416: "The range asked for is not in the file"},
            summary="The archive (WebM), with Range requests; ?download=true: as a file to keep (chair, secretary, "
                    "organizer). Every download is in the audit chain")
async def recording_media(request: web.Request) -> web.StreamResponse:
    principal = await principal_of(request)
    query = read_query(request, MediaQuery)
    recording, path = await request.app[keys.RECORDINGS].media(
        principal, request.match_info["recording_id"], download=query.download)
    # said, not guessed from the file name when the response is sent: the contract check reads it before then
    headers = {"Cache-Control": "private, max-age=3600", "Content-Type": "video/webm"}
    if query.download:
        headers["Content-Disposition"] = f'attachment; filename="meeting-{recording.meeting_id}-{recording.id}.webm"'
    return web.FileResponse(path, headers=headers)


@routes.post("/api/v1/recordings/{recording_id}/archive", status=202, response=Recording,
             summary="Compose a recording's archive again after it failed (chair)")
async def retry_archive(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    recording = await request.app[keys.RECORDINGS].retry(principal, request.match_info["recording_id"])
    return json_response(recording.to_dict(), status=202)

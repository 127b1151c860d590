"""HTTP endpoints of meetings: create, update, cancel, close, list, get, and an .ics for calendars."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api import ApiModel, ApiRoutes, json_response, read_body, read_query
from hub.auth.http import principal_of
from hub.bounds import Moment, Offset
from hub.exports import CSV, XLSX, download, sheet
from hub.meetings import responses
from hub.meetings.attendance import EXPORT_COLUMNS, sheet_rows
from hub.meetings.ics import meeting_ics
from hub.meetings.model import Meeting, MeetingChanges
from hub.meetings.service import NewMeeting

routes = ApiRoutes("meetings")

PersonId = Field(min_length=1, max_length=64)


class CreateMeeting(ApiModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    chair: str = PersonId
    secretary: str | None = Field(None, max_length=64)
    starts_at: Moment = Field(examples=["2030-03-01T09:00:00+08:00"])
    ends_at: Moment = Field(examples=["2030-03-01T10:30:00+08:00"])
    invited_units: list[str] = Field(default_factory=list, max_length=500)
    invited_people: list[str] = Field(default_factory=list, max_length=500)
    lobby: bool = True
    locked: bool = False
    main_unit: str | None = Field(None, max_length=64, description="the main venue (主会场): an org unit id, invited")
    record: bool = Field(False, description="record the meeting from its start")


class UpdateMeeting(ApiModel):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    chair: str | None = Field(None, min_length=1, max_length=64)
    secretary: str | None = Field(None, max_length=64)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    invited_units: list[str] | None = Field(None, max_length=500)
    invited_people: list[str] | None = Field(None, max_length=500)
    lobby: bool | None = None
    locked: bool | None = None
    main_unit: str | None = Field(None, max_length=64, description="the main venue's org unit; \"\" or null: none")
    record: bool | None = None


class Spotlight(ApiModel):
    person: str = PersonId


class ListQuery(BaseModel):
    scope: Literal["mine", "unit", "all"] = "mine"
    when: Literal["upcoming", "past", "all"] = "upcoming"
    limit: int = Field(50, ge=1, le=200)
    offset: Offset = 0


async def meeting_json(request: web.Request, meeting: Meeting) -> dict[str, object]:
    """A meeting with its people's names and the page link."""
    directory = request.app[keys.DIRECTORY]
    ids = [meeting.organizer_id, meeting.chair_id, *([meeting.secretary_id] if meeting.secretary_id else [])]
    people = await directory.people(ids)
    names = {pid: p.name for pid, p in people.items()}
    return {
        **meeting.to_dict(),
        "names": names,
        "url": f"/meetings/{meeting.id}",
        "calendar": f"/api/v1/meetings/{meeting.id}/calendar.ics",
    }


@routes.post("/api/v1/meetings", summary="Schedule a meeting (the caller organizes it)", body=CreateMeeting,
             status=201, response=responses.Meeting)
async def create_meeting(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, CreateMeeting)
    meeting = await request.app[keys.MEETINGS].create(
        principal,
        NewMeeting(
            title=body.title, description=body.description, chair_id=body.chair, secretary_id=body.secretary,
            starts_at=body.starts_at, ends_at=body.ends_at, invited_units=tuple(body.invited_units),
            invited_people=tuple(body.invited_people), lobby=body.lobby, locked=body.locked,
            main_unit=body.main_unit, record=body.record,
        ),
    )
    return json_response(await meeting_json(request, meeting), status=201)


@routes.get("/api/v1/meetings", summary="Meetings: mine, my unit's or all; upcoming, past or all", query=ListQuery,
            response=responses.MeetingPage)
async def list_meetings(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, ListQuery)
    found = await request.app[keys.MEETINGS].listing(
        principal, scope=query.scope, when=query.when, limit=query.limit, offset=query.offset
    )
    return json_response({"items": [await meeting_json(request, m) for m in found], "limit": query.limit,
                          "offset": query.offset})


@routes.get("/api/v1/meetings/{meeting_id}", summary="One meeting", response=responses.Meeting)
async def get_meeting(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    meeting = await request.app[keys.MEETINGS].get(principal, request.match_info["meeting_id"])
    return json_response(await meeting_json(request, meeting))


@routes.patch("/api/v1/meetings/{meeting_id}", summary="Change a meeting (organizer, chair, admins)",
              body=UpdateMeeting, response=responses.Meeting)
async def update_meeting(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, UpdateMeeting)
    given = body.model_fields_set
    changes = MeetingChanges(
        title=body.title, description=body.description, chair_id=body.chair,
        # null for these two clears them; leaving them out changes nothing
        secretary_id=(body.secretary or "") if "secretary" in given else None,
        main_unit=(body.main_unit or "") if "main_unit" in given else None,
        starts_at=body.starts_at, ends_at=body.ends_at,
        invited_units=tuple(body.invited_units) if body.invited_units is not None else None,
        invited_people=tuple(body.invited_people) if body.invited_people is not None else None,
        lobby=body.lobby, locked=body.locked, record=body.record,
    )
    meeting = await request.app[keys.MEETINGS].update(principal, request.match_info["meeting_id"], changes)
    return json_response(await meeting_json(request, meeting))


@routes.post("/api/v1/meetings/{meeting_id}/cancel", summary="Cancel a meeting (a live one ends for everybody)",
             response=responses.Meeting)
async def cancel_meeting(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    meeting = await request.app[keys.MEETINGS].cancel(principal, request.match_info["meeting_id"])
    return json_response(await meeting_json(request, meeting))


@routes.post("/api/v1/meetings/{meeting_id}/close",
             summary="Close an ended meeting for edits (chair, secretary): decisions and minutes become final",
             response=responses.Meeting)
async def close_meeting(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    meeting = await request.app[keys.MEETINGS].close_for_edits(principal, request.match_info["meeting_id"])
    return json_response(await meeting_json(request, meeting))


@routes.get("/api/v1/meetings/{meeting_id}/calendar.ics", summary="The meeting as an iCalendar file",
            content_type="text/calendar")
async def meeting_calendar(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    meetings = request.app[keys.MEETINGS]
    meeting = await meetings.get(principal, request.match_info["meeting_id"])
    settings = request.app[keys.SETTINGS]
    organizer = await request.app[keys.DIRECTORY].find_person(meeting.organizer_id)
    text = meeting_ics(
        meeting, url=f"{settings.public_url}/meetings/{meeting.id}",
        organizer_name=organizer.name if organizer else meeting.organizer_id,
        now=request.app[keys.CLOCK].now(), host=urlsplit(settings.public_url).hostname or "cityhub",
    )
    return web.Response(
        text=text, content_type="text/calendar", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'},
    )


@routes.post("/api/v1/meetings/{meeting_id}/spotlight", body=Spotlight, response=responses.MeetingStage,
             summary="Roll call (chair): everybody sees and hears this person, whose microphone is turned on")
async def set_spotlight(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, Spotlight)
    stage = await request.app[keys.CONFERENCE].stage.spotlight(principal, request.match_info["meeting_id"], body.person)
    return json_response(stage)


@routes.delete("/api/v1/meetings/{meeting_id}/spotlight", response=responses.MeetingStage,
               summary="Clear the roll call (chair): everybody goes back to their own view")
async def clear_spotlight(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    stage = await request.app[keys.CONFERENCE].stage.spotlight(principal, request.match_info["meeting_id"], None)
    return json_response(stage)


class AttendanceQuery(BaseModel):
    format: Literal["json", "csv", "xlsx"] = "json"


@routes.get("/api/v1/meetings/{meeting_id}/attendance", query=AttendanceQuery, response=responses.MeetingAttendance,
            content_type=("application/json", CSV, XLSX),
            summary="Attendance (签到): who came, from which venue, when; the invited who did not. "
                    "?format=csv|xlsx: the sign-in sheet with Chinese headers (chair, secretary, organizer, "
                    "supervisors)")
async def meeting_attendance(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, AttendanceQuery)
    report = await request.app[keys.CONFERENCE].attendance.report(principal, request.match_info["meeting_id"])
    if query.format == "json":
        return json_response(report)
    tz = request.app[keys.SETTINGS].tz
    return download([sheet("签到表", sheet_rows(report, tz), EXPORT_COLUMNS)], kind=query.format,
                    filename=f"attendance-{report['meeting_id']}")

"""Meeting pages: the list with a create form (/meetings) and the meeting room (/meetings/{id})."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web

from hub import keys
from hub.auth import policy
from hub.auth.principal import Principal
from hub.bounds import check_day
from hub.errors import BadRequest, HubError
from hub.meetings.model import Meeting, MeetingChanges, MeetingStatus
from hub.meetings.service import NewMeeting
from hub.recordings.service import moment_in
from web.pages import NAV, TRANSLATOR, NavItem, page_principal, render

log = logging.getLogger(__name__)

# Officials enter local times; the city runs on China Standard Time.

# Strings the meeting page's script shows (passed as JSON, translated on the server).
SCRIPT_STRINGS = (
    "Record", "Stop recording", "Meeting", "This meeting is being recorded.", "The recording has stopped.",
    "The recording stopped: the recordings disk is full.", "The recording stopped: it could not be written.",
    "The recording stopped: the media server was restarted.",
    "Join", "Joining…", "Leave", "Mute", "Unmute", "Camera off", "Camera on", "Share screen", "Stop sharing",
    "Raise hand", "Lower hand", "Send", "You", "Chair", "Secretary", "Organizer", "Muted", "Camera is off",
    "Remove", "Admit", "Turn away", "Lock", "Unlock", "End meeting", "End the meeting for everybody?",
    "Remove this participant?", "Waiting in the lobby", "The chair will let you in shortly.",
    "You were let in.", "The chair turned you away.", "The meeting has ended.", "The chair removed you.",
    "The chair muted you.", "Connection lost: reconnecting…", "Reconnected.", "Connection quality",
    "good", "fair", "poor", "No camera or microphone found: you can still join to listen.",
    "Could not join: %(reason)s", "is speaking", "raised a hand", "Meeting locked", "Meeting unlocked",
    "Screen", "Participants", "Chat", "Decisions", "Minutes", "Lobby", "No one is waiting.",
    "Nothing yet.", "Decisions recorded in this meeting appear here.", "The shared minutes appear here.",
    "Someone else shares their screen.", "Rejoining…", "In the meeting", "You left the meeting.",
    "Join again", "Microphone", "Camera", "Hand raised", "Type a message", "participants",
    "error.not_invited", "error.meeting_locked", "error.removed", "error.meeting_over", "error.meeting_not_found",
    "error.disconnected", "error.person_inactive",
    "Spotlight", "Called on: %(name)s", "The chair called on you: your microphone is on.",
    "The roll call moved on: your microphone is off again.",
    "The chair turned everybody's microphone on.", "Venue", "Ask to speak", "Cancel request", "asks to speak",
    "No one asked to speak.", "Give the floor", "Decline", "The chair declined your request to speak.",
    "Main venue", "Make main venue", "Not the main venue", "Page %(page)s of %(pages)s", "Start polling",
    "Stop polling",
)


async def meetings_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    service = request.app[keys.MEETINGS]
    upcoming = await service.listing(principal, scope="mine", when="upcoming", limit=100)
    past = await service.listing(principal, scope="mine", when="past", limit=20)
    return await render(request, "meetings.html", await _list_context(request, upcoming, past, {}, None))


async def _form_choices(request: web.Request) -> dict[str, Any]:
    """What the meeting form offers: the units and their people."""
    directory = request.app[keys.DIRECTORY]
    units = await directory.units()
    people = await directory.members([u.id for u in units])
    return {"units": units, "unit_names": {u.id: u.name for u in units}, "people": people,
            "names": {p.id: p.name for p in people}}


async def _list_context(request: web.Request, upcoming: list[Any], past: list[Any], form: dict[str, Any],
                        error: str | None) -> dict[str, Any]:
    principal = await page_principal(request)
    now = datetime.now(request.app[keys.SETTINGS].tz)
    start = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    defaults = {
        "title": "", "description": "", "chair": principal.id, "secretary": "",
        "date": start.strftime("%Y-%m-%d"), "start": start.strftime("%H:%M"), "duration": "60",
        "units": [], "people": [], "lobby": True, "main_unit": "", "record": False,
    }
    return {
        **await _form_choices(request),
        "upcoming": upcoming,
        "past": past,
        "form": {**defaults, **form},
        "error": error,
        "can_create": policy.can_create_meeting(principal),
        "attendance_ids": {m.id for m in past if policy.can_read_attendance(principal, m)},
    }


def _form_values(form: Any) -> dict[str, Any]:
    """The meeting form as posted."""
    return {
        "title": str(form.get("title", "")), "description": str(form.get("description", "")),
        "chair": str(form.get("chair", "")), "secretary": str(form.get("secretary", "")),
        "date": str(form.get("date", "")), "start": str(form.get("start", "")),
        "duration": str(form.get("duration", "60")),
        "units": [str(v) for v in form.getall("units", [])], "people": [str(v) for v in form.getall("people", [])],
        "lobby": form.get("lobby") == "on", "main_unit": str(form.get("main_unit", "")),
        "record": form.get("record") == "on",
    }


def _form_of(meeting: Meeting, tz: tzinfo) -> dict[str, Any]:
    """A meeting as the form shows it, in the city's time."""
    starts = meeting.starts_at.astimezone(tz)
    return {
        "title": meeting.title, "description": meeting.description, "chair": meeting.chair_id,
        "secretary": meeting.secretary_id or "", "date": starts.strftime("%Y-%m-%d"),
        "start": starts.strftime("%H:%M"),
        "duration": str(max(5, round((meeting.ends_at - meeting.starts_at).total_seconds() / 60))),
        "units": list(meeting.invited_units), "people": list(meeting.invited_people), "lobby": meeting.lobby,
        "main_unit": meeting.main_unit or "", "record": meeting.record,
    }


def _times(values: dict[str, Any], tz: tzinfo) -> tuple[datetime, datetime]:
    """The start and end (UTC) of the form's date, start time (city time) and duration; refused when unreadable."""
    try:
        starts = datetime.strptime(f"{values['date']} {values['start']}", "%Y-%m-%d %H:%M").replace(tzinfo=tz)
        minutes = int(values["duration"])
    except ValueError:
        raise BadRequest("invalid_body", "date and time") from None
    check_day(starts, "date")
    if not 5 <= minutes <= 24 * 60:
        raise BadRequest("invalid_body", "duration")
    return starts.astimezone(UTC), (starts + timedelta(minutes=minutes)).astimezone(UTC)


async def create_from_form(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    values = _form_values(await request.post())
    try:
        starts, ends = _times(values, request.app[keys.SETTINGS].tz)
        meeting = await request.app[keys.MEETINGS].create(
            principal,
            NewMeeting(
                title=values["title"], description=values["description"], chair_id=values["chair"],
                secretary_id=values["secretary"] or None, starts_at=starts, ends_at=ends,
                invited_units=tuple(values["units"]), invited_people=tuple(values["people"]), lobby=values["lobby"],
                main_unit=values["main_unit"] or None, record=values["record"],
            ),
        )
    except HubError as refusal:
        service = request.app[keys.MEETINGS]
        upcoming = await service.listing(principal, scope="mine", when="upcoming", limit=100)
        past = await service.listing(principal, scope="mine", when="past", limit=20)
        context = await _list_context(request, upcoming, past, values, refusal.message)
        return await render(request, "meetings.html", context, status=400)
    raise web.HTTPSeeOther(f"/meetings/{meeting.id}")


async def _manage(request: web.Request, what: str, act: Callable[[Principal, str], Awaitable[Any]], *,
                  form: dict[str, Any] | None = None, done: str = "") -> web.StreamResponse:
    """One management step from the meeting's page: done -> back to the page (303); refused -> the page again
    with the reason (and what was typed), nothing changed."""
    principal = await page_principal(request)
    meeting_id = request.match_info["meeting_id"]
    try:
        await act(principal, meeting_id)
    except HubError as refusal:
        log.info("meeting %s: %s's %s refused: %s", meeting_id, principal.id, what, refusal.code)
        return await meeting_page(request, form=form, error=refusal.message, status=refusal.status)
    raise web.HTTPSeeOther(f"/meetings/{meeting_id}{done}")


async def edit_from_form(request: web.Request) -> web.StreamResponse:
    """The meeting page's form: change, reschedule (invitees are told, hub.notifications)."""
    values = _form_values(await request.post())

    async def change(principal: Principal, meeting_id: str) -> None:
        starts, ends = _times(values, request.app[keys.SETTINGS].tz)
        await request.app[keys.MEETINGS].update(principal, meeting_id, MeetingChanges(
            title=values["title"], description=values["description"], chair_id=values["chair"],
            secretary_id=values["secretary"], starts_at=starts, ends_at=ends, invited_units=tuple(values["units"]),
            invited_people=tuple(values["people"]), lobby=values["lobby"], main_unit=values["main_unit"],
            record=values["record"],
        ))

    return await _manage(request, "change", change, form=values, done="?done=saved")


async def cancel_from_form(request: web.Request) -> web.StreamResponse:
    """The meeting page's "Cancel the meeting" (confirmed on the page): invitees are told."""
    return await _manage(request, "cancellation", request.app[keys.MEETINGS].cancel)


async def close_from_form(request: web.Request) -> web.StreamResponse:
    """The record page's "Close for edits": minutes and decisions become final."""
    return await _manage(request, "closing", request.app[keys.MEETINGS].close_for_edits)


async def meeting_page(request: web.Request, *, form: dict[str, Any] | None = None, error: str | None = None,
                       status: int = 200) -> web.StreamResponse:
    principal = await page_principal(request)
    meeting_id = request.match_info["meeting_id"]
    service = request.app[keys.MEETINGS]
    meeting = await service.find(meeting_id)
    if meeting is None:
        raise web.HTTPNotFound()
    directory = request.app[keys.DIRECTORY]
    chair = await directory.find_person(meeting.chair_id)
    if meeting.over:
        return await _record_page(request, principal, meeting, chair.name if chair else meeting.chair_id, error,
                                  status)
    data = {
        "meeting": {"id": meeting.id, "title": meeting.title, "status": meeting.status.value,
                    "lobby": meeting.lobby, "locked": meeting.locked},
        "me": {"person_id": principal.id, "name": principal.person.name, "org_unit": principal.org_unit.name},
        "strings": request.app[TRANSLATOR].strings(*SCRIPT_STRINGS),
    }
    return await render(request, "meeting.html", {
        "meeting": meeting,
        "chair_name": chair.name if chair else meeting.chair_id,
        "main_unit_name": await _main_unit_name(request, meeting),
        "can_read_attendance": policy.can_read_attendance(principal, meeting),
        "page_data": json.dumps(data, ensure_ascii=False).replace("</", "<\\/"),
        **await _manage_context(request, principal, meeting, form, error),
    }, status=status)


async def _manage_context(request: web.Request, principal: Principal, meeting: Meeting,
                          form: dict[str, Any] | None, error: str | None) -> dict[str, Any]:
    """The meeting page's management part, for those who may change it: the form filled in, what was done."""
    manage = policy.can_manage_meeting(principal, meeting)
    return {
        **(await _form_choices(request) if manage else {}),
        "can_manage": manage,
        "form": form or _form_of(meeting, request.app[keys.SETTINGS].tz),
        "error": error,
        "open_manage": error is not None,
        "done": request.query.get("done") if request.query.get("done") in ("saved",) else None,
    }


async def _record_page(request: web.Request, principal: Principal, meeting: Meeting, chair_name: str,
                       error: str | None = None, status: int = 200) -> web.StreamResponse:
    """An ended or cancelled meeting: its record (minutes, decisions, attendance), nothing to join."""
    try:
        decided = await request.app[keys.DECISIONS].of_meeting(principal, meeting.id)
    except HubError:
        decided = []  # not of the meeting: its decisions are for its people and supervisors
    directory = request.app[keys.DIRECTORY]
    units = {u.id: u.name for u in await directory.units()}
    people = await directory.people(sorted({item.responsible_id for _, item in decided}))
    recordings = await request.app[keys.RECORDINGS].listed(meeting.id)
    return await render(request, "meeting_record.html", {
        "meeting": meeting,
        "chair_name": chair_name,
        "main_unit_name": units.get(meeting.main_unit or "", meeting.main_unit or ""),
        "can_read_attendance": policy.can_read_attendance(principal, meeting) and meeting.started_at is not None,
        "decisions": [{"decision": d, "item": i, "lead": units.get(i.lead_unit_id, i.lead_unit_id),
                       "moment": moment_in(recordings, d.recorded_at),
                       "responsible": people[i.responsible_id].name if i.responsible_id in people
                       else i.responsible_id} for d, i in decided],
        "recordings": recordings,
        "can_close": (meeting.status == MeetingStatus.ENDED and not meeting.closed_for_edits
                      and principal.id in (meeting.chair_id, meeting.secretary_id)),
        "error": error,
    }, status=status)


async def attendance_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    meeting_id = request.match_info["meeting_id"]
    report = await request.app[keys.CONFERENCE].attendance.report(principal, meeting_id)
    meeting = await request.app[keys.MEETINGS].get(principal, meeting_id)
    chair = await request.app[keys.DIRECTORY].find_person(meeting.chair_id)
    return await render(request, "meeting_attendance.html", {
        "meeting": meeting,
        "report": report,
        "chair_name": chair.name if chair else meeting.chair_id,
        "main_unit_name": await _main_unit_name(request, meeting),
    })


async def _main_unit_name(request: web.Request, meeting: Meeting) -> str:
    if meeting.main_unit is None:
        return ""
    units = {u.id: u.name for u in await request.app[keys.DIRECTORY].units()}
    return units.get(meeting.main_unit, meeting.main_unit)


def setup_meeting_pages(app: web.Application) -> None:
    """The meetings list, its form, and the meeting page."""
    app[NAV].insert(0, NavItem("/meetings", "Meetings"))
    app.router.add_get("/meetings", meetings_page)
    app.router.add_post("/meetings", create_from_form)
    app.router.add_get("/meetings/{meeting_id:[A-Za-z0-9_-]{1,32}}", meeting_page)
    app.router.add_get("/meetings/{meeting_id:[A-Za-z0-9_-]{1,32}}/attendance", attendance_page)
    app.router.add_post("/meetings/{meeting_id:[A-Za-z0-9_-]{1,32}}/edit", edit_from_form)
    app.router.add_post("/meetings/{meeting_id:[A-Za-z0-9_-]{1,32}}/cancel", cancel_from_form)
    app.router.add_post("/meetings/{meeting_id:[A-Za-z0-9_-]{1,32}}/close", close_from_form)

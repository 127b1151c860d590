"""The phone page (/phone): dial pad, directory search, my unit, recent contacts, incoming calls, the call log."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub import keys
from hub.auth.principal import Principal
from web.pages import NAV, NavBadge, NavItem, page_principal, render

# Strings the page's script shows, translated on the server (msgid = the English text).
JS_STRINGS = (
    "Calling…", "Ringing…", "Putting the call through…", "In call", "Busy", "The line is busy.", "No answer",
    "Declined", "Cancelled", "Not reachable", "Call ended", "Answered on another device", "Incoming call",
    "Duty line", "Answer", "Decline", "Call back", "Call", "Mute", "Unmute", "Camera off", "Camera on",
    "Hang up", "Outgoing", "Incoming", "Missed", "No calls yet.", "No one matches.", "Calling failed",
    "Connection lost: reconnecting…", "outcome.answered", "outcome.missed", "outcome.declined",
    "outcome.cancelled", "outcome.busy", "outcome.unavailable", "outcome.meeting", "error.extension_not_found",
    "error.person_not_found", "error.org_unit_not_found", "error.callee_inactive", "error.call_forbidden",
    "error.already_in_call", "error.cannot_call_yourself", "error.answered_elsewhere", "error.call_ended",
    "Camera or microphone not available", "Online", "Enter a number", "Calls", "Moved to a meeting",
    "Add a person", "error.meeting_forbidden", "error.already_in_the_call", "error.call_not_active",
    "New", "Search for the person to call",
)


async def phone_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    app = request.app
    directory, service = app[keys.DIRECTORY], app[keys.CALLS]
    unit = principal.org_unit
    members = [p for p in await directory.members([unit.id]) if p.id != principal.id]
    units = await directory.units()
    duty_lines = [u for u in units if u.extension]
    recent = await service.history.recent_contacts(principal.id)
    page_data: dict[str, Any] = {
        "me": {"id": principal.id, "name": principal.person.name, "unit": unit.name},
        "missed": await service.history.missed_count(principal.id),
    }
    return await render(
        request,
        "phone.html",
        {
            "page_data": page_data,
            "js_strings": JS_STRINGS,
            "unit": unit,
            "members": members,
            "duty_lines": duty_lines,
            "own_duty_line": unit if unit.extension else None,
            "recent": recent,
        },
    )


async def missed_calls(app: web.Application, principal: Principal) -> int:
    """The Phone link's badge: missed calls the person has not seen yet (docs/calls.md)."""
    return await app[keys.CALLS].history.missed_count(principal.id)


MISSED_BADGE = NavBadge("missed-calls", missed_calls, "Phone, %(num)d missed call", "Phone, %(num)d missed calls")


def setup_phone(app: web.Application) -> None:
    """The phone page and its navigation entry (with the missed-calls badge)."""
    app[NAV].append(NavItem("/phone", "Phone", badge=MISSED_BADGE))
    app.router.add_get("/phone", phone_page)

"""The meeting page's Decisions panel: an HTML fragment the panel's script loads, and the form that records a
decision without leaving the meeting (the script posts it and swaps in the refreshed fragment)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from hub import keys
from hub.bounds import check_day
from hub.directory.model import Role
from hub.errors import BadRequest, HubError
from hub.supervision.decisions import DecisionInput
from hub.supervision.model import Priority
from web.pages import page_principal, render


async def _panel(request: web.Request, *, error: HubError | None = None, form: dict[str, Any] | None = None,
                 status: int = 200) -> web.Response:
    principal = await page_principal(request)
    meeting_id = request.match_info["meeting_id"]
    decisions = request.app[keys.DECISIONS]
    found = await decisions.of_meeting(principal, meeting_id)
    may_record = await decisions.may_record(principal, meeting_id)
    directory = request.app[keys.DIRECTORY]
    units = await directory.units()
    groups: list[tuple[Any, list[Any]]] = []
    if may_record:
        people = await directory.members([u.id for u in units])
        by_unit: dict[str, list[Any]] = {}
        for person in people:
            if Role.TERMINAL not in person.roles:
                by_unit.setdefault(person.org_unit_id, []).append(person)
        groups = [(u, by_unit[u.id]) for u in units if u.id in by_unit]
    names = {u.id: u.name for u in units}
    responsible = await directory.people(sorted({i.responsible_id for _, i in found}))
    return await render(request, "supervision/decisions_panel.html", {
        "meeting_id": meeting_id, "decisions": found, "may_record": may_record, "units": units,
        "groups": groups, "unit_names": names, "responsible": {p: v.name for p, v in responsible.items()},
        "error": error, "form": form or {}, "priorities": list(Priority),
        "min_due": request.app[keys.SUPERVISION].today().isoformat(),
    }, status=status)


async def decisions_panel(request: web.Request) -> web.StreamResponse:
    return await _panel(request)


async def record_from_panel(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    form = await request.post()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        raw_due = values.get("due_date", "").strip()
        try:
            due = datetime.strptime(raw_due, "%Y-%m-%d").date()
        except ValueError:
            raise BadRequest("invalid_due_date", "give the due date as a date", field="due_date") from None
        check_day(due, "due_date")
        try:
            priority = Priority(values.get("priority", "normal"))
        except ValueError:
            raise BadRequest("invalid_priority", "unknown priority", field="priority") from None
        coops = tuple(str(v) for v in form.getall("coop_units", []) if str(v))
        await request.app[keys.DECISIONS].record(
            principal, request.match_info["meeting_id"],
            DecisionInput(text=values.get("text", ""), lead_unit=values.get("lead_unit", ""),
                          responsible=values.get("responsible", ""), due_date=due, coop_units=coops,
                          priority=priority),
        )
    except HubError as exc:
        if exc.status in (401, 404, 503):
            raise
        return await _panel(request, error=exc, form=values, status=exc.status)
    return await _panel(request, status=201)


def setup_decisions_panel(app: web.Application) -> None:
    """Routes of the meeting page's Decisions panel."""
    app.router.add_get("/supervision/meetings/{meeting_id}/panel", decisions_panel)
    app.router.add_post("/supervision/meetings/{meeting_id}/panel", record_from_panel)

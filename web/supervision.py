"""Supervision pages: the supervisors' dashboard, a department's view, an item page with its actions.

Plain HTML forms post to these handlers (no script needed), which call the supervision service and come back to
the item page with what happened, or with the refusal in words.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup
from pydantic import ValidationError

from hub import keys
from hub.api import parse_json, read_query, validation_error
from hub.auth import policy
from hub.auth.principal import Principal
from hub.bounds import check_day
from hub.directory.model import Role
from hub.errors import BadRequest, HubError
from hub.signatures import STROKES, Point, points
from hub.supervision.appraisal import FIGURES, Period
from hub.supervision.model import ACTIVE_STATUSES, Action, Item, ItemFilter, Status
from hub.supervision.reports import bar_chart, trend_chart
from hub.supervision.routes import ItemQuery, read_report_form, report_fields
from web.pages import NAV, TRANSLATOR, NavItem, page_principal, render
from web.supervision_panel import setup_decisions_panel

PER_PAGE = 50
PAGE_ACTIONS = {a.value for a in Action} - {Action.REPORT.value}


def _is_supervisor(principal: Principal) -> bool:
    return policy.can_supervise(principal) or policy.can_administer(principal)


def _fmt_time(request: web.Request) -> Any:
    tz = request.app[keys.SUPERVISION].tz

    def fmt(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""

    return fmt


async def _names(request: web.Request, items: list[Item]) -> tuple[dict[str, str], dict[str, str]]:
    directory = request.app[keys.DIRECTORY]
    units = {u.id: u.name for u in await directory.units()}
    people = await directory.people(sorted({i.responsible_id for i in items}))
    return units, {pid: p.name for pid, p in people.items()}


def _query_string(query: ItemQuery, **changes: Any) -> str:
    values = {k: v for k, v in query.model_dump(exclude={"limit", "offset"}).items() if v not in (None, "")}
    values.update({k: v for k, v in changes.items() if v is not None})
    return urlencode({k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in values.items()})


async def _notifications(request: web.Request, principal: Principal) -> list[dict[str, Any]]:
    """The viewer's unread notifications, newest first, for the panel on the supervision pages."""
    found = await request.app[keys.SUPERVISION].item_news(principal, unread_only=True, limit=10)
    return [n.to_dict() | {"item_id": n.subject_id, "at": n.created_at} for n in found]


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    if not _is_supervisor(principal):
        raise web.HTTPFound(f"/supervision/units/{principal.person.org_unit_id}")
    query = read_query(request, ItemQuery)
    reports = request.app[keys.SUPERVISION_REPORTS]
    board = await reports.dashboard(principal, query.to_filter())
    page = max(1, query.offset // PER_PAGE + 1)
    items, total = await reports.items(principal, query.to_filter(), limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    units, people = await _names(request, items)
    _ = request.app[TRANSLATOR].gettext
    stats = board.to_dict()["units"]
    chart = bar_chart(stats, title=_("On-time completion rate by department"), no_data=_("No items yet."))
    return await render(request, "supervision/dashboard.html", {
        "query": query, "counts": board.counts, "stats": stats, "chart": Markup(chart),
        "items": items, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)),
        "unit_names": units, "people": people, "unit_list": await request.app[keys.DIRECTORY].units(),
        "statuses": list(Status), "qs": _query_string(query), "page_qs": lambda n: _query_string(
            query, offset=(n - 1) * PER_PAGE), "fmt": _fmt_time(request),
        "notifications": await _notifications(request, principal),
        "meetings": await reports.decided_meetings(principal),
    })


async def unit_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    unit_id = request.match_info["unit_id"]
    policy.require(policy.can_view_unit_items(principal, unit_id), "unit_forbidden",
                   "you see your own department's items only")
    unit = await request.app[keys.DIRECTORY].unit(unit_id)
    reports = request.app[keys.SUPERVISION_REPORTS]
    items, total = await reports.items(principal, ItemFilter(involving_unit=unit_id), limit=500)
    needs_action = sorted(
        (i for i in items if i.lead_unit_id == unit_id and i.status in ACTIVE_STATUSES),
        key=lambda i: (not i.overdue, i.due_date),
    )
    units, people = await _names(request, items)
    return await render(request, "supervision/unit.html", {
        "unit": unit, "own": principal.org_unit.id == unit_id, "items": items, "total": total,
        "needs_action": needs_action,
        "overdue": [i for i in items if i.overdue], "unit_names": units, "people": people,
        "is_supervisor": _is_supervisor(principal), "fmt": _fmt_time(request),
        "notifications": await _notifications(request, principal),
        "can_appraise": policy.can_read_appraisal(principal),
    })


async def item_page(request: web.Request, *, error: HubError | None = None, done: str | None = None) -> web.Response:
    principal = await page_principal(request)
    service = request.app[keys.SUPERVISION]
    item, decision, timeline = await service.item(principal, request.match_info["item_id"])
    directory = request.app[keys.DIRECTORY]
    units = {u.id: u.name for u in await directory.units()}
    ids = {item.responsible_id, decision.recorded_by, *(f.author_id for f in timeline if f.author_id)}
    people = {pid: p.name for pid, p in (await directory.people(sorted(ids))).items()}
    settings = request.app[keys.SETTINGS].supervision
    return await render(request, "supervision/item.html", {
        "item": item, "decision": decision, "timeline": list(reversed(timeline)), "unit_names": units,
        "people": people, "allowed": service.allowed_actions(principal, item), "error": error,
        "done": done or request.query.get("done"), "fmt": _fmt_time(request), "today": service.today().isoformat(),
        "item_deadline": service.deadline(item.due_date),
        "accept_types": ",".join(settings.attachment_types),
        "max_mb": max(1, settings.attachment_max_bytes // 1048576),
        "is_lead_member": policy.is_unit_member(principal, item.lead_unit_id),
        "last_submit": next((f for f in reversed(timeline) if f.kind == Action.SUBMIT.value), None),
        "moment": await request.app[keys.RECORDINGS].moment(decision.meeting_id, decision.recorded_at),
        "signoffs": await service.signoffs(item.id),
    }, status=error.status if error else 200)


async def item_act(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    item_id = request.match_info["item_id"]
    service = request.app[keys.SUPERVISION]
    try:
        if request.content_type.startswith("multipart/"):
            fields, uploads = await read_report_form(request)
            text, percent = report_fields(fields)
            await service.act(principal, item_id, Action.REPORT, text=text, percent=percent, uploads=uploads)
            action = Action.REPORT.value
        else:
            form = await request.post()
            action = str(form.get("action", ""))
            if action not in PAGE_ACTIONS:
                raise BadRequest("unknown_action", "unknown action", field="action")
            raw_due = str(form.get("due_date", "")).strip()
            try:
                due = datetime.strptime(raw_due, "%Y-%m-%d").date() if raw_due else None
            except ValueError:
                raise BadRequest("invalid_due_date", "the date is not a date", field="due_date") from None
            if due is not None:
                check_day(due, "due_date")
            await service.act(principal, item_id, Action(action), text=str(form.get("text", "")), due_date=due,
                              strokes=_drawn(str(form.get("strokes", ""))))
    except HubError as exc:
        if exc.status in (401, 404):
            raise
        return await item_page(request, error=exc)
    raise web.HTTPSeeOther(f"/supervision/items/{item_id}?done={action}")


def _drawn(raw: str) -> list[list[Point]] | None:
    """The signing pad's strokes posted with a form (JSON), None when nothing was drawn; 400 when malformed."""
    if not raw.strip():
        return None
    try:
        return points(STROKES.validate_python(parse_json(raw)))
    except ValidationError as exc:
        raise validation_error(exc, "strokes") from None


async def notification_read(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    raw = request.match_info["notification_id"]
    if not raw.isdigit():
        raise BadRequest("invalid_parameter", "no such notification", field="notification_id")
    await request.app[keys.NOTIFICATIONS].mark_read(principal.id, int(raw))
    form = await request.post()
    target = str(form.get("next", "/supervision"))
    raise web.HTTPSeeOther(target if target.startswith("/supervision") else "/supervision")


def _period_choices(today: date) -> list[tuple[str, str]]:
    """The periods to pick from, newest first: this quarter and the seven before, the last twelve months, the
    last three years (value, label)."""
    quarter = Period.parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    month = Period.parse(f"{today.year}-{today.month:02d}")
    year = Period.parse(str(today.year))
    choices = []
    for first, count in ((quarter, 8), (month, 12), (year, 3)):
        period = first
        for _ in range(count):
            choices.append((period.label, period.label))
            period = period.previous()
    return choices


async def appraisal_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    today = request.app[keys.CLOCK].now().astimezone(request.app[keys.SETTINGS].tz).date()
    choices = _period_choices(today)
    period = request.query.get("period", "").strip() or choices[0][0]
    reports = request.app[keys.SUPERVISION_REPORTS]
    try:
        report = await reports.appraisal(principal, period)
    except BadRequest:
        period = choices[0][0]
        report = await reports.appraisal(principal, period)
    _ = request.app[TRANSLATOR].gettext
    charts = {u["unit_id"]: Markup(trend_chart(u["trend"], label=_("Score by period"))) for u in report["units"]}
    return await render(request, "supervision/appraisal.html", {
        "report": report, "period": report["period"], "choices": choices, "charts": charts,
        "drill": _is_supervisor(principal), "as_of": date.fromisoformat(report["as_of"]),
    })


async def appraisal_items_page(request: web.Request) -> web.StreamResponse:
    """The items behind one figure of one department in a period (the appraisal's drill-down)."""
    principal = await page_principal(request)
    period, unit_id, figure = (request.query.get(k, "") for k in ("period", "unit", "figure"))
    if figure not in FIGURES:
        raise BadRequest("invalid_parameter", f"figure: one of {', '.join(FIGURES)}", field="figure")
    reports = request.app[keys.SUPERVISION_REPORTS]
    report = await reports.appraisal(principal, period, trend=2)
    unit = next((u for u in report["units"] if u["unit_id"] == unit_id), None)
    items = await reports.items_by_id(principal, unit["items"][figure] if unit else [])
    units, people = await _names(request, items)
    return await render(request, "supervision/appraisal_items.html", {
        "report": report, "unit_name": units.get(unit_id, unit_id), "figure": figure, "items": items,
        "unit_names": units, "people": people, "fmt": _fmt_time(request),
    })


def setup_supervision_pages(app: web.Application) -> None:
    """The supervision pages and their nav entry (for people, not office terminals)."""
    app[NAV].append(NavItem("/supervision", "Supervision", visible=lambda p: not p.has(Role.TERMINAL)))
    app.router.add_get("/supervision", dashboard_page)
    app.router.add_get("/supervision/units/{unit_id}", unit_page)
    app.router.add_get("/supervision/appraisal", appraisal_page)
    app.router.add_get("/supervision/appraisal/items", appraisal_items_page)
    app.router.add_get("/supervision/items/{item_id}", item_page)
    app.router.add_post("/supervision/items/{item_id}", item_act)
    app.router.add_post("/supervision/notifications/{notification_id}/read", notification_read)
    setup_decisions_panel(app)

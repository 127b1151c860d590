"""HTTP endpoints of supervision: decisions of meetings, items and their actions, reports, exports, the audit."""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, Field, ValidationError

from hub import keys
from hub.api import ApiModel, ApiRoutes, json_response, read_body, read_query, validation_error
from hub.auth import policy
from hub.auth.http import principal_of
from hub.bounds import Day, Offset
from hub.errors import BadRequest, PayloadTooLarge
from hub.exports import XLSX, Sheet, download
from hub.notifications.responses import MarkedRead
from hub.notifications.routes import NOTIFICATION_ID, notification_id
from hub.pdf import render_pdf
from hub.signatures import MAX_STROKES, Strokes, points
from hub.supervision import responses
from hub.supervision.appraisal import PERIOD_PATTERN
from hub.supervision.decisions import DecisionInput
from hub.supervision.handout import appraisal_html, handout_html
from hub.supervision.model import Action, ItemFilter, Priority, Status
from hub.supervision.reports import STATUS_ZH, appraisal_sheet
from hub.supervision.uploads import MAX_FILES, Upload

routes = ApiRoutes("supervision")


class DecisionRequest(ApiModel):
    text: str = Field(min_length=1, max_length=2000)
    lead_unit: str = Field(min_length=1, max_length=64)
    coop_units: list[str] = Field(default_factory=list, max_length=20)
    responsible: str = Field(min_length=1, max_length=64)
    due_date: Day = Field(examples=["2026-12-31"])
    priority: Priority = Priority.NORMAL


class ItemQuery(BaseModel):
    EMPTY_MEANS_ANY: ClassVar[bool] = True  # the filters of a page's form: a field left blank is no filter
    unit: str | None = Field(None, max_length=64, description="lead department")
    status: Status | None = None
    overdue: bool | None = None
    meeting: str | None = Field(None, max_length=64)
    due_from: Day | None = None
    due_to: Day | None = None
    involving: str | None = Field(None, max_length=64, description="a department leading or co-operating")
    limit: int = Field(50, ge=1, le=500)
    offset: Offset = 0

    def to_filter(self) -> ItemFilter:
        return ItemFilter(
            unit_id=self.unit, status=self.status, overdue=self.overdue, meeting_id=self.meeting,
            due_from=self.due_from, due_to=self.due_to, involving_unit=self.involving,
        )


class ActionRequest(ApiModel):
    action: Literal[
        "accept", "submit", "return", "close", "request_extension", "grant_extension", "deny_extension", "cancel",
        "comment",
    ]
    text: str = Field("", max_length=5000)
    due_date: Day | None = None
    strokes: Strokes | None = Field(None, max_length=MAX_STROKES,
                                    description="close: the supervisor's handwritten signature (as sign-offs take)")


class ReportRequest(ApiModel):
    text: str = Field(min_length=1, max_length=5000)
    percent: int = Field(ge=0, le=100)


async def read_report_form(request: web.Request) -> tuple[dict[str, str], list[Upload]]:
    """A multipart form's text fields and files, refusing files over the size limit while they stream in."""
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("multipart_required", "send the form as multipart/form-data")
    try:
        return await _read_parts(request)
    except (ValueError, UnicodeDecodeError, AssertionError) as exc:
        # no boundary, a broken part, a text field that is not UTF-8 (aiohttp asserts some of these)
        raise BadRequest("malformed_form", f"the form could not be read: {exc or type(exc).__name__}") from None


async def _read_parts(request: web.Request) -> tuple[dict[str, str], list[Upload]]:
    settings = request.app[keys.SETTINGS].supervision
    reader = await request.multipart()
    fields: dict[str, str] = {}
    uploads: list[Upload] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadRequest("malformed_form", "nested multipart is not accepted")
        name = part.name or ""
        if part.filename is not None:
            if len(uploads) >= MAX_FILES:
                raise BadRequest("too_many_attachments", f"at most {MAX_FILES} attachments", field="attachments")
            limit = settings.attachment_max_bytes
            data = bytearray()
            while chunk := await part.read_chunk(65536):
                data.extend(chunk)
                if len(data) > limit:
                    raise BadRequest(
                        "attachment_too_large", f"{part.filename}: larger than {limit // 1048576 or 1} MB",
                        field=f"attachments[{len(uploads)}]",
                    )
            if part.filename == "" and not data:
                continue  # a file input left empty
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            uploads.append(Upload(part.filename, content_type, bytes(data)))
        else:
            text = await part.text()
            if len(text) > 20_000:
                raise PayloadTooLarge("field_too_large", f"{name} is too long")
            fields[name] = text
    return fields, uploads


def report_fields(fields: dict[str, str]) -> tuple[str, int]:
    """Text and percent of a progress report form; 400 naming the bad one."""
    try:
        parsed = ReportRequest.model_validate(
            {"text": fields.get("text", "").strip(), "percent": fields.get("percent")}
        )
    except ValidationError as exc:
        raise validation_error(exc, "body") from None
    return parsed.text, parsed.percent


# --- decisions ------------------------------------------------------------------------------------------------------
@routes.post(
    "/api/v1/meetings/{meeting_id}/decisions",
    summary="Record a decision of a meeting (chair or secretary): broadcast live, added to the minutes, "
    "and followed up as a supervision item",
    body=DecisionRequest,
    status=201,
    response=responses.SupervisionDecisionRecorded,
    creates=("/api/v1/supervision/items", "/item/id"),
)
async def record_decision(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, DecisionRequest)
    decision, item = await request.app[keys.DECISIONS].record(
        principal, request.match_info["meeting_id"],
        DecisionInput(text=body.text, lead_unit=body.lead_unit, responsible=body.responsible, due_date=body.due_date,
                      coop_units=tuple(body.coop_units), priority=body.priority),
    )
    return json_response({"decision": decision.to_dict(), "item": item.to_dict()}, status=201)


@routes.get("/api/v1/meetings/{meeting_id}/decisions", summary="The decisions of a meeting and their items' states",
            response=responses.SupervisionMeetingDecisions)
async def meeting_decisions(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    found = await request.app[keys.DECISIONS].of_meeting(principal, request.match_info["meeting_id"])
    return json_response({"decisions": [{**d.to_dict(), "item": i.to_dict()} for d, i in found]})


# --- items ----------------------------------------------------------------------------------------------------------
@routes.get("/api/v1/supervision/items", summary="Supervision items, filtered and paginated", query=ItemQuery,
            response=responses.ItemPage)
async def list_items(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, ItemQuery)
    found, total = await request.app[keys.SUPERVISION_REPORTS].items(
        principal, query.to_filter(), limit=query.limit, offset=query.offset
    )
    return json_response({"items": [i.to_dict() for i in found], "total": total, "limit": query.limit,
                          "offset": query.offset})


@routes.get("/api/v1/supervision/items/{item_id}", summary="An item, its source decision, timeline and your actions",
            response=responses.ItemDetail)
async def get_item(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    service = request.app[keys.SUPERVISION]
    item, decision, timeline = await service.item(principal, request.match_info["item_id"])
    return json_response({
        "item": item.to_dict(), "decision": decision.to_dict(), "timeline": [f.to_dict() for f in timeline],
        "allowed_actions": service.allowed_actions(principal, item),
        "signoffs": [{**s, "signed_at": s["signed_at"].isoformat()} for s in await service.signoffs(item.id)],
        # the moment the decision was taken, in the meeting's recording (None: not recorded then)
        "recording": await request.app[keys.RECORDINGS].moment(decision.meeting_id, decision.recorded_at),
    })


@routes.post(
    "/api/v1/supervision/items/{item_id}/actions",
    summary="Take an action on an item: accept, submit (completion report), return, close, request/grant/deny an "
    "extension, cancel, comment",
    body=ActionRequest,
    responses={403: "not yours to do", 409: "not allowed in the item's state"},
    response=responses.ItemChanged,
)
async def item_action(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, ActionRequest)
    item = await request.app[keys.SUPERVISION].act(
        principal, request.match_info["item_id"], Action(body.action), text=body.text, due_date=body.due_date,
        strokes=points(body.strokes) if body.strokes is not None else None,
    )
    return json_response({"item": item.to_dict()})


@routes.get("/api/v1/supervision/items/{item_id}/signoffs/{signoff_id}/image", content_type="image/png",
            summary="A handwritten signature on an item's closing, as the hub rendered it (PNG)")
async def item_signoff_image(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    image = await request.app[keys.SUPERVISION].signoff_image(
        principal, request.match_info["item_id"], request.match_info["signoff_id"])
    return web.Response(body=image, content_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@routes.post(
    "/api/v1/supervision/items/{item_id}/reports",
    summary="Report progress (lead unit): JSON {text, percent}, or multipart with fields text, percent and files",
    body=ReportRequest,
    status=201,
    response=responses.ItemChanged,
)
async def item_report(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    if request.content_type.startswith("multipart/"):
        fields, uploads = await read_report_form(request)
        text, percent = report_fields(fields)
    else:
        body = await read_body(request, ReportRequest)
        text, percent, uploads = body.text, body.percent, []
    item = await request.app[keys.SUPERVISION].act(
        principal, request.match_info["item_id"], Action.REPORT, text=text, percent=percent, uploads=uploads
    )
    return json_response({"item": item.to_dict()}, status=201)


@routes.get("/api/v1/supervision/attachments/{attachment_id}", summary="Download an attachment",
            content_type="*/*")  # the type it was uploaded with
async def get_attachment(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    name, content_type, data = await request.app[keys.SUPERVISION].attachment(
        principal, request.match_info["attachment_id"]
    )
    return web.Response(body=data, content_type=content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
    })


# --- supervisors ----------------------------------------------------------------------------------------------------
@routes.get("/api/v1/supervision/dashboard", summary="Counts and per-department figures (supervisors)",
            query=ItemQuery, response=responses.Dashboard)
async def dashboard(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    board = await request.app[keys.SUPERVISION_REPORTS].dashboard(principal, read_query(request, ItemQuery).to_filter())
    return json_response(board.to_dict())


async def _report(request: web.Request) -> list[Sheet]:
    principal = await principal_of(request)
    return await request.app[keys.SUPERVISION_REPORTS].export(principal, read_query(request, ItemQuery).to_filter())


@routes.get("/api/v1/supervision/export.csv", query=ItemQuery, content_type="text/csv",
            summary="The filtered list as CSV (UTF-8 with BOM; the report's items sheet, Chinese headers)")
async def export_csv(request: web.Request) -> web.Response:
    return download(await _report(request), kind="csv", filename="supervision")


class AppraisalQuery(BaseModel):
    period: str = Field(pattern=PERIOD_PATTERN,
                        examples=["2026-Q4", "2026-11", "2026"],
                        description="a year (2026), a quarter (2026-Q4) or a month (2026-11), the city's calendar")


@routes.get("/api/v1/supervision/appraisal", query=AppraisalQuery, response=responses.Appraisal,
            summary="Department appraisal (督查考核) for a period: per lead department the items assigned, closed on "
                    "time and late, overdue at the period's end, returned, extensions; a score from "
                    "supervision.appraisal_weights, the rank, the change against the period before, the trend; "
                    "replayed from the audit chain, so a closed period never changes (supervisors, leaders)")
async def appraisal(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, AppraisalQuery)
    return json_response(await request.app[keys.SUPERVISION_REPORTS].appraisal(principal, query.period))


@routes.get("/api/v1/supervision/appraisal.xlsx", query=AppraisalQuery, content_type=XLSX,
            summary="The department appraisal of a period as an .xlsx workbook")
async def appraisal_xlsx(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, AppraisalQuery)
    report = await request.app[keys.SUPERVISION_REPORTS].appraisal(principal, query.period)
    return download([appraisal_sheet(report)], kind="xlsx", filename=f"appraisal-{report['period']}")


@routes.get("/api/v1/supervision/appraisal.pdf", query=AppraisalQuery, content_type="application/pdf",
            summary="The department appraisal of a period as a PDF (A4 landscape)")
async def appraisal_pdf(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, AppraisalQuery)
    app = request.app
    report = await app[keys.SUPERVISION_REPORTS].appraisal(principal, query.period)
    made_at = app[keys.CLOCK].now().astimezone(app[keys.SETTINGS].tz)
    body = await render_pdf(appraisal_html(report, made_at=made_at), title=f"督查考核 {report['period']}")
    return web.Response(body=body, content_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="appraisal-{report["period"]}.pdf"'})


@routes.get("/api/v1/supervision/export.pdf", query=ItemQuery, content_type="application/pdf",
            summary="The filtered dashboard as a PDF handout: the filters, counts, per-department figures and chart, "
                    "the items (A4 landscape)")
async def export_pdf(request: web.Request) -> web.Response:
    query = read_query(request, ItemQuery)
    sheets = await _report(request)
    app = request.app
    tz = app[keys.SETTINGS].tz
    filters: dict[str, str] = {}
    if query.unit:
        found = await app[keys.DIRECTORY].find_unit(query.unit)
        filters["牵头单位"] = found.name if found else query.unit
    if query.status:
        filters["办理状态"] = STATUS_ZH[query.status]
    if query.overdue is not None:
        filters["逾期"] = "仅逾期" if query.overdue else "未逾期"
    if query.meeting:
        titles = [r["meeting"] for r in sheets[1].rows]
        filters["来源会议"] = titles[0] if titles else query.meeting
    if query.due_from or query.due_to:
        filters["办结时限"] = f"{query.due_from or ''}—{query.due_to or ''}"
    title = "督查督办工作情况"
    html = handout_html(sheets, title=title, filters=filters, made_at=app[keys.CLOCK].now().astimezone(tz))
    body = await render_pdf(html, title=title)
    return web.Response(body=body, content_type="application/pdf",
                        headers={"Content-Disposition": 'attachment; filename="supervision.pdf"'})


@routes.get("/api/v1/supervision/export.xlsx", query=ItemQuery, content_type=XLSX,
            summary="The filtered list as an .xlsx report: per-department figures, then the items")
async def export_xlsx(request: web.Request) -> web.Response:
    return download(await _report(request), kind="xlsx", filename="supervision")


@routes.get(
    "/api/v1/supervision/audit/verify",
    summary="Whether the audit chain is intact and agrees with its signed checkpoints: intact, unanchored, broken, "
    "truncated, rewritten, bad_checkpoint or checkpoint_missing",
    response=responses.SupervisionAudit,
)
async def verify_audit(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    policy.require(policy.can_supervise(principal) or policy.can_administer(principal), "supervisor_only",
                   "the audit is for supervisors and admins")
    anchor = request.app[keys.SUPERVISION].anchor
    assert anchor is not None
    result = await anchor.verify()
    return json_response(result.to_dict())


@routes.get("/api/v1/supervision/webhooks/deliveries", summary="The webhook delivery log (supervisors, admins)",
            response=responses.SupervisionWebhookDeliveries)
async def webhook_deliveries(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    policy.require(policy.can_supervise(principal) or policy.can_administer(principal), "supervisor_only",
                   "the delivery log is for supervisors and admins")
    return json_response({"deliveries": await request.app[keys.WEBHOOKS].deliveries()})


# --- notifications --------------------------------------------------------------------------------------------------
class NotificationQuery(BaseModel):
    unread: bool = False
    limit: int = Field(50, ge=1, le=200)


@routes.get("/api/v1/supervision/notifications", query=NotificationQuery,
            summary="My notifications about supervision items (as /api/v1/notifications?subject=item, with item_id)",
            response=responses.SupervisionNotifications)
async def notifications(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, NotificationQuery)
    found = await request.app[keys.SUPERVISION].item_news(principal, unread_only=query.unread, limit=query.limit)
    return json_response({"notifications": [n.to_dict() | {"item_id": n.subject_id} for n in found]})


@routes.post("/api/v1/supervision/notifications/{notification_id}/read",
             summary="Mark a notification read (as /api/v1/notifications/{notification_id}/read)",
             path_schemas={"notification_id": NOTIFICATION_ID}, response=MarkedRead)
async def notification_read(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    unread = await request.app[keys.NOTIFICATIONS].mark_read(principal.id, notification_id(request))
    return json_response({"read": True, "unread": unread})

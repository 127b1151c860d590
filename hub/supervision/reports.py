"""What supervisors read: filtered lists, counts, per-department figures, a bar chart, CSV and .xlsx exports."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from hub.auth import policy
from hub.auth.principal import Principal
from hub.clock import local_time
from hub.errors import BadRequest, Forbidden
from hub.exports import DATE, MINUTE, PERCENT, Column, Sheet
from hub.supervision import queries, store
from hub.supervision.appraisal import Period, parse_weights, ranked
from hub.supervision.appraisal import figures as appraisal_figures
from hub.supervision.model import Item, ItemFilter, Priority, Status, UnitStats
from hub.supervision.service import SupervisionService

EXPORT_LIMIT = 200_000
# The report's columns, as a clerk hands it on: Chinese headers, widths, number formats.
ITEM_COLUMNS = {
    "number": Column("督办编号", 18), "title": Column("督办事项", 40), "meeting": Column("来源会议", 28),
    "lead_unit": Column("牵头单位", 18), "coop_units": Column("协办单位", 22), "responsible": Column("责任人", 10),
    "priority": Column("优先级", 8), "status": Column("办理状态", 12), "percent": Column("进度", 8, PERCENT),
    "due_date": Column("办结时限", 12, DATE), "overdue": Column("是否逾期", 9),
    "created_at": Column("交办时间", 17, MINUTE), "closed_at": Column("办结时间", 17, MINUTE),
    "on_time": Column("按时办结", 9),
    "days_to_close": Column("办结用时（天）", 13, "0.0"), "id": Column("系统编号", 18),
}
SUMMARY_COLUMNS = {
    "unit": Column("牵头单位", 22), "total": Column("事项数", 9), "open": Column("在办", 8),
    "overdue": Column("逾期", 8), "closed": Column("已办结", 9), "closed_on_time": Column("按时办结", 10),
    "on_time_rate": Column("按时办结率", 12, "0.0%"), "avg_days": Column("平均办结天数", 14, "0.0"),
}
STATUS_ZH = {
    Status.ASSIGNED: "待签收", Status.ACCEPTED: "已签收", Status.IN_PROGRESS: "办理中",
    Status.EXTENSION_REQUESTED: "申请延期中", Status.SUBMITTED: "待审核", Status.CLOSED: "已办结",
    Status.CANCELLED: "已撤销",
}
PRIORITY_ZH = {Priority.NORMAL: "一般", Priority.HIGH: "重要", Priority.URGENT: "紧急"}


@dataclass(frozen=True)
class Dashboard:
    counts: dict[str, int]
    units: list[UnitStats]
    unit_names: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "units": [{**u.to_dict(), "unit_name": self.unit_names.get(u.unit_id, u.unit_id)} for u in self.units],
        }


class Reports:
    """Read models over supervision items; who may see what is decided here through the policy module."""

    def __init__(self, service: SupervisionService) -> None:
        self.service = service

    async def scope(self, principal: Principal, f: ItemFilter) -> ItemFilter:
        """The filter narrowed to what the principal may see: supervisors everything, others their unit's items."""
        if policy.can_supervise(principal) or policy.can_administer(principal):
            return f
        unit = principal.person.org_unit_id
        if f.involving_unit not in (None, unit):
            raise Forbidden("unit_forbidden", "you see your own department's items only")
        return replace(f, involving_unit=unit)

    async def unit_names(self) -> dict[str, str]:
        return {unit.id: unit.name for unit in await self.service.directory.units()}

    async def dashboard(self, principal: Principal, f: ItemFilter) -> Dashboard:
        """Counts and per-department figures of the matching items (supervisors and admins)."""
        policy.require(
            policy.can_supervise(principal) or policy.can_administer(principal), "supervisor_only",
            "the dashboard is for supervisors",
        )
        today = self.service.today()
        async with self.service.db.connect() as conn:
            counts, units = await queries.summary(conn, f, today)
        names = await self.unit_names()
        order = list(names)
        units.sort(key=lambda u: order.index(u.unit_id) if u.unit_id in names else len(order))
        return Dashboard(counts, units, names)

    async def decided_meetings(self, principal: Principal, limit: int = 300) -> list[dict[str, Any]]:
        """The meetings with items, for the dashboard's meeting filter: id, title and the day it last decided
        (in the city's time zone), the most recent first (supervisors and admins)."""
        policy.require(
            policy.can_supervise(principal) or policy.can_administer(principal), "supervisor_only",
            "the dashboard is for supervisors",
        )
        async with self.service.db.connect() as conn:
            found = await queries.decided_meetings(conn, limit)
        return [{"id": mid, "title": title, "day": local_time(last, self.service.tz, "%Y-%m-%d")}
                for mid, title, last in found]

    async def items(
        self, principal: Principal, f: ItemFilter, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[Item], int]:
        """A page of the items the principal may see that match the filter, with the total."""
        f = await self.scope(principal, f)
        async with self.service.db.connect() as conn:
            return await queries.list_items(conn, f, self.service.today(), limit=limit, offset=offset)

    async def items_by_id(self, principal: Principal, ids: list[str]) -> list[Item]:
        """Items named by id, in that order (supervisors and admins: the appraisal's drill-down)."""
        policy.require(policy.can_supervise(principal) or policy.can_administer(principal), "supervisor_only",
                       "the items behind the figures are for supervisors")
        async with self.service.db.connect() as conn:
            found = {i.id: i for i in await store.get_items(conn, ids, self.service.today())}
        return [found[i] for i in ids if i in found]

    async def appraisal(self, principal: Principal, period_text: str, trend: int = 6) -> dict[str, Any]:
        """The departments' appraisal for a period: figures, score, rank, the change against the period before,
        and the scores of the last `trend` periods of the same kind (supervisors, admins, chairs)."""
        policy.require(policy.can_read_appraisal(principal), "appraisal_forbidden",
                       "the appraisal is for supervisors and city leaders")
        period = Period.parse(period_text)
        today = self.service.today()
        if period.start > today:
            raise BadRequest("period_in_future", f"the period {period.label} has not begun", field="period")
        weights = parse_weights(self.service.settings.appraisal_weights)
        periods = [period]
        while len(periods) < max(2, trend):
            periods.append(periods[-1].previous())
        async with self.service.db.connect() as conn:
            replayed = [await appraisal_figures(conn, p, self.service.tz, today) for p in periods]
        names = await self.unit_names()
        order = list(names)
        now, before = ranked(replayed[0], weights, order), ranked(replayed[1], weights, order)
        earlier = {u.unit_id: (rank, u.score(weights)) for rank, u in before}
        units = []
        for rank, unit in now:
            score = unit.score(weights)
            prior = earlier.get(unit.unit_id)
            units.append({
                "unit_id": unit.unit_id, "unit_name": names.get(unit.unit_id, unit.unit_id), "rank": rank,
                "score": score, **unit.counts, "avg_days_to_close": unit.avg_days_to_close,
                "items": {name: list(dict.fromkeys(ids)) for name, ids in unit.items.items()},
                "previous": None if prior is None else {"rank": prior[0], "score": prior[1]},
                "change": None if prior is None else {"rank": prior[0] - rank, "score": round(score - prior[1], 2)},
                "trend": [{"period": p.label, "score": figs[unit.unit_id].score(weights) if unit.unit_id in figs
                           else None} for p, figs in reversed(list(zip(periods, replayed, strict=True)))],
            })
        complete = period.end <= today
        return {"period": period.label, "start": period.start.isoformat(), "end": period.end.isoformat(),
                "complete": complete, "as_of": (period.end if complete else today).isoformat(),
                "previous": periods[1].label, "weights": weights, "units": units}

    async def export(self, principal: Principal, f: ItemFilter) -> list[Sheet]:
        """The matching items as a report: a first sheet of per-department figures, then the items, with Chinese
        headers and values, meeting titles, the items' numbers, and times in the city (for CSV: the items)."""
        found, _ = await self.items(principal, f, limit=EXPORT_LIMIT)
        names = await self.unit_names()
        people = await self.service.directory.people(sorted({i.responsible_id for i in found}))
        async with self.service.db.connect() as conn:
            meetings = await queries.meeting_titles(conn, sorted({i.meeting_id for i in found}))
        tz = self.service.tz

        def local(moment: datetime | None) -> datetime | None:
            # Excel has no time zones: the city's wall clock, to the minute
            return moment.astimezone(tz).replace(second=0, microsecond=0, tzinfo=None) if moment else None

        rows = [{
            "number": item.number, "title": item.title, "meeting": meetings.get(item.meeting_id, item.meeting_id),
            "lead_unit": names.get(item.lead_unit_id, item.lead_unit_id),
            "coop_units": "、".join(names.get(u, u) for u in item.coop_unit_ids),
            "responsible": people[item.responsible_id].name if item.responsible_id in people
            else item.responsible_id,
            "priority": PRIORITY_ZH[item.priority], "status": STATUS_ZH[item.status], "percent": item.percent / 100,
            "due_date": item.due_date, "overdue": item.overdue, "created_at": local(item.created_at),
            "closed_at": local(item.closed_at), "on_time": item.on_time,
            "days_to_close": None if item.days_to_close is None else round(item.days_to_close, 1), "id": item.id,
        } for item in found]
        return [
            Sheet("部门汇总", SUMMARY_COLUMNS, _unit_figures(found, names)),
            Sheet("督办事项", ITEM_COLUMNS, rows, marked=lambda row: bool(row["overdue"])),
        ]


def _unit_figures(found: list[Item], names: dict[str, str]) -> list[dict[str, Any]]:
    """Per lead department: items, open, overdue, closed, closed on time, the on-time rate, days to close."""
    by_unit: dict[str, list[Item]] = {}
    for item in found:
        by_unit.setdefault(item.lead_unit_id, []).append(item)
    order = list(names)
    figures = []
    for unit_id in sorted(by_unit, key=lambda u: order.index(u) if u in order else len(order)):
        led = by_unit[unit_id]
        closed = [i for i in led if i.status == Status.CLOSED]
        on_time = [i for i in closed if i.on_time]
        days = [i.days_to_close for i in closed if i.days_to_close is not None]
        figures.append({
            "unit": names.get(unit_id, unit_id), "total": len(led), "open": sum(i.is_open for i in led),
            "overdue": sum(i.overdue for i in led), "closed": len(closed), "closed_on_time": len(on_time),
            "on_time_rate": len(on_time) / len(closed) if closed else None,
            "avg_days": round(sum(days) / len(days), 1) if days else None,
        })
    return figures


def bar_chart(units: list[dict[str, Any]], *, title: str, no_data: str) -> str:
    """A horizontal bar chart of on-time completion rate per department, as an SVG document."""
    # Drawn at the size a phone shows it (about 360 px wide), so its text stays at least 13 px there; a desk
    # shows it larger, up to the panel's max-width (supervision.css).
    row_h, label_w, bar_w, pad, font = 30, 150, 150, 8, 15
    height = pad * 2 + 24 + row_h * max(1, len(units))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {label_w + bar_w + 56} '
        f'{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{pad}" y="{pad + 16}" font-size="{font + 1}" font-weight="600" fill="#1d2733">'
        f'{escape(title)}</text>',
    ]
    if not units:
        parts.append(f'<text x="{pad}" y="{pad + 24 + 18}" font-size="{font}" fill="#5b6776">{escape(no_data)}</text>')
    for index, unit in enumerate(units):
        y = pad + 24 + index * row_h
        rate = unit["on_time_rate"]
        width = 0 if rate is None else round(bar_w * rate)
        colour = "#5b6776" if rate is None else ("#1b7f3b" if rate >= 0.8 else "#b26a00" if rate >= 0.5 else "#b3261e")
        label = "—" if rate is None else f"{rate * 100:.0f}%"
        full = unit["unit_name"]
        name = escape(full if len(full) <= 9 else full[:8] + "…")
        parts.append(
            f'<g class="bar" data-unit="{escape(unit["unit_id"])}"><title>{escape(full)} {label}</title>'
            f'<text x="{label_w - 6}" y="{y + 20}" font-size="{font}" text-anchor="end" fill="#1d2733">{name}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="{row_h - 10}" fill="#eef2f7"/>'
            f'<rect x="{label_w}" y="{y + 5}" width="{width}" height="{row_h - 10}" fill="{colour}"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 20}" font-size="{font}" fill="#1d2733">{label}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(trend: list[dict[str, Any]], *, label: str) -> str:
    """A department's scores over the last periods as a small SVG line (no score: a gap), the last one marked."""
    width, height, pad = 120, 32, 4
    scores = [t["score"] for t in trend if t["score"] is not None]
    if not scores:
        return ""
    low, high = min(scores), max(scores)
    span = high - low
    step = (width - 2 * pad) / max(1, len(trend) - 1)
    points = []
    for index, entry in enumerate(trend):
        if entry["score"] is not None:
            # level scores sit mid-height; otherwise the lowest at the bottom, the highest at the top
            y = height / 2 if not span else height - pad - (entry["score"] - low) / span * (height - 2 * pad)
            points.append((pad + index * step, y, entry))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
    last_x, last_y, last = points[-1]
    tips = "; ".join(f"{e['period']} {e['score']:g}" for _, _, e in points)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(label)}: {escape(tips)}"><title>{escape(tips)}</title>'
            f'<polyline points="{path}" fill="none" stroke="#1f4e8c" stroke-width="2"/>'
            f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3" fill="#1f4e8c"><title>{escape(last["period"])} '
            f'{last["score"]:g}</title></circle></svg>')


APPRAISAL_COLUMNS = {
    "rank": Column("名次", 7), "unit_name": Column("牵头单位", 22), "score": Column("得分", 9, "0.0"),
    "change": Column("较上期", 9, "+0.0;-0.0;0"), "assigned": Column("交办", 8),
    "closed_on_time": Column("按时办结", 10),
    "closed_late": Column("逾期办结", 10), "overdue": Column("期末逾期", 10), "returned": Column("退回重办", 10),
    "extensions_requested": Column("申请延期", 10), "extensions_granted": Column("批准延期", 10),
    "avg_days_to_close": Column("平均办结天数", 14, "0.0"),
}


def appraisal_sheet(report: dict[str, Any]) -> Sheet:
    """The appraisal as a sheet (one row per department, best first)."""
    rows = [{**unit, "change": unit["change"]["score"] if unit["change"] else None} for unit in report["units"]]
    return Sheet(f"督查考核 {report['period']}", APPRAISAL_COLUMNS, rows)

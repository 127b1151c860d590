"""What supervisors read: filtered lists, counts, per-department figures, a bar chart, CSV and .xlsx exports."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from xml.sax.saxutils import escape

from hub.auth import policy
from hub.auth.principal import Principal
from hub.clock import local_time
from hub.errors import Forbidden
from hub.supervision import queries
from hub.supervision.model import Item, ItemFilter, UnitStats
from hub.supervision.service import SupervisionService

EXPORT_LIMIT = 200_000
EXPORT_COLUMNS = (
    "id", "title", "meeting_id", "lead_unit", "coop_units", "responsible", "priority", "status", "percent",
    "due_date", "overdue", "created_at", "closed_at", "on_time", "days_to_close",
)


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

    async def export_rows(self, principal: Principal, f: ItemFilter) -> list[dict[str, Any]]:
        """The matching items as rows with names in place of ids, for CSV and .xlsx."""
        found, _ = await self.items(principal, f, limit=EXPORT_LIMIT)
        names = await self.unit_names()
        people = await self.service.directory.people(sorted({i.responsible_id for i in found}))
        rows = []
        for item in found:
            record = item.to_dict()
            rows.append({
                **{k: record.get(k) for k in EXPORT_COLUMNS},
                # times as the city's clock shows them (server.timezone), to the minute
                "created_at": local_time(item.created_at, self.service.tz),
                "closed_at": local_time(item.closed_at, self.service.tz),
                "lead_unit": names.get(item.lead_unit_id, item.lead_unit_id),
                "coop_units": "、".join(names.get(u, u) for u in item.coop_unit_ids),
                "responsible": people[item.responsible_id].name if item.responsible_id in people
                else item.responsible_id,
            })
        return rows


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

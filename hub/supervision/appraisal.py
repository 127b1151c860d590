"""Department appraisal (督查考核): how each lead department carried out the decisions in a period (a month
`2026-11`, a quarter `2026-Q4` or a year `2026`), scored with the weights of `supervision.appraisal_weights`, ranked,
and set against the period before.

The figures are replayed from the audit chain up to the period's end, not read from the items as they are now: a
closed period gives the same answer however the items moved on afterwards (and the chain shows if anyone rewrote
what happened). Per department, for items it leads:

- assigned: items created in the period;
- closed_on_time / closed_late: items closed in the period, as the supervisor's close recorded it;
- overdue: items open at the period's end whose due day (as extended by then) had ended, and that were the
  department's to do (an item submitted and waiting for the supervisor's review is not overdue, as on the
  dashboard); for a period still under way, at today's start instead of its end (`as_of`);
- returned: completion reports sent back in the period; extensions_requested / extensions_granted likewise;
- avg_days_to_close: of the items closed in the period.

score = 100 + sum(weight x figure) over the weighted figures; rank 1 is the highest score (ties: more closed on
time, then the directory's order).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import BadRequest
from hub.supervision.tables import audit

FIGURES = ("assigned", "closed_on_time", "closed_late", "overdue", "returned", "extensions_requested",
           "extensions_granted")
# 2026 (a year), 2026-Q4 (a quarter) or 2026-11 (a month), years 2000 to 2100: the API documents this pattern
PERIOD_PATTERN = r"^(20[0-9]{2}|2100)(?:-(Q[1-4]|0[1-9]|1[0-2]))?$"
_PERIOD = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True)
class Period:
    """A calendar period of the city: its label and its days [start, end)."""

    label: str
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """2026 (a year), 2026-Q4 (a quarter) or 2026-11 (a month); BadRequest otherwise."""
        match = _PERIOD.match(text)
        if not match:
            raise BadRequest("invalid_period", "period: a year (2026), a quarter (2026-Q4) or a month (2026-11)",
                             field="period")
        year, part = int(match.group(1)), match.group(2)
        if part is None:
            return cls(str(year), date(year, 1, 1), date(year + 1, 1, 1))
        if part.startswith("Q"):
            first = (int(part[1]) - 1) * 3 + 1
            return cls(f"{year}-{part}", date(year, first, 1), _months_later(date(year, first, 1), 3))
        month = int(part)
        return cls(f"{year}-{month:02d}", date(year, month, 1), _months_later(date(year, month, 1), 1))

    def previous(self) -> Period:
        """The period of the same kind just before."""
        if "-Q" in self.label:
            start = _months_later(self.start, -3)
            return Period(f"{start.year}-Q{(start.month - 1) // 3 + 1}", start, self.start)
        if "-" in self.label:
            start = _months_later(self.start, -1)
            return Period(f"{start.year}-{start.month:02d}", start, self.start)
        return Period(str(self.start.year - 1), date(self.start.year - 1, 1, 1), self.start)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The period's start and end as moments (the city's midnights)."""
        return (datetime.combine(self.start, time(0), tzinfo=tz).astimezone(UTC),
                datetime.combine(self.end, time(0), tzinfo=tz).astimezone(UTC))


def _months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def parse_weights(values: tuple[str, ...]) -> dict[str, float]:
    """`figure=weight` pairs (closed_on_time=5, overdue=-5); ValueError naming a bad one."""
    weights = {}
    for pair in values:
        name, _, number = pair.partition("=")
        name = name.strip()
        if name not in FIGURES:
            raise ValueError(f"{pair!r}: {name!r} is none of {', '.join(FIGURES)}")
        try:
            weights[name] = float(number)
        except ValueError:
            raise ValueError(f"{pair!r}: the weight is not a number") from None
    return weights


@dataclass
class UnitFigures:
    unit_id: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))
    days: list[float] = field(default_factory=list)
    # the items behind each figure (the drill-down), in the order they counted
    items: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in FIGURES})

    def count(self, figure: str, item_id: str) -> None:
        self.counts[figure] += 1
        self.items[figure].append(item_id)

    @property
    def avg_days_to_close(self) -> float | None:
        return round(sum(self.days) / len(self.days), 2) if self.days else None

    def score(self, weights: dict[str, float]) -> float:
        return round(100 + sum(weight * self.counts[name] for name, weight in weights.items()), 2)


async def figures(conn: AsyncConnection, period: Period, tz: tzinfo, today: date) -> dict[str, UnitFigures]:
    """Every lead department's figures in the period, replayed from the audit chain up to its end (for a period
    under way: up to now, with what is overdue as of `today`)."""
    start, end = period.bounds(tz)
    cutoff = min(period.end, today)  # a due day before this one had ended
    rows = await conn.execute(
        sa.select(audit.c.at, audit.c.item_id, audit.c.action, audit.c.data)
        .where(audit.c.at < end, audit.c.item_id.is_not(None), audit.c.action.like("item.%"))
        .order_by(audit.c.seq)
    )
    units: dict[str, UnitFigures] = {}
    items: dict[str, dict[str, Any]] = {}  # item id -> lead unit, due day, open
    for at, item_id, action, data in rows:
        kind = action.removeprefix("item.")
        if kind == "created":
            items[item_id] = {"unit": data["lead_unit"], "due": date.fromisoformat(data["due_date"]), "open": True,
                              "waiting": False}
        state = items.get(item_id)
        if state is None:
            continue  # an item created before the chain began: nothing to replay
        unit = units.setdefault(state["unit"], UnitFigures(state["unit"]))
        within = at >= start
        if kind == "grant_extension" and "due_date" in data:
            state["due"] = date.fromisoformat(data["due_date"])
        if kind in ("close", "cancel"):
            state["open"] = False
        elif kind in ("submit", "return"):
            state["waiting"] = kind == "submit"  # the supervisor's turn, then the department's again
        if not within:
            continue
        if kind == "created":
            unit.count("assigned", item_id)
        elif kind == "close":
            unit.count("closed_on_time" if data.get("on_time") else "closed_late", item_id)
            if data.get("days_to_close") is not None:
                unit.days.append(float(data["days_to_close"]))
        elif kind in ("return", "request_extension", "grant_extension"):
            unit.count({"return": "returned", "request_extension": "extensions_requested",
                        "grant_extension": "extensions_granted"}[kind], item_id)
    for item_id, state in items.items():
        if state["open"] and not state["waiting"] and state["due"] < cutoff:
            units.setdefault(state["unit"], UnitFigures(state["unit"])).count("overdue", item_id)
    return units


def ranked(units: dict[str, UnitFigures], weights: dict[str, float], order: list[str]) -> list[tuple[int, UnitFigures]]:
    """The departments best first, with their ranks (equal scores and on-time counts share nothing: the
    directory's order breaks the tie)."""
    position = {unit_id: index for index, unit_id in enumerate(order)}
    best_first = sorted(units.values(), key=lambda u: (-u.score(weights), -u.counts["closed_on_time"],
                                                        position.get(u.unit_id, len(order)), u.unit_id))
    return list(enumerate(best_first, start=1))

"""The dashboard as a handout for a leadership meeting (PDF, through hub.pdf): what was filtered, the counts, the
per-department figures with their on-time chart, and the items, in the city's time, A4 landscape, numbered
pages. Built from the same report as the workbook (Reports.export), so the paper and the spreadsheet agree."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from hub.exports import Sheet
from hub.supervision.reports import APPRAISAL_COLUMNS, bar_chart

CSS = """
@page { size: A4 landscape; margin: 16mm 14mm 16mm 14mm;
  @bottom-center { content: "— " counter(page) " / " counter(pages) " —"; font: 9pt "Noto Sans CJK SC"; } }
html { font-family: "Noto Sans CJK SC", sans-serif; font-size: 10pt; color: #111; }
h1 { font-family: "Noto Serif CJK SC", serif; font-size: 20pt; text-align: center; margin: 0 0 4mm; }
.meta { text-align: center; color: #444; margin: 0 0 5mm; }
.counts { display: flex; gap: 4mm; margin: 0 0 5mm; }
.count { flex: 1; border: 1px solid #999; border-radius: 2mm; padding: 2mm 3mm; text-align: center; }
.count strong { display: block; font-size: 16pt; }
.count.bad strong { color: #b3261e; }
.figures { margin-bottom: 5mm; }
.figures img.chart { display: block; width: 110mm; margin: 3mm 0 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #888; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #e8eef7; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
tr.overdue td { background: #fde2e1; }
td.num { text-align: right; white-space: nowrap; }
h2 { font-size: 12pt; margin: 4mm 0 2mm; }
"""

ITEM_KEYS = ("number", "title", "meeting", "lead_unit", "responsible", "due_date", "status", "percent", "overdue")


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def handout_html(sheets: Sequence[Sheet], *, title: str, filters: Mapping[str, str], made_at: datetime) -> str:
    """The report's sheets (figures, then items) as one printable HTML document."""
    figures, items = sheets
    rows = items.rows
    counts = {"事项总数": len(rows), "在办": sum(r["status"] not in ("已办结", "已撤销") for r in rows),
              "逾期": sum(bool(r["overdue"]) for r in rows), "已办结": sum(r["status"] == "已办结" for r in rows)}
    described = "；".join(f"{name}：{value}" for name, value in filters.items()) or "全部事项"
    parts = [
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(described)} · 截至 {made_at:%Y-%m-%d %H:%M}</p><div class="counts">',
        *(f'<div class="count{" bad" if name == "逾期" and value else ""}"><span>{name}</span><strong>{value}</strong>'
          "</div>" for name, value in counts.items()),
        "</div><h2>各单位办理情况</h2><div class=\"figures\"><table><thead><tr>",
        *(f"<th>{escape(column.header)}</th>" for column in figures.columns.values()),
        "</tr></thead><tbody>",
    ]
    for row in figures.rows:
        shown = [("—" if row[key] is None else f"{row[key] * 100:.1f}%") if key == "on_time_rate" else _value(row[key])
                 for key in figures.columns]
        parts.append("<tr>" + "".join(f'<td class="{"" if key == "unit" else "num"}">{escape(text)}</td>'
                                      for key, text in zip(figures.columns, shown, strict=True)) + "</tr>")
    chart = [{"unit_id": str(i), "unit_name": str(r["unit"]), "on_time_rate": r["on_time_rate"]}
             for i, r in enumerate(figures.rows)]
    svg = bar_chart(chart, title="按时办结率", no_data="暂无已办结事项").encode()
    parts.append(f'</tbody></table><img class="chart" alt="按时办结率" src="data:image/svg+xml;base64,'
                 f'{base64.b64encode(svg).decode()}"></div>')
    parts.append("<h2>督办事项</h2><table><thead><tr>")
    parts += [f"<th>{escape(items.columns[key].header)}</th>" for key in ITEM_KEYS]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        cells = "".join(
            f'<td class="{"num" if key in ("percent", "due_date") else ""}">'
            f'{escape(f"{row[key] * 100:.0f}%" if key == "percent" else _value(row[key]))}</td>' for key in ITEM_KEYS)
        parts.append(f'<tr class="{"overdue" if row["overdue"] else ""}">{cells}</tr>')
    if not rows:
        parts.append(f'<tr><td colspan="{len(ITEM_KEYS)}">没有符合条件的事项。</td></tr>')
    parts.append("</tbody></table></body></html>")
    return "".join(parts)


def appraisal_html(report: dict[str, Any], *, made_at: datetime) -> str:
    """The appraisal as a printable table (A4 landscape), best first."""
    title = f"督查考核情况（{report['period']}）"
    last_day = date.fromisoformat(report["end"]) - timedelta(days=1)
    parts = [
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(report["start"])} 至 {last_day.isoformat()} · 较上期：'
        f'{escape(report["previous"])} · 截至 {made_at:%Y-%m-%d %H:%M}</p>',
        "<table><thead><tr>", *(f"<th>{escape(c.header)}</th>" for c in APPRAISAL_COLUMNS.values()),
        "</tr></thead><tbody>",
    ]
    for unit in report["units"]:
        change = unit["change"]
        cells = {**unit, "change": "" if change is None else f"{change['score']:+g}"}
        parts.append("<tr>" + "".join(
            f'<td class="{"" if key == "unit_name" else "num"}">{escape(_value(cells[key]))}</td>'
            for key in APPRAISAL_COLUMNS) + "</tr>")
    if not report["units"]:
        parts.append(f'<tr><td colspan="{len(APPRAISAL_COLUMNS)}">本期没有督办事项。</td></tr>')
    weights = "，".join(f"{APPRAISAL_COLUMNS[name].header} {weight:+g}" for name, weight in report["weights"].items())
    parts.append(f'</tbody></table><p class="meta">得分 = 100 + 各项 × 权重（{escape(weights)}）</p></body></html>')
    return "".join(parts)

"""Tables for spreadsheets: CSV that spreadsheet programs read right, and .xlsx workbooks a clerk can hand on.

A `Sheet` has its columns (key -> `Column`: header, width, number format) and rows (key -> value). Workbooks get
a bold, frozen header row, the column widths, real dates and times with their number formats (times are given in
the city's time zone, naive: Excel has none), and marked rows (overdue items) filled. Text is only ever text: an
.xlsx cell holding text is a string cell, never a formula, and a CSV cell that a spreadsheet would run as a
formula (one starting with = + - @, a tab or a carriage return) is neutralised with a leading apostrophe, as
OWASP's "CSV Injection" advises.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aiohttp import web
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE = "yyyy-mm-dd"
MINUTE = "yyyy-mm-dd hh:mm"
PERCENT = "0%"
MARKED_FILL = PatternFill("solid", fgColor="FDE2E1")


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 14
    number_format: str | None = None


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Mapping[str, Column]
    rows: Sequence[Mapping[str, Any]]
    # rows to fill (e.g. overdue items)
    marked: Callable[[Mapping[str, Any]], bool] | None = field(default=None, compare=False)


def sheet(title: str, rows: Sequence[Mapping[str, Any]], headers: Mapping[str, str]) -> Sheet:
    """A plain sheet: these headers, the default width, no formats."""
    return Sheet(title, {key: Column(header) for key, header in headers.items()}, rows)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _csv_cell(value: Any, column: Column) -> Any:
    value = _cell(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if column.number_format == PERCENT and isinstance(value, int | float):
        return f"{value * 100:.0f}%"
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def to_csv(table: Sheet) -> bytes:
    """UTF-8 CSV with a byte order mark, so spreadsheet programs read the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_cell(c.header, c) for c in table.columns.values()])
    for row in table.rows:
        writer.writerow([_csv_cell(row[key], column) for key, column in table.columns.items()])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """An .xlsx workbook with one worksheet per sheet, in order."""
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for table in sheets:
        ws = book.create_sheet(title=table.title[:31])
        for index, column in enumerate(table.columns.values(), start=1):
            cell = ws.cell(row=1, column=index, value=column.header)
            cell.data_type = "s"
            cell.font = bold
            cell.alignment = Alignment(vertical="center", wrap_text=True)
            ws.column_dimensions[get_column_letter(index)].width = column.width
        for number, row in enumerate(table.rows, start=2):
            marked = table.marked is not None and table.marked(row)
            for index, (key, column) in enumerate(table.columns.items(), start=1):
                value = _cell(row[key])
                cell = ws.cell(row=number, column=index, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text, even when it reads like a formula
                elif column.number_format:
                    cell.number_format = column.number_format
                if marked:
                    cell.fill = MARKED_FILL
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download(sheets: Sequence[Sheet], *, kind: str, filename: str, csv_sheet: int = -1) -> web.Response:
    """The sheets as a file to save: `kind` is "csv" (the sheet at `csv_sheet` only) or "xlsx"; `filename` has no
    extension (ASCII: the Chinese name goes in filename*)."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{kind}"'}
    if kind == "csv":
        return web.Response(body=to_csv(sheets[csv_sheet]), content_type=CSV, charset="utf-8", headers=headers)
    return web.Response(body=to_xlsx(sheets), content_type=XLSX, headers=headers)

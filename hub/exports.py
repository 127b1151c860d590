"""Tables for spreadsheets: CSV that spreadsheet programs read right, and .xlsx workbooks.

`columns` maps each row key to its header, in the order of the columns. Text is only ever text: an .xlsx cell
holding text is a string cell, never a formula, and a CSV cell that a spreadsheet would run as a formula (one
starting with = + - @, a tab or a carriage return) is neutralised with a leading apostrophe, as OWASP's "CSV
Injection" advises.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _csv_cell(value: Any) -> Any:
    value = _cell(value)
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    value = _cell(value)
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # text, even when it reads like a formula
    return cell


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> bytes:
    """UTF-8 CSV with a byte order mark, so spreadsheet programs read the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_cell(h) for h in columns.values()])
    for row in rows:
        writer.writerow([_csv_cell(row[c]) for c in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str], sheet_title: str) -> bytes:
    """An .xlsx workbook with one sheet of the rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_title[:31])
    sheet.append([_xlsx_cell(sheet, h) for h in columns.values()])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, row[c]) for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str], *, kind: str, filename: str,
             sheet_title: str) -> web.Response:
    """The rows as a file to save: `kind` is "csv" or "xlsx"; `filename` has no extension."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{kind}"'}
    if kind == "csv":
        return web.Response(body=to_csv(rows, columns), content_type=CSV, charset="utf-8", headers=headers)
    return web.Response(body=to_xlsx(rows, columns, sheet_title), content_type=XLSX, headers=headers)

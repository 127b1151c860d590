"""Exports never carry a formula: text that a spreadsheet would run stays text, in .xlsx and in CSV."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl

from hub.exports import sheet, to_csv, to_xlsx
from tests.supervision.conftest import LEAD, SUPERVISOR, SvHub, sv, sv_settings  # noqa: F401 - fixtures

FORMULAS = ["=1+1 督办", "+1+1", "-1+1", "@SUM(1,1)", "\t=1+1", "\r=1+1",
            '=HYPERLINK("http://evil.example","点击")', "=cmd|' /C calc'!A0"]


def test_text_that_reads_like_a_formula_stays_text() -> None:
    rows = [{"text": text, "n": -3} for text in FORMULAS]
    columns = {"text": "=标题", "n": "数"}
    lines = list(csv.reader(io.StringIO(to_csv(sheet("sheet", rows, columns)).decode("utf-8-sig"))))
    assert lines[0] == ["'=标题", "数"]
    assert [line[0] for line in lines[1:]] == ["'" + text for text in FORMULAS]
    assert {line[1] for line in lines[1:]} == {"-3"}  # numbers are numbers, not text to neutralise

    book = to_xlsx([sheet("sheet", rows, columns)])
    sheet_xml = zipfile.ZipFile(io.BytesIO(book)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    values = list(openpyxl.load_workbook(io.BytesIO(book)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert [row[0] for row in values[1:]] == FORMULAS and values[1][1] == -3


async def test_a_decision_text_is_exported_as_text(sv: SvHub) -> None:  # noqa: F811 - the fixture
    await sv.decide(text="=1+1 推进供热管网改造", lead_unit="pub-util", responsible=LEAD, coop_units=[])
    raw = await (await sv.client.get("/api/v1/supervision/export.csv", headers=sv.auth(SUPERVISOR))).read()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["督办事项"] for r in rows if "供热" in r["督办事项"]] == ["'=1+1 推进供热管网改造"]
    book = await (await sv.client.get("/api/v1/supervision/export.xlsx", headers=sv.auth(SUPERVISOR))).read()
    archive = zipfile.ZipFile(io.BytesIO(book))
    sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 2 and all("<f>" not in archive.read(name).decode() for name in sheets)

"""Dashboard figures, filters, the department view and the CSV/.xlsx exports for a known set of items."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pypdf
import pypdfium2

from hub import keys
from hub.supervision import queries, store
from hub.supervision.model import ItemFilter, Status
from tests.supervision.conftest import LEAD, OUTSIDER, SUPERVISOR, SvHub

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "papers"

DAY = 86400


async def known_set(sv: SvHub) -> dict[str, str]:
    """Seven items in three departments, as of Friday 6 March 09:00 (four days after they were decided)."""
    sv.meetings.add("m2", title="专题会议", minutes=None)
    ids: dict[str, str] = {}
    plan = {
        "A": ("m1", "pub-util", LEAD, 2), "B": ("m1", "pub-util", LEAD, 1), "C": ("m1", "pub-util", LEAD, 3),
        "D": ("m1", "pub-util", LEAD, 30), "E": ("m1", "finance", "finance-04", 5),
        "F": ("m1", "finance", "finance-04", 5), "G": ("m2", "housing", "housing-04", 2),
    }
    for name, (meeting, unit, person, due_in) in plan.items():
        recorded = await sv.decide(meeting, due_in=due_in, text=f"事项{name}", lead_unit=unit, responsible=person,
                                   coop_units=[])
        ids[name] = recorded["item"]["id"]

    async def ok(name: str, person: str, action: str, **body: Any) -> None:
        code, data = await sv.act(ids[name], person, action, **body)
        assert code == 200, (name, action, data)

    for name, person in (("A", LEAD), ("E", "finance-04"), ("C", LEAD)):
        await ok(name, person, "accept")
    await ok("A", LEAD, "submit", text="完成")
    await ok("E", "finance-04", "submit", text="完成")
    await ok("F", SUPERVISOR, "cancel", text="撤销")
    sv.clock.advance(2 * DAY)
    await ok("A", SUPERVISOR, "close")
    await ok("E", SUPERVISOR, "close")
    sv.clock.advance(2 * DAY)
    await ok("B", LEAD, "accept")
    await ok("B", LEAD, "submit", text="完成")
    await ok("B", SUPERVISOR, "close")
    await ok("G", "housing-04", "accept")
    await ok("G", "housing-04", "submit", text="完成")
    return ids


async def test_dashboard_figures(sv: SvHub) -> None:
    ids = await known_set(sv)
    response = await sv.client.get("/api/v1/supervision/dashboard", headers=sv.auth(SUPERVISOR))
    board = await response.json()
    counts = board["counts"]
    assert {k: counts[k] for k in ("total", "open", "overdue", "assigned", "accepted", "submitted", "closed",
                                   "cancelled")} == {
        "total": 7, "open": 3, "overdue": 1, "assigned": 1, "accepted": 1, "submitted": 1, "closed": 3,
        "cancelled": 1}
    units = {u["unit_id"]: u for u in board["units"]}
    assert units["pub-util"] == {"unit_id": "pub-util", "unit_name": "市公用事业局", "total": 4, "open": 2,
                                 "overdue": 1, "closed": 2, "closed_on_time": 1, "on_time_rate": 0.5,
                                 "avg_days_to_close": 3.0}
    assert units["finance"]["on_time_rate"] == 1.0 and units["finance"]["avg_days_to_close"] == 2.0
    assert units["housing"]["on_time_rate"] is None and units["housing"]["open"] == 1
    assert units["housing"]["overdue"] == 0  # submitted: waiting for its supervisor, not for the department

    async def listed(query: str) -> list[str]:
        response = await sv.client.get(f"/api/v1/supervision/items?{query}", headers=sv.auth(SUPERVISOR))
        assert response.status == 200
        body = await response.json()
        assert body["total"] == len(body["items"]), query
        return sorted(i["id"] for i in body["items"])

    name = {v: k for k, v in ids.items()}
    assert [name[i] for i in await listed("overdue=true")] == ["C"]
    assert sorted(name[i] for i in await listed("unit=finance")) == ["E", "F"]
    assert sorted(name[i] for i in await listed("status=closed")) == ["A", "B", "E"]
    assert [name[i] for i in await listed("meeting=m2")] == ["G"]
    assert sorted(name[i] for i in await listed("due_from=2026-03-04&due_to=2026-03-05")) == ["A", "C", "G"]
    assert len(await listed("")) == 7
    assert len(await listed("unit=pub-util&status=accepted")) == 1
    assert len(await listed("involving=housing")) == 1
    assert len(await listed("involving=housing&status=closed")) == 0
    paged = await (await sv.client.get("/api/v1/supervision/items?limit=2&offset=2",
                                       headers=sv.auth(SUPERVISOR))).json()
    assert paged["total"] == 7 and len(paged["items"]) == 2
    filtered = await sv.client.get("/api/v1/supervision/dashboard?unit=pub-util", headers=sv.auth(SUPERVISOR))
    assert (await filtered.json())["counts"]["total"] == 4
    bad = await sv.client.get("/api/v1/supervision/items?status=lost", headers=sv.auth(SUPERVISOR))
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "status"

    page = await sv.client.get("/supervision", headers={**sv.auth(SUPERVISOR), "Accept-Language": "en"})
    html = await page.text()
    assert page.status == 200
    assert 'data-count="overdue">1<' in html and 'data-count="total">7<' in html
    assert '<svg' in html and 'data-unit="pub-util"' in html and ">50%<" in html and ">100%<" in html


async def test_departments_see_their_own_items(sv: SvHub) -> None:
    ids = await known_set(sv)
    mine = await sv.client.get("/api/v1/supervision/items", headers=sv.auth(LEAD))
    assert sorted(i["id"] for i in (await mine.json())["items"]) == sorted(ids[k] for k in "ABCD")
    listed = (await mine.json())["items"]
    assert [i["due_date"] for i in listed] == sorted(i["due_date"] for i in listed)
    # An extension moves the item in its department's list (soonest due first).
    await sv.act(ids["C"], LEAD, "request_extension", text="延期", due_date="2026-06-30")
    await sv.act(ids["C"], SUPERVISOR, "grant_extension")
    again = await (await sv.client.get("/api/v1/supervision/items", headers=sv.auth(LEAD))).json()
    assert again["items"][-1]["id"] == ids["C"] and again["items"][-1]["due_date"] == "2026-06-30"
    nothing = await sv.client.get("/api/v1/supervision/items", headers=sv.auth(OUTSIDER))
    assert (await nothing.json())["total"] == 0
    other = await sv.client.get("/api/v1/supervision/items?involving=pub-util", headers=sv.auth(OUTSIDER))
    assert other.status == 403
    board = await sv.client.get("/api/v1/supervision/dashboard", headers=sv.auth(LEAD))
    assert board.status == 403

    page = await sv.client.get("/supervision/units/pub-util", headers={**sv.auth(LEAD), "Accept-Language": "en"})
    html = await page.text()
    assert page.status == 200 and "Needs your action" in html
    todo = html.split('data-test="needs-action"')[1].split("</section>")[0]
    assert "事项C" in todo and "事项D" in todo and "事项A" not in todo
    assert (await sv.client.get("/supervision/units/pub-util", headers=sv.auth(OUTSIDER))).status == 403
    redirect = await sv.client.get("/supervision", headers=sv.auth(LEAD), allow_redirects=False)
    assert redirect.status == 302 and redirect.headers["Location"] == "/supervision/units/pub-util"


async def test_csv_and_xlsx_exports(sv: SvHub) -> None:
    """The report a clerk hands on: Chinese headers and values, meeting titles and item numbers, the city's time
    to the minute, real dates; in the workbook column widths, a bold frozen header, overdue rows filled, and a
    first sheet of per-department figures."""
    ids = await known_set(sv)
    response = await sv.client.get("/api/v1/supervision/export.csv?unit=pub-util", headers=sv.auth(SUPERVISOR))
    assert response.status == 200 and response.content_type == "text/csv"
    raw = await response.read()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(r["系统编号"] for r in rows) == sorted(ids[k] for k in "ABCD")
    by_id = {r["系统编号"]: r for r in rows}
    c = by_id[ids["C"]]
    assert c["督办事项"] == "事项C" and c["牵头单位"] == "市公用事业局" and c["责任人"] == "周淑珍"
    assert c["办理状态"] == "已签收" and c["是否逾期"] == "是" and c["办结时限"] == "2026-03-05"
    assert c["来源会议"] == "市政府常务会议" and c["督办编号"] == "督办〔2026〕3号" and c["优先级"] == "重要"
    assert c["交办时间"] == "2026-03-02 09:00"  # 01:00 UTC, in the city, to the minute
    assert by_id[ids["B"]]["按时办结"] == "否" and by_id[ids["A"]]["按时办结"] == "是"
    assert by_id[ids["A"]]["进度"] == "100%"

    response = await sv.client.get("/api/v1/supervision/export.xlsx?status=closed", headers=sv.auth(SUPERVISOR))
    assert response.status == 200
    book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    assert book.sheetnames == ["部门汇总", "督办事项"]
    summary, items = book["部门汇总"], book["督办事项"]
    header = [c.value for c in items[1]]
    assert header[:4] == ["督办编号", "督办事项", "来源会议", "牵头单位"]
    assert all(c.font.bold for c in items[1]) and items.freeze_panes == "A2"
    assert items.column_dimensions["B"].width == 40
    body = [[c.value for c in row] for row in items.iter_rows(min_row=2)]
    assert sorted(row[-1] for row in body) == sorted(ids[k] for k in "ABE")
    by_id = {row[-1]: dict(zip(header, row, strict=True)) for row in body}
    a = by_id[ids["A"]]
    assert a["办结时间"] == datetime(2026, 3, 4, 9, 0) and a["办结用时（天）"] == 2.0 and a["进度"] == 1
    assert a["办结时限"] == datetime(2026, 3, 4) and a["办理状态"] == "已办结"
    row_a = next(row for row in items.iter_rows(min_row=2) if row[-1].value == ids["A"])
    assert row_a[header.index("办结时间")].number_format == "yyyy-mm-dd hh:mm"
    assert row_a[header.index("进度")].number_format == "0%"
    assert by_id[ids["B"]]["办结用时（天）"] == 4.0
    figures = {row[0]: row for row in summary.iter_rows(min_row=2, values_only=True)}
    assert [c.value for c in summary[1]][:3] == ["牵头单位", "事项数", "在办"]
    assert figures["市公用事业局"][1:7] == (2, 0, 0, 2, 1, 0.5)  # A on time, B late
    assert figures["市财政局"][1] == 1

    every = await sv.client.get("/api/v1/supervision/export.xlsx", headers=sv.auth(SUPERVISOR))
    items = openpyxl.load_workbook(io.BytesIO(await every.read()))["督办事项"]
    header = [c.value for c in items[1]]
    overdue = {row[-1].value: row[0].fill.fgColor.rgb for row in items.iter_rows(min_row=2)}
    assert overdue[ids["C"]].endswith("FDE2E1") and overdue[ids["D"]] == "00000000"

    scoped = await sv.client.get("/api/v1/supervision/export.csv", headers=sv.auth(OUTSIDER))
    assert len(list(csv.reader(io.StringIO((await scoped.read()).decode("utf-8-sig"))))) == 1


async def test_rollup_agrees_with_a_full_scan(sv: SvHub) -> None:
    await known_set(sv)
    today = sv.today()
    db = sv.app[keys.DB]
    filters = [ItemFilter(), ItemFilter(unit_id="pub-util"), ItemFilter(status=Status.CLOSED),
               ItemFilter(unit_id="finance", status=Status.CANCELLED)]

    def ordered(summary: tuple[dict[str, int], list[Any]]) -> tuple[dict[str, int], list[Any]]:
        return summary[0], sorted(summary[1], key=lambda u: u.unit_id)

    async with db.connect() as conn:
        for f in filters:
            fast = ordered(await queries._summary_from_rollup(conn, f, today))
            assert fast == ordered(await queries._summary_by_scan(conn, f, today)), f
        before = ordered(await queries._summary_from_rollup(conn, ItemFilter(), today))
    async with db.begin() as conn:
        await store.rebuild_rollup(conn)
    async with db.connect() as conn:
        assert ordered(await queries._summary_from_rollup(conn, ItemFilter(), today)) == before


async def test_the_dashboard_as_a_pdf_handout(sv: SvHub) -> None:
    ids = await known_set(sv)
    response = await sv.client.get("/api/v1/supervision/export.pdf?unit=pub-util", headers=sv.auth(SUPERVISOR))
    assert response.status == 200 and response.content_type == "application/pdf"
    pdf = await response.read()
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape
    text = "".join(p.extract_text() for p in reader.pages)
    assert "督查督办工作情况" in text and "牵头单位：市公用事业局" in text and "截至 2026-03-06 09:00" in text
    for name in "ABCD":
        assert f"事项{name}" in text
    assert "事项E" not in text and "督办〔2026〕3号" in text and "按时办结率" in text
    SHOTS.mkdir(parents=True, exist_ok=True)
    pypdfium2.PdfDocument(pdf)[0].render(scale=1.3).to_pil().save(SHOTS / "handout-1.png")
    assert ids
    refused = await sv.client.get("/api/v1/supervision/export.pdf?due_from=tomorrow", headers=sv.auth(SUPERVISOR))
    assert refused.status == 400

"""Department appraisal (督查考核): a seeded quarter against figures worked out by hand, the ranking and the
change against the quarter before, a closed quarter that stays as it was after later changes, bad periods and
people who may not see it."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pypdf
import pypdfium2
import pytest

from hub.errors import BadRequest
from hub.supervision.appraisal import Period
from tests.supervision.conftest import LEAD, OUTSIDER, SUPERVISOR, SvHub

FINANCE = "finance-04"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "papers"
DAY = 86400.0


async def appraisal(sv: SvHub, period: str, person: str = SUPERVISOR) -> dict[str, Any]:
    response = await sv.client.get("/api/v1/supervision/appraisal", params={"period": period},
                                   headers=sv.auth(person))
    assert response.status == 200, await response.text()
    return dict(await response.json())


def unit(report: dict[str, Any], unit_id: str) -> dict[str, Any]:
    return next(u for u in report["units"] if u["unit_id"] == unit_id)


async def seed_first_quarter(sv: SvHub) -> dict[str, str]:
    """From Monday 2 March 2026 (09:00 in the city): five items of two departments."""
    plan = {"A": ("pub-util", LEAD, 2), "B": ("pub-util", LEAD, 1), "C": ("pub-util", LEAD, 3),
            "D": ("finance", FINANCE, 18), "E": ("finance", FINANCE, 8)}
    ids = {}
    for name, (lead, person, due_in) in plan.items():
        decided = await sv.decide(text=f"事项{name}", lead_unit=lead, responsible=person, coop_units=[], due_in=due_in)
        ids[name] = decided["item"]["id"]

    async def ok(name: str, person: str, action: str, **body: Any) -> None:
        status, data = await sv.act(ids[name], person, action, **body)
        assert status == 200, (name, action, data)

    for name, person in (("A", LEAD), ("B", LEAD), ("C", LEAD), ("D", FINANCE), ("E", FINANCE)):
        await ok(name, person, "accept")
    await ok("A", LEAD, "submit", text="完成")       # day 0: A on time
    await ok("A", SUPERVISOR, "close")
    await ok("E", FINANCE, "submit", text="完成")    # E on time
    await ok("E", SUPERVISOR, "close")
    await ok("C", LEAD, "submit", text="完成")
    await ok("C", SUPERVISOR, "return", text="补充材料")  # C returned, open, due 5 March: overdue at the end
    await ok("D", FINANCE, "request_extension", text="需要时间",
             due_date=(sv.today() + timedelta(days=49)).isoformat())  # to 20 April: not overdue in Q1
    await ok("D", SUPERVISOR, "grant_extension")
    sv.clock.advance(3 * DAY)                         # Thursday 5 March: B was due on the 3rd
    await ok("B", LEAD, "submit", text="完成")
    await ok("B", SUPERVISOR, "close")                # B late
    return ids


async def test_a_quarter_against_figures_worked_out_by_hand(sv: SvHub) -> None:
    ids = await seed_first_quarter(sv)
    # on 5 March the quarter is under way: what is overdue is what is overdue today, and C is due today
    under_way = await appraisal(sv, "2026-Q1")
    assert (under_way["complete"], under_way["as_of"]) == (False, "2026-03-05")
    assert unit(under_way, "pub-util")["overdue"] == 0 and unit(under_way, "pub-util")["closed_late"] == 1
    # a period that has not begun has no figures
    future = await sv.client.get("/api/v1/supervision/appraisal", params={"period": "2026-Q2"},
                                 headers=sv.auth(SUPERVISOR))
    assert future.status == 400 and (await future.json())["error"]["code"] == "period_in_future"

    sv.clock.advance(41 * DAY)  # Wednesday 15 April: the first quarter is over
    q1 = await appraisal(sv, "2026-Q1")
    assert (q1["period"], q1["start"], q1["end"], q1["previous"]) == ("2026-Q1", "2026-01-01", "2026-04-01",
                                                                      "2025-Q4")
    assert (q1["complete"], q1["as_of"]) == (True, "2026-04-01")
    util, finance = unit(q1, "pub-util"), unit(q1, "finance")
    assert {k: util[k] for k in ("assigned", "closed_on_time", "closed_late", "overdue", "returned",
                                 "extensions_requested", "extensions_granted")} == {
        "assigned": 3, "closed_on_time": 1, "closed_late": 1, "overdue": 1, "returned": 1,
        "extensions_requested": 0, "extensions_granted": 0}
    assert {k: finance[k] for k in ("assigned", "closed_on_time", "closed_late", "overdue",
                                    "extensions_requested", "extensions_granted")} == {
        "assigned": 2, "closed_on_time": 1, "closed_late": 0, "overdue": 0, "extensions_requested": 1,
        "extensions_granted": 1}
    # 100 + 5 on time + 1 late - 5 overdue - 2 returned; 100 + 5 on time - 1 extension granted
    assert (util["score"], finance["score"]) == (99, 104)
    assert [(u["unit_id"], u["rank"]) for u in q1["units"]] == [("finance", 1), ("pub-util", 2)]
    assert util["previous"] is None and util["change"] is None
    assert util["avg_days_to_close"] == pytest.approx((0 + 3) / 2, abs=0.01)
    assert util["items"]["overdue"] == [ids["C"]] and util["items"]["closed_late"] == [ids["B"]]
    assert [t["period"] for t in util["trend"]][-2:] == ["2025-Q4", "2026-Q1"] and util["trend"][-1]["score"] == 99

    # April: C is submitted; waiting for the supervisor it is not overdue (as on the dashboard), though its day
    # is long past; then C is closed late, D on time; Q1 stays exactly as it was, Q2 compares with it
    for name, person in (("C", LEAD), ("D", FINANCE)):
        assert (await sv.act(ids[name], person, "submit", text="完成"))[0] == 200
    assert unit(await appraisal(sv, "2026-Q2"), "pub-util")["overdue"] == 0
    assert await appraisal(sv, "2026-Q1") == q1
    for name in ("C", "D"):
        assert (await sv.act(ids[name], SUPERVISOR, "close"))[0] == 200
    assert await appraisal(sv, "2026-Q1") == q1
    q2 = await appraisal(sv, "2026-Q2")
    util2, finance2 = unit(q2, "pub-util"), unit(q2, "finance")
    assert (util2["closed_late"], util2["assigned"], util2["overdue"], util2["score"]) == (1, 0, 0, 101)
    assert (finance2["closed_late"], finance2["closed_on_time"], finance2["score"]) == (0, 1, 105)
    assert util2["previous"] == {"rank": 2, "score": 99} and util2["change"] == {"rank": 0, "score": 2}
    month = await appraisal(sv, "2026-03")
    assert unit(month, "pub-util")["assigned"] == 3 and month["previous"] == "2026-02"
    assert (await appraisal(sv, "2026"))["previous"] == "2025"


async def test_bad_periods_and_who_may_see_it(sv: SvHub) -> None:
    for bad in ("2026-Q5", "2026-13", "26", "2026-1", "Q4", "", "1999", "2026-Q4x"):
        response = await sv.client.get("/api/v1/supervision/appraisal", params={"period": bad},
                                       headers=sv.auth(SUPERVISOR))
        assert response.status == 400, bad
        assert (await response.json())["error"]["code"] in ("invalid_period", "invalid_parameter"), bad
    for person in (LEAD, "police-04", "shinan-office-term"):
        response = await sv.client.get("/api/v1/supervision/appraisal?period=2026", headers=sv.auth(person))
        assert response.status == 403, person
    for leader in ("p-xie", OUTSIDER):  # leaders who chair meetings (谢继成, the education bureau's head)
        response = await sv.client.get("/api/v1/supervision/appraisal?period=2026", headers=sv.auth(leader))
        assert response.status == 200, leader


def test_periods() -> None:
    assert Period.parse("2026-Q1").previous() == Period("2025-Q4", datetime(2025, 10, 1).date(),
                                                        datetime(2026, 1, 1).date())
    assert Period.parse("2026-01").previous().label == "2025-12"
    with pytest.raises(BadRequest):
        Period.parse("2026-00")
    start, end = Period.parse("2026-03").bounds(UTC)
    assert (start.day, end.month) == (1, 4)


async def test_the_appraisal_page_and_its_exports(sv: SvHub) -> None:
    await seed_first_quarter(sv)
    under_way = await (await sv.client.get("/supervision/appraisal?period=2026-Q1",
                                           headers={**sv.auth(SUPERVISOR), "Accept-Language": "zh-CN"})).text()
    assert 'data-test="as-of"' in under_way and "2026年3月5日" in under_way  # a quarter under way says so
    sv.clock.advance(41 * DAY)  # the quarter is over
    page = await sv.client.get("/supervision/appraisal?period=2026-Q1",
                               headers={**sv.auth(SUPERVISOR), "Accept-Language": "zh-CN"})
    html = await page.text()
    assert page.status == 200 and "督查考核" in html
    table = html.split('data-test="appraisal"')[1].split("</table>")[0]
    assert table.index('data-unit="finance"') < table.index('data-unit="pub-util"')  # ranked
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="trend"' in table
    drill = 'href="/supervision/appraisal/items?period=2026-Q1&amp;unit=pub-util&amp;figure=overdue"'
    assert drill in table  # drill-down to the items behind the figure
    behind = await (await sv.client.get("/supervision/appraisal/items?period=2026-Q1&unit=pub-util&figure=overdue",
                                         headers=sv.auth(SUPERVISOR))).text()
    listed = behind.split('data-test="item-list"')[1].split("</table>")[0]
    assert "事项C" in listed and "事项A" not in listed and "事项B" not in listed
    late = await (await sv.client.get("/supervision/appraisal/items?period=2026-Q1&unit=pub-util&figure=closed_late",
                                      headers=sv.auth(SUPERVISOR))).text()
    assert "事项B" in late.split('data-test="item-list"')[1] and "事项A" not in late.split('data-test="item-list"')[1]
    bad = await sv.client.get("/supervision/appraisal/items?period=2026-Q1&unit=pub-util&figure=x",
                              headers=sv.auth(SUPERVISOR))
    assert bad.status == 400
    assert "<strong>104</strong>" in table and "<strong>99</strong>" in table
    # a bad period falls back to this quarter; a leader sees numbers without the supervisors' drill-down
    assert (await sv.client.get("/supervision/appraisal?period=x", headers=sv.auth(SUPERVISOR))).status == 200
    leader = await (await sv.client.get("/supervision/appraisal?period=2026-Q1", headers=sv.auth("p-xie"))).text()
    assert "figure=overdue" not in leader and "<strong>99</strong>" in leader
    drilled = await sv.client.get("/supervision/appraisal/items?period=2026-Q1&unit=pub-util&figure=overdue",
                                  headers=sv.auth("p-xie"))
    assert drilled.status == 403
    assert (await sv.client.get("/supervision/appraisal", headers=sv.auth(LEAD))).status == 403

    book = await sv.client.get("/api/v1/supervision/appraisal.xlsx?period=2026-Q1", headers=sv.auth(SUPERVISOR))
    sheet = openpyxl.load_workbook(io.BytesIO(await book.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("名次", "牵头单位", "得分", "较上期") and sheet.freeze_panes == "A2"
    assert rows[1][:3] == (1, "市财政局", 104) and rows[2][:3] == (2, "市公用事业局", 99)
    pdf = await sv.client.get("/api/v1/supervision/appraisal.pdf?period=2026-Q1", headers=sv.auth(SUPERVISOR))
    body = await pdf.read()
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages)
    assert "督查考核情况（2026-Q1）" in text and "市财政局" in text and "104" in text
    SHOTS.mkdir(parents=True, exist_ok=True)
    pypdfium2.PdfDocument(body)[0].render(scale=1.3).to_pil().save(SHOTS / "appraisal-1.png")

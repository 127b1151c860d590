"""Every item carries the number people cite, as official papers do: 督办〔2026〕1号, 2号, … counted per year of
creation in the city's time zone; shown on its page, in the lists and in the minutes' decision line."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.supervision.conftest import LEAD, SUPERVISOR, SvHub


async def test_numbers_count_per_year_in_the_city(sv: SvHub) -> None:
    first = (await sv.decide())["item"]
    second = (await sv.decide(text="第二项决定"))["item"]
    assert (first["number"], second["number"]) == ("督办〔2026〕1号", "督办〔2026〕2号")
    # 2026-12-31 16:30 UTC is already 2027-01-01 in Shanghai: the new year counts from 1
    sv.clock.advance((datetime(2026, 12, 31, 16, 30, tzinfo=UTC) - sv.clock.now()).total_seconds())
    third = (await sv.decide(text="新年第一项", due_in=30))["item"]
    assert third["number"] == "督办〔2027〕1号"

    page = await sv.client.get(f"/supervision/items/{second['id']}", headers=sv.auth(LEAD))
    assert '<p class="sv-number" data-test="item-number">督办〔2026〕2号</p>' in await page.text()
    board = await (await sv.client.get("/supervision", headers=sv.auth(SUPERVISOR))).text()
    assert board.count('data-test="item-number"') == 3
    lines = sv.minutes.sections["doc-minutes-1"]
    assert "督办编号：督办〔2026〕1号" in lines[2] and "督办编号：督办〔2027〕1号" in lines[6]
    got = await sv.client.get(f"/api/v1/supervision/items/{third['id']}", headers=sv.auth(LEAD))
    assert (await got.json())["item"]["number"] == "督办〔2027〕1号"

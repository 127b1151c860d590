"""One search: people and units by pinyin, meetings, documents and items by title, each only where the searcher
may see it; the page and the API agree; bad input is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Hub
from tests.meetings.conftest import create_meeting
from tests.meetings.test_meeting_pages import signed_in


async def search(hub: Hub, person: str, q: str) -> dict[str, Any]:
    response = await hub.client.get("/api/v1/search", params={"q": q}, headers=hub.auth(person))
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_each_section_holds_what_the_searcher_may_see(hub: Hub) -> None:
    meeting = await create_meeting(hub, title="排水防涝调度会", invited_units=["pub-util"])
    due = (datetime.now(UTC) + timedelta(days=9)).date().isoformat()
    decided = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/decisions", headers=hub.auth("p-xie"), json={
        "text": "排水管网年底前改造完成", "lead_unit": "pub-util", "responsible": "pub-util-04", "due_date": due})
    assert decided.status == 201
    doc = await hub.client.post("/api/v1/docs", json={"title": "排水工作汇报"}, headers=hub.auth("pub-util-04"))
    assert doc.status == 201

    mine = await search(hub, "pub-util-04", "排水")
    assert [m["title"] for m in mine["meetings"]] == ["排水防涝调度会"]
    assert "排水工作汇报" in [d["title"] for d in mine["documents"]]
    assert [i["title"] for i in mine["items"]] == ["排水管网年底前改造完成"]
    assert all(hit["url"].startswith("/") for section in mine.values() for hit in section)

    # an outsider finds none of it (not invited, not their unit's document or item)
    theirs = await search(hub, "police-04", "排水")
    assert theirs["meetings"] == [] and theirs["documents"] == [] and theirs["items"] == []

    people = await search(hub, "police-04", "xjc")
    assert people["people"][0]["name"] == "谢继成" and people["people"][0]["call"] == "/phone?dial=person:p-xie"
    units = await search(hub, "police-04", "sgy")
    assert units["units"][0]["name"] == "市公用事业局" and units["units"][0]["call"] == "/phone?dial=unit:pub-util"
    # one does not find oneself to call
    assert all(p["id"] != "p-xie" for p in (await search(hub, "p-xie", "xjc"))["people"])


async def test_bad_searches_are_refused_and_the_page_shows_hits(hub: Hub) -> None:
    for params in ({"q": ""}, {"q": "x" * 101}, {}):
        refused = await hub.client.get("/api/v1/search", params=params, headers=hub.auth("edu-02"))
        assert refused.status == 400, params
    assert (await hub.client.get("/api/v1/search?q=a")).status == 401
    weird = await search(hub, "edu-02", "%_\\\t\u200b")
    assert all(section == [] for section in weird.values())

    await signed_in(hub, "edu-02")
    page = await (await hub.client.get("/search", params={"q": "xjc"}, headers={"Accept-Language": "zh-CN"})).text()
    assert 'data-test="search-people"' in page and "谢继成" in page and 'data-test="search-call-p-xie"' in page
    assert 'value="xjc"' in page  # the navigation's box keeps what was searched
    empty = await (await hub.client.get("/search", params={"q": "没有这样的东西"})).text()
    assert 'data-test="search-none"' in empty
    assert (await hub.client.get("/search")).status == 200

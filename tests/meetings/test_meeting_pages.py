"""The meetings pages over HTTP: the list, the create form (good and bad input), the meeting page's data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from hub import keys
from tests.conftest import Hub
from tests.meetings.conftest import create_meeting


async def signed_in(hub: Hub, person: str) -> None:
    response = await hub.client.post("/api/v1/auth/session", json={"token": hub.token(person)})
    assert response.status == 200


async def test_the_form_schedules_a_meeting_and_the_list_shows_it(hub: Hub) -> None:
    await signed_in(hub, "p-xie")
    form = {"title": "河道整治协调会", "date": "2031-05-06", "start": "09:30", "duration": "90", "chair": "p-xie",
            "secretary": "pub-util-03", "units": "pub-util", "people": "edu-02", "lobby": "on", "description": "",
            "main_unit": "gov-office"}
    response = await hub.client.post("/meetings", data=form, allow_redirects=False)
    assert response.status == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/meetings/[0-9a-f]{16}", location)
    meeting = await (await hub.client.get("/api/v1" + location)).json()
    assert meeting["starts_at"] == "2031-05-06T01:30:00+00:00"  # 09:30 in Beijing
    assert meeting["ends_at"] == "2031-05-06T03:00:00+00:00"
    assert meeting["invited_people"] == ["edu-02"] and meeting["secretary"] == "pub-util-03"
    assert meeting["main_unit"] == "gov-office" and meeting["invited_units"] == ["gov-office", "pub-util"]
    assert "主会场 <span data-test=\"main-unit\">市政府办公厅</span>" in await (await hub.client.get(location)).text()
    page = await (await hub.client.get("/meetings")).text()
    assert "河道整治协调会" in page and "2031-05-06 09:30" in page


async def test_a_bad_form_is_shown_again_with_the_reason(hub: Hub) -> None:
    await signed_in(hub, "p-xie")
    form = {"title": "没有结束", "date": "2031-05-06", "start": "09:30", "duration": "2", "chair": "p-xie"}
    response = await hub.client.post("/meetings", data=form)
    assert response.status == 400
    text = await response.text()
    assert 'data-test="form-error"' in text and 'value="没有结束"' in text
    form = {"title": "x", "date": "not a date", "start": "09:30", "duration": "60", "chair": "nobody"}
    assert (await hub.client.post("/meetings", data=form)).status == 400


async def test_the_meeting_page_carries_its_data_and_strings(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    await signed_in(hub, "pub-util-04")
    response = await hub.client.get(f"/meetings/{meeting['id']}")
    assert response.status == 200
    html = await response.text()
    data = json.loads(re.search(r'<script type="application/json" id="meeting-data">(.*?)</script>', html, re.S)[1])
    assert data["meeting"]["id"] == meeting["id"] and data["me"]["person_id"] == "pub-util-04"
    assert data["strings"]["Join"] == "加入会议"
    assert 'data-test="join"' in html and "dist/meeting.js" in html
    assert "<script>" not in html  # strict CSP: no inline code
    missing = await hub.client.get("/meetings/doesnotexist")
    assert missing.status == 404


async def test_pages_need_a_session(hub: Hub) -> None:
    response = await hub.client.get("/meetings", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"].startswith("/login")


async def test_the_attendance_page_lists_who_came_and_who_did_not(hub: Hub) -> None:
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office"], main_unit="gov-office")
    await signed_in(hub, "p-xie")
    path = f"/meetings/{meeting['id']}"
    assert f'href="{path}/attendance"' in await (await hub.client.get(path)).text()
    response = await hub.client.get(f"{path}/attendance")
    assert response.status == 200
    html = await response.text()
    assert "尚无人入会" in html and "市南区政府办公室" in html and "主会场 市政府办公厅" in html
    assert f"/api/v1/meetings/{meeting['id']}/attendance?format=xlsx" in html
    # a participant sees neither the link nor the page
    await signed_in(hub, "pub-util-04")
    assert "/attendance" not in await (await hub.client.get(path)).text()
    assert (await hub.client.get(f"{path}/attendance")).status == 403


async def test_a_meeting_that_was_never_held_is_past_and_says_so(hub: Hub) -> None:
    start = datetime.now(UTC) - timedelta(hours=5)
    await create_meeting(hub, title="没开成的会", starts_at=start.isoformat(),
                         ends_at=(start + timedelta(hours=1)).isoformat())
    await signed_in(hub, "p-xie")
    page = await (await hub.client.get("/meetings", headers={"Accept-Language": "zh-CN"})).text()
    upcoming, past = page.split('data-test="upcoming"')[1].split('data-test="past"')
    assert "没开成的会" not in upcoming and "没开成的会" in past
    assert '<span class="badge" data-test="past-badge">未召开</span>' in past


async def test_the_meeting_page_changes_reschedules_and_cancels_it(hub: Hub) -> None:
    meeting = await create_meeting(hub, title="供水调度会", invited_people=["edu-02"])
    path = f"/meetings/{meeting['id']}"
    await signed_in(hub, "p-xie")
    page = await (await hub.client.get(path)).text()
    assert 'data-test="manage"' in page and 'value="供水调度会"' in page
    form = {"title": "供水调度会（改期）", "date": "2031-05-07", "start": "14:00", "duration": "45", "chair": "p-xie",
            "secretary": "", "units": "pub-util", "people": "edu-02", "main_unit": "", "description": "一、议题"}
    saved = await hub.client.post(f"{path}/edit", data=form, allow_redirects=False)
    assert saved.status == 303 and saved.headers["Location"] == f"{path}?done=saved"
    changed = await (await hub.client.get(f"/api/v1{path}")).json()
    assert (changed["title"], changed["starts_at"], changed["ends_at"]) == (
        "供水调度会（改期）", "2031-05-07T06:00:00+00:00", "2031-05-07T06:45:00+00:00")
    assert changed["lobby"] is False  # the box was not ticked
    assert 'data-test="saved"' in await (await hub.client.get(f"{path}?done=saved")).text()
    told = await (await hub.client.get("/api/v1/notifications", headers=hub.auth("edu-02"))).json()
    assert [n["kind"] for n in told["items"]] == ["changed", "invited"]

    # a bad change: the page again with the reason and what was typed, nothing changed
    bad = await hub.client.post(f"{path}/edit", data={**form, "duration": "2", "title": "不该保存"})
    assert bad.status == 400
    text = await bad.text()
    assert 'data-test="form-error"' in text and 'value="不该保存"' in text and "<details class=\"panel manage\"" in text
    assert (await (await hub.client.get(f"/api/v1{path}")).json())["title"] == "供水调度会（改期）"

    cancelled = await hub.client.post(f"{path}/cancel", allow_redirects=False)
    assert cancelled.status == 303
    record = await (await hub.client.get(path)).text()
    assert 'data-status="cancelled"' in record and 'data-test="manage"' not in record
    again = await hub.client.post(f"{path}/cancel")
    assert again.status == 409 and "form-error" in await again.text()


async def test_only_those_who_may_see_the_management_and_use_it(hub: Hub) -> None:
    meeting = await create_meeting(hub, invited_people=["edu-02"])
    path = f"/meetings/{meeting['id']}"
    await signed_in(hub, "edu-02")
    assert 'data-test="manage"' not in await (await hub.client.get(path)).text()
    refused = await hub.client.post(f"{path}/edit", data={"title": "x", "date": "2031-05-07", "start": "14:00",
                                                         "duration": "45", "chair": "edu-02"})
    assert refused.status == 403
    assert (await hub.client.post(f"{path}/cancel")).status == 403
    assert (await hub.client.post("/meetings/nosuchmeeting/cancel")).status == 404
    assert (await (await hub.client.get(f"/api/v1{path}")).json())["status"] == "scheduled"


async def test_the_record_page_closes_the_meeting_for_edits(hub: Hub) -> None:
    meeting = await create_meeting(hub, secretary="pub-util-03")
    meetings = hub.app[keys.MEETINGS]
    await meetings.mark_live(meeting["id"])
    await meetings.end(await hub.app[keys.AUTH].authenticate(hub.token("p-xie")), meeting["id"])
    path = f"/meetings/{meeting['id']}"
    await signed_in(hub, "pub-util-04")
    assert 'data-test="close-form"' not in await (await hub.client.get(path)).text()
    assert (await hub.client.post(f"{path}/close")).status == 403
    await signed_in(hub, "pub-util-03")
    assert 'data-test="close-form"' in await (await hub.client.get(path)).text()
    closed = await hub.client.post(f"{path}/close", allow_redirects=False)
    assert closed.status == 303
    record = await (await hub.client.get(path)).text()
    assert 'data-test="record-final"' in record and 'data-test="close-form"' not in record

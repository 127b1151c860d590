"""The conference's paperwork and its main venue: attendance (签到) recorded, reported and exported; the main
venue (主会场) set when the meeting is scheduled or by the chair, and forwarded to everybody."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from hub import keys
from hub.meetings.store import meetings as meetings_table
from tests.conftest import Hub
from tests.meetings.conftest import create_meeting
from tests.meetings.test_meeting_signaling import until

VENUE = "shinan-office-term"  # 市南区政府办公室视频终端
OTHER_VENUE = "shibei-office-term"  # 市北区政府办公室视频终端


async def attendance(hub: Hub, meeting_id: str, *, by: str = "p-xie", fmt: str | None = None) -> Any:
    query = f"?format={fmt}" if fmt else ""
    return await hub.client.get(f"/api/v1/meetings/{meeting_id}/attendance{query}", headers=hub.auth(by))


async def patch(hub: Hub, meeting_id: str, by: str = "p-xie", **fields: Any) -> Any:
    return await hub.client.patch(f"/api/v1/meetings/{meeting_id}", json=fields, headers=hub.auth(by))


async def test_attendance_records_every_stay_and_the_absent(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office", "shibei-office"],
                                   invited_people=["gov-office-01"])
    chair, member, venue = [await signaling(p) for p in ("p-xie", "pub-util-04", VENUE)]
    for client in (chair, member, venue):
        await client.request("meeting.join", meeting_id=meeting["id"])
    await member.request("meeting.leave", meeting_id=meeting["id"])
    await until(chair, "participant.left", "pub-util-04")
    await member.request("meeting.join", meeting_id=meeting["id"])  # back again: a second stay

    response = await attendance(hub, meeting["id"])
    assert response.status == 200, await response.text()
    report = await response.json()
    people = {a["person_id"]: a for a in report["attendees"]}
    assert set(people) == {"p-xie", "pub-util-04", VENUE}
    assert people["pub-util-04"]["stays"] == 2 and people["pub-util-04"]["present"] is True
    assert people[VENUE]["venue"] is True and people[VENUE]["org_unit_name"] == "市南区政府办公室"
    assert people["p-xie"]["venue"] is False and people["p-xie"]["last_left_at"] is None
    left = [s for s in report["stays"] if s["person_id"] == "pub-util-04" and s["left_at"] is not None]
    assert len(left) == 1 and left[0]["left_reason"] == "left"
    # nobody came for 市北区 nor the invited 市政府办公厅 official
    assert [u["id"] for u in report["absent_units"]] == ["shibei-office"]
    assert [p["id"] for p in report["absent_people"]] == ["gov-office-01"]
    assert report["summary"] == {"people_present": 3, "venues_present": 1, "units_invited": 3, "units_present": 2}

    # the meeting ends: every stay is closed, the report says nobody is in any more
    assert (await hub.client.post(f"/api/v1/meetings/{meeting['id']}/cancel", headers=hub.auth("p-xie"))).status == 200
    report = await (await attendance(hub, meeting["id"])).json()
    assert all(s["left_at"] is not None for s in report["stays"])
    assert all(a["present"] is False for a in report["attendees"])
    assert {s["left_reason"] for s in report["stays"] if s["person_id"] == VENUE} == {"ended"}


async def test_the_sign_in_sheet_exports_as_csv_and_xlsx_with_chinese_headers(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office", "shibei-office"])
    for person in ("p-xie", VENUE):
        await (await signaling(person)).request("meeting.join", meeting_id=meeting["id"])

    response = await attendance(hub, meeting["id"], fmt="csv")
    assert response.status == 200 and response.content_type == "text/csv"
    assert 'filename="attendance-' in response.headers["Content-Disposition"]
    body = (await response.read()).decode("utf-8")
    assert body.startswith("\ufeff")  # spreadsheet programs read the Chinese right
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["状态", "姓名", "单位", "会场", "首次入会时间", "最后离会时间", "在会时长（分钟）", "入会次数"]
    by_unit = {row[2]: row for row in rows[1:]}
    assert by_unit["市南区政府办公室"][0] == "出席" and by_unit["市南区政府办公室"][3] == "市南区政府办公室"
    assert by_unit["市北区政府办公室"][0] == "缺席"

    response = await attendance(hub, meeting["id"], fmt="xlsx")
    assert response.status == 200 and response.content_type.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(await response.read())).active
    assert sheet is not None and sheet.title == "签到表"
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][:3] == ["状态", "姓名", "单位"] and len(cells) == len(rows)


async def test_attendance_is_for_those_who_run_the_meeting(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    assert (await attendance(hub, meeting["id"], by="pub-util-04")).status == 403
    assert (await attendance(hub, meeting["id"], by="pub-util-04")).status == 403
    assert (await attendance(hub, "nosuchmeeting")).status == 404
    bad = await attendance(hub, meeting["id"], fmt="pdf")
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "format"
    empty = await (await attendance(hub, meeting["id"])).json()
    assert empty["attendees"] == [] and empty["summary"]["people_present"] == 0


async def test_the_main_venue_is_set_checked_and_invited(hub: Hub) -> None:
    meeting = await create_meeting(hub, main_unit="shinan-office")
    assert meeting["main_unit"] == "shinan-office" and "shinan-office" in meeting["invited_units"]
    unknown = await hub.client.post("/api/v1/meetings", headers=hub.auth("p-xie"), json={
        "title": "x", "chair": "p-xie", "starts_at": meeting["starts_at"], "ends_at": meeting["ends_at"],
        "main_unit": "nowhere"})
    assert unknown.status == 400 and (await unknown.json())["error"]["field"] == "main_unit"
    changed = await patch(hub, meeting["id"], main_unit="shibei-office")
    assert changed.status == 200 and (await changed.json())["main_unit"] == "shibei-office"
    assert (await patch(hub, meeting["id"], by="pub-util-04", main_unit="shinan-office")).status == 403
    cleared = await patch(hub, meeting["id"], main_unit=None)
    assert (await cleared.json())["main_unit"] is None
    kept = await patch(hub, meeting["id"], title="全市视频会议")
    assert (await kept.json())["main_unit"] is None


async def test_the_main_venue_is_shown_to_everybody_and_follows_who_is_there(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office", "shibei-office"],
                                   main_unit="shinan-office")
    chair, member = [await signaling(p) for p in ("p-xie", "pub-util-04")]
    assert (await chair.request("meeting.join", meeting_id=meeting["id"]))["stage"]["main"] is None
    await member.request("meeting.join", meeting_id=meeting["id"])
    room = hub.app[keys.MEETING_ROOMS].rooms[meeting["id"]]
    assert room.sfu_room is not None and room.sfu_room.stage.main is None

    # the main unit's terminal comes in: it stands for the main venue, for everybody
    venue = await signaling(VENUE)
    joined = await venue.request("meeting.join", meeting_id=meeting["id"])
    for client in (chair, member):
        assert (await client.event("stage.main"))["main"]["person_id"] == VENUE
    assert room.sfu_room.stage.main == joined["participant_id"]
    late = await signaling("pub-util-05")
    assert (await late.request("meeting.join", meeting_id=meeting["id"]))["stage"]["main"]["person_id"] == VENUE

    # the chair makes another unit the main venue; nobody of it is there yet, then its terminal comes
    assert (await patch(hub, meeting["id"], main_unit="shibei-office")).status == 200
    assert (await chair.event("stage.main"))["main"] is None
    other = await signaling(OTHER_VENUE)
    other_joined = await other.request("meeting.join", meeting_id=meeting["id"])
    assert (await chair.event("stage.main"))["main"]["person_id"] == OTHER_VENUE
    assert room.sfu_room.stage.main == other_joined["participant_id"]
    # ... and leaves
    await other.request("meeting.leave", meeting_id=meeting["id"])
    assert (await chair.event("stage.main"))["main"] is None
    assert room.sfu_room.stage.main is None


async def test_an_empty_meeting_ends_by_itself(hub: Hub, signaling: Any) -> None:
    """After its scheduled end, or after being empty for the idle time, a live meeting nobody is in ends."""
    service = hub.app[keys.MEETINGS]
    overdue = await create_meeting(hub)
    idle = await create_meeting(hub)
    busy = await create_meeting(hub)
    chair, member, other = [await signaling(p) for p in ("p-xie", "pub-util-04", "pub-util-05")]
    for client, meeting in ((chair, overdue), (member, idle), (other, busy)):
        await client.request("meeting.join", meeting_id=meeting["id"])
    for client, meeting in ((chair, overdue), (member, idle)):
        await client.request("meeting.leave", meeting_id=meeting["id"])
    # as long as they are not over their end or the idle time, nothing ends
    assert await service.end_unattended(timedelta(hours=1)) == []
    # the first is past its scheduled end: it ends at once; the second once it has been empty long enough
    async with hub.app[keys.DB].begin() as conn:
        await conn.execute(sa.update(meetings_table).where(meetings_table.c.id == overdue["id"])
                           .values(ends_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert await service.end_unattended(timedelta(hours=1)) == [overdue["id"]]
    assert await service.end_unattended(timedelta(0)) == [idle["id"]]
    ended = await (await hub.client.get(f"/api/v1/meetings/{idle['id']}", headers=hub.auth("p-xie"))).json()
    assert ended["status"] == "ended"
    # the meeting someone is in goes on, and its participant heard nothing
    assert (await hub.client.get(f"/api/v1/meetings/{busy['id']}", headers=hub.auth("p-xie"))).status == 200
    assert (await service.find(busy["id"])).status.value == "live"
    report = await (await hub.client.get(f"/api/v1/meetings/{overdue['id']}/attendance",
                                         headers=hub.auth("p-xie"))).json()
    assert all(s["left_at"] for s in report["stays"])

"""Minutes with the real meetings domain: created with the meeting, edited by the invited, read by
supervisors, final once the meeting is closed for edits; decisions written into them."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pycrdt import YSyncMessageType

from hub import keys
from hub.docs.content import doc_from_state, plain_text
from hub.docs.meetings_link import DecisionMinutes
from hub.docs.sync_protocol import CloseCode, sync_message
from hub.supervision.model import MeetingInfo
from tests.conftest import Hub
from tests.docs.test_doc_sync_refusals import text_update
from tests.docs.test_documents_ws import join, refused_status
from tests.meetings.conftest import create_meeting


async def test_minutes_follow_the_meeting(hub: Hub) -> None:
    meeting = await create_meeting(hub, "p-xie", invited_people=["edu-02"])
    doc_id = meeting["minutes_doc_id"]
    info = await (await hub.client.get(f"/api/v1/docs/{doc_id}", headers=hub.auth("edu-02"))).json()
    assert info["kind"] == "minutes" and info["meeting"] == meeting["id"] and info["owner_unit"] == "pub-util"
    assert info["title"] == "城市供水保障专题会 纪要" and info["role"] == "editor"

    # Invited in person and through the unit: editors. A supervisor: reader. Anyone else: refused.
    for person, role in (("edu-02", "editor"), ("pub-util-05", "editor"), ("supervision-01", "reader")):
        got = await (await hub.client.get(f"/api/v1/docs/{doc_id}", headers=hub.auth(person))).json()
        assert got["role"] == role, person
    assert (await hub.client.get(f"/api/v1/docs/{doc_id}", headers=hub.auth("police-04"))).status == 403
    listed = await (await hub.client.get(f"/api/v1/docs?scope=meeting&meeting={meeting['id']}",
                                         headers=hub.auth("edu-02"))).json()
    assert [d["id"] for d in listed["documents"]] == [doc_id]

    edu = await join(hub, doc_id, "edu-02")
    await edu.edit(lambda t: t.insert(0, "出席：全体"))
    await edu.wait_saved()
    supervisor = await join(hub, doc_id, "supervision-01")
    assert supervisor.content == "出席：全体"
    await supervisor.send_raw(sync_message(YSyncMessageType.SYNC_UPDATE, text_update("x")))
    assert await supervisor.wait_closed() == CloseCode.READ_ONLY
    assert (await refused_status(hub, doc_id, hub.auth("police-04")))[0] == 403

    # Once the meeting ended and was closed for edits, the minutes are final: the invited only read.
    chair = await hub.app[keys.AUTH].authenticate(hub.token("p-xie"))
    await hub.app[keys.MEETINGS].end(chair, meeting["id"])
    got = await (await hub.client.get(f"/api/v1/docs/{doc_id}", headers=hub.auth("edu-02"))).json()
    assert got["role"] == "editor"  # ended, but the minutes are still being finished
    response = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/close", headers=hub.auth("p-xie"))
    assert response.status == 200, await response.text()
    got = await (await hub.client.get(f"/api/v1/docs/{doc_id}", headers=hub.auth("edu-02"))).json()
    assert got["role"] == "reader"
    assert await edu.wait_closed() == CloseCode.ACCESS_REVOKED  # an open editor may no longer change them
    reader = await join(hub, doc_id, "edu-02")
    assert reader.content == "出席：全体"
    await reader.close()


async def test_decisions_are_written_into_the_minutes(hub: Hub) -> None:
    meeting = await create_meeting(hub, "p-xie")
    doc_id = meeting["minutes_doc_id"]
    writer = hub.app[keys.MINUTES_WRITER]
    assert isinstance(writer, DecisionMinutes)
    ann = await join(hub, doc_id, "pub-util-04")
    info = MeetingInfo(id=meeting["id"], title=meeting["title"], closed_for_edits=False, minutes_doc_id=doc_id)
    lines = ["1. 推进老旧小区供热管网改造", "牵头单位：市住建局；办结时限：2027年3月1日。"]
    await writer.append_decision(info, None, None, lines)  # type: ignore[arg-type]
    await ann.wait_for(lambda: "供热管网" in plain_text(ann.doc))
    # under the template's last heading, which is 决定事项
    assert plain_text(ann.doc).split("\n")[-3:] == ["决定事项", *lines]
    stored = plain_text(doc_from_state(await hub.app[keys.DOCS].current_state(doc_id)))
    assert stored == plain_text(ann.doc)
    await ann.close()
    await asyncio.sleep(0)


async def test_minutes_start_from_the_meeting_and_find_their_participants(hub: Hub) -> None:
    meeting = await create_meeting(hub, "p-xie", secretary="pub-util-04", invited_people=["edu-02"],
                                   description="一、汛情通报\n\n二、部署下一阶段工作")
    doc_id = meeting["minutes_doc_id"]
    text = plain_text(doc_from_state(await hub.app[keys.DOCS].current_state(doc_id))).split("\n")
    starts = datetime.fromisoformat(meeting["starts_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert text[0] == "城市供水保障专题会"
    assert text[1].startswith(f"时间：{starts.year}年{starts.month}月{starts.day}日 {starts:%H:%M}—")
    assert text[2] == "主持人：谢继成（市公用事业局局长）" and text[3].startswith("记录人：")
    invited = (await hub.app[keys.DIRECTORY].person("edu-02")).name
    assert "参会单位：市公用事业局" in text and f"参会人员：{invited}" in text
    at = text.index("会议议程")
    assert text[at + 1:at + 3] == ["一、汛情通报", "二、部署下一阶段工作"] and text[-1] == "决定事项"
    assert "Lead" not in " ".join(text) and meeting["id"] not in " ".join(text)

    # under "my documents" of every participant: invited in person, through the unit, the chair
    for person in ("edu-02", "pub-util-05", "p-xie"):
        mine = await (await hub.client.get("/api/v1/docs?scope=mine", headers=hub.auth(person))).json()
        assert doc_id in [d["id"] for d in mine["documents"]], person
    page = await (await hub.client.get("/docs", headers={**hub.auth("edu-02"), "Accept-Language": "zh-CN"})).text()
    mine_table = page.split('data-test="docs-mine"')[1].split("</table>")[0]
    assert "城市供水保障专题会 纪要" in mine_table and f"{starts:%Y-%m-%d} 会议" in mine_table
    # not for someone outside the meeting
    other = await (await hub.client.get("/api/v1/docs?scope=mine", headers=hub.auth("police-04"))).json()
    assert doc_id not in [d["id"] for d in other["documents"]]


async def test_a_recorded_decision_reads_as_an_official_line(hub: Hub) -> None:
    meeting = await create_meeting(hub, "p-xie", secretary="pub-util-04")
    due = (datetime.now(UTC) + timedelta(days=30)).date()
    response = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/decisions", headers=hub.auth("p-xie"),
                                      json={"text": "推进老旧小区供热管网改造", "lead_unit": "pub-util",
                                            "coop_units": ["edu"], "responsible": "pub-util-04",
                                            "due_date": due.isoformat()})
    assert response.status == 201, await response.text()
    item_id = (await response.json())["item"]["id"]
    text = plain_text(doc_from_state(await hub.app[keys.DOCS].current_state(meeting["minutes_doc_id"])))
    lines = text.split("\n")
    assert lines[-2] == "1. 推进老旧小区供热管网改造"
    assert lines[-1].startswith("牵头单位：市公用事业局；协办单位：")
    number = (await response.json())["item"]["number"]
    assert re.fullmatch(r"督办〔20\d\d〕\d+号", number)
    assert f"办结时限：{due.year}年{due.month}月{due.day}日" in lines[-1] and f"督办编号：{number}" in lines[-1]
    assert item_id not in text and "Lead" not in text and "Due" not in text

"""The whole life of an item across roles: a decision recorded in a live meeting, followed up, reviewed, closed."""

from __future__ import annotations

import asyncio

from hub import keys
from tests.supervision.conftest import CHAIR, LEAD, LEAD_COLLEAGUE, LEAD_UNIT, OUTSIDER, SECRETARY, SUPERVISOR, SvHub


async def test_decision_to_closed_item(sv: SvHub) -> None:
    bus = sv.app[keys.BUS]
    live = await bus.subscribe("meeting.m1")
    recorded = await sv.decide()
    decision, item = recorded["decision"], recorded["item"]
    assert decision["number"] == 1 and decision["minutes_doc_id"] == "doc-minutes-1"
    assert item["status"] == "assigned" and item["lead_unit"] == LEAD_UNIT

    # Everyone in the meeting hears of it at once, and it is written into the minutes' Decisions section.
    event = await asyncio.wait_for(live.get(), 5)
    assert event is not None and event["event"] == "decision.recorded"
    assert event["decision"]["text"] == decision["text"] and event["item"]["id"] == item["id"]
    live.close()
    section = sv.minutes.sections["doc-minutes-1"]
    assert section[0] == "决定事项 Decisions"
    assert section[1].startswith("1. 推进老旧小区供热管网改造") and "市公用事业局" in section[2]

    # The meeting's decisions panel lists it.
    panel = await sv.client.get("/api/v1/meetings/m1/decisions", headers=sv.auth(SECRETARY))
    assert [d["item"]["id"] for d in (await panel.json())["decisions"]] == [item["id"]]

    item_id = item["id"]
    status, body = await sv.act(item_id, LEAD, "accept")
    assert status == 200 and body["item"]["status"] == "accepted"
    report = await sv.client.post(f"/api/v1/supervision/items/{item_id}/reports",
                                  json={"text": "完成管网勘察", "percent": 40}, headers=sv.auth(LEAD_COLLEAGUE))
    assert report.status == 201
    assert (await report.json())["item"] == {**(await report.json())["item"], "status": "in_progress", "percent": 40}
    status, body = await sv.act(item_id, LEAD, "submit", text="改造全部完成，已通过验收")
    assert status == 200 and body["item"]["status"] == "submitted" and body["item"]["percent"] == 100
    status, body = await sv.act(item_id, SUPERVISOR, "return", text="请补充验收报告")
    assert status == 200 and body["item"]["status"] == "in_progress"
    status, body = await sv.act(item_id, LEAD, "submit", text="已补充验收报告")
    assert status == 200
    sv.clock.advance(3600)
    status, body = await sv.act(item_id, SUPERVISOR, "close", text="同意办结")
    assert status == 200
    closed = body["item"]
    assert closed["status"] == "closed" and closed["on_time"] is True and closed["days_to_close"] > 0

    page = await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(LEAD))
    data = await page.json()
    kinds = [f["kind"] for f in data["timeline"]]
    assert kinds == ["created", "accept", "report", "submit", "return", "submit", "close"]
    assert data["allowed_actions"] == []
    assert data["decision"]["meeting_id"] == "m1"

    # The people concerned were told: the supervisors of the submission, the lead unit of the verdict.
    notes = await sv.client.get("/api/v1/supervision/notifications", headers=sv.auth(SUPERVISOR))
    assert {n["kind"] for n in (await notes.json())["notifications"]} >= {"submit"}
    notes = await sv.client.get("/api/v1/supervision/notifications", headers=sv.auth(LEAD))
    assert {n["kind"] for n in (await notes.json())["notifications"]} >= {"created", "return", "close"}
    # ... and the chair of the meeting that decided it, of what became of it (through /api/v1/notifications too)
    notes = await sv.client.get("/api/v1/notifications?subject=item", headers=sv.auth(CHAIR))
    told = [(n["kind"], n["subject_id"], n["url"]) for n in (await notes.json())["items"]]
    assert {kind for kind, _, _ in told} == {"created", "return", "close"}
    assert {(subject, url) for _, subject, url in told} == {(item_id, f"/supervision/items/{item_id}")}

    verify = await sv.client.get("/api/v1/supervision/audit/verify", headers=sv.auth(SUPERVISOR))
    report = await verify.json()
    assert (report["status"], report["events"], report["first_broken_seq"]) == ("unanchored", 7, None)


async def test_a_notification_about_an_item_is_marked_read(sv: SvHub) -> None:
    item_id = (await sv.decide())["item"]["id"]
    listed = await sv.client.get("/api/v1/supervision/notifications?unread=true", headers=sv.auth(LEAD))
    notes = (await listed.json())["notifications"]
    assert [n["item_id"] for n in notes] == [item_id]
    path = f"/api/v1/supervision/notifications/{notes[0]['id']}/read"
    # Only its owner marks it.
    assert (await sv.client.post(path, headers=sv.auth(OUTSIDER))).status == 404
    marked = await sv.client.post(path, headers=sv.auth(LEAD))
    assert marked.status == 200 and await marked.json() == {"read": True, "unread": 0}

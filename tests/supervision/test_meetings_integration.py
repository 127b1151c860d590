"""With the real meetings domain: a decision recorded in a live meeting reaches its participants over /ws, the
meeting's people see the decisions panel, the item lives to closed, and a meeting closed for edits takes no more."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hub import keys
from hub.docs.content import doc_from_state, plain_text
from tests.conftest import Hub
from tests.meetings.conftest import create_meeting, signaling  # noqa: F401 - the /ws client fixture

CHAIR, SECRETARY, MEMBER, SUPERVISOR = "p-xie", "pub-util-03", "pub-util-04", "supervision-01"


async def test_decision_in_a_live_meeting_to_a_closed_item(hub: Hub, signaling: Any) -> None:  # noqa: F811
    meeting = await create_meeting(hub, secretary=SECRETARY, invited_people=["water-04"])
    meeting_id = meeting["id"]
    chair = await signaling(CHAIR)
    await chair.request("meeting.join", meeting_id=meeting_id)
    member = await signaling(MEMBER)
    await member.request("meeting.join", meeting_id=meeting_id)

    due = (hub.app[keys.SUPERVISION].today() + timedelta(days=14)).isoformat()
    body = {"text": "两周内完成城区供水管网排查", "lead_unit": "pub-util", "responsible": MEMBER,
            "coop_units": ["water"], "due_date": due, "priority": "urgent"}
    # A participant who is neither chair nor secretary may not record.
    refused = await hub.client.post(f"/api/v1/meetings/{meeting_id}/decisions", json=body, headers=hub.auth(MEMBER))
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "recorder_only"
    response = await hub.client.post(f"/api/v1/meetings/{meeting_id}/decisions", json=body,
                                     headers=hub.auth(SECRETARY))
    assert response.status == 201, await response.text()
    recorded = await response.json()
    item_id = recorded["item"]["id"]

    for client in (chair, member):
        event = await client.event("decision.recorded")
        assert event["decision"]["text"] == body["text"] and event["item"]["id"] == item_id

    # Written into the meeting's minutes, under its Decisions heading.
    minutes_id = recorded["decision"]["minutes_doc_id"]
    document = await hub.app[keys.DOCS].minutes_of(meeting_id)
    assert minutes_id is not None and document is not None and minutes_id == document.id
    minutes = plain_text(doc_from_state(await hub.app[keys.DOCS].current_state(minutes_id)))
    assert "决定事项" in minutes and "1. 两周内完成城区供水管网排查" in minutes
    assert minutes.index("决定事项") < minutes.index("1. 两周内完成城区供水管网排查")

    panel = await hub.client.get(f"/api/v1/meetings/{meeting_id}/decisions", headers=hub.auth("water-04"))
    assert [d["text"] for d in (await panel.json())["decisions"]] == [body["text"]]
    outsider = await hub.client.get(f"/api/v1/meetings/{meeting_id}/decisions", headers=hub.auth("edu-01"))
    assert outsider.status == 403
    page = await hub.client.get(f"/meetings/{meeting_id}", headers=hub.auth(MEMBER))
    assert "js/decisions.js" in await page.text()

    async def act(person: str, action: str, **extra: Any) -> dict[str, Any]:
        answer = await hub.client.post(f"/api/v1/supervision/items/{item_id}/actions",
                                       json={"action": action, **extra}, headers=hub.auth(person))
        assert answer.status == 200, await answer.text()
        return dict((await answer.json())["item"])

    await act(MEMBER, "accept")
    report = await hub.client.post(f"/api/v1/supervision/items/{item_id}/reports", json={"text": "已排查一半",
                                   "percent": 50}, headers=hub.auth(MEMBER))
    assert report.status == 201
    await act(MEMBER, "submit", text="排查完成，整改清单已报送")
    closed = await act(SUPERVISOR, "close", text="同意办结")
    assert closed["status"] == "closed" and closed["on_time"] is True

    # The chair ends the meeting; decisions may still be recorded until the meeting is closed for edits.
    await chair.request("moderator.end", meeting_id=meeting_id)
    later = await hub.client.post(f"/api/v1/meetings/{meeting_id}/decisions", json={**body, "text": "会后补充决定"},
                                  headers=hub.auth(CHAIR))
    assert later.status == 201 and (await later.json())["decision"]["number"] == 2
    close = await hub.client.post(f"/api/v1/meetings/{meeting_id}/close", headers=hub.auth(SECRETARY))
    assert close.status == 200, await close.text()
    final = await hub.client.post(f"/api/v1/meetings/{meeting_id}/decisions", json=body, headers=hub.auth(CHAIR))
    assert final.status == 409 and (await final.json())["error"]["code"] == "meeting_closed"
    verify = await hub.client.get("/api/v1/supervision/audit/verify", headers=hub.auth(SUPERVISOR))
    assert (await verify.json())["intact"] is True


async def test_unknown_meeting_and_uninvited_recorder(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    body = {"text": "决定", "lead_unit": "pub-util", "responsible": MEMBER,
            "due_date": (hub.app[keys.SUPERVISION].today() + timedelta(days=3)).isoformat()}
    missing = await hub.client.post("/api/v1/meetings/nope/decisions", json=body, headers=hub.auth(CHAIR))
    assert missing.status == 404
    stranger = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/decisions", json=body,
                                     headers=hub.auth("gov-office-03"))
    assert stranger.status == 403

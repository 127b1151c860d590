"""Every illegal transition and forbidden actor is refused with a code, and nothing changes; bad input gets 400."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.supervision import model
from hub.supervision.model import Action, Status
from tests.supervision.conftest import (
    CHAIR,
    LEAD,
    LEAD_UNIT,
    OUTSIDER,
    PARTICIPANT,
    SECRETARY,
    SUPERVISOR,
    SvHub,
    stored_state,
)
from tests.supervision.test_state_machine import EXPECTED, legal

LEAD_ACTIONS = {"accept", "submit", "request_extension"}
SUPERVISOR_ACTIONS = {"return", "close", "grant_extension", "deny_extension", "cancel"}
# How to bring a fresh item into each state: (person, action, body) steps.
PATHS: dict[Status, list[tuple[str, str, dict[str, Any]]]] = {
    Status.ASSIGNED: [],
    Status.ACCEPTED: [(LEAD, "accept", {})],
    Status.IN_PROGRESS: [(LEAD, "accept", {}), (LEAD, "report", {"text": "进展", "percent": 30})],
    Status.EXTENSION_REQUESTED: [(LEAD, "accept", {}), (LEAD, "request_extension", {"text": "需要更多时间"})],
    Status.SUBMITTED: [(LEAD, "accept", {}), (LEAD, "submit", {"text": "完成"})],
    Status.CLOSED: [(LEAD, "accept", {}), (LEAD, "submit", {"text": "完成"}), (SUPERVISOR, "close", {})],
    Status.CANCELLED: [(SUPERVISOR, "cancel", {"text": "会议决定撤销"})],
}


async def item_in(sv: SvHub, status: Status) -> str:
    item_id = str((await sv.decide())["item"]["id"])
    for person, action, body in PATHS[status]:
        if action == "request_extension":
            body = {**body, "due_date": (sv.today() + timedelta(days=30)).isoformat()}
        if action == "report":
            response = await sv.client.post(f"/api/v1/supervision/items/{item_id}/reports", json=body,
                                            headers=sv.auth(person))
            assert response.status == 201, await response.text()
            continue
        code, data = await sv.act(item_id, person, action, **body)
        assert code == 200, data
    return item_id


async def snapshot(sv: SvHub, item_id: str) -> dict[str, Any]:
    """What the API shows of the item and everything the database holds of it and of the logs."""
    response = await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(SUPERVISOR))
    data = await response.json()
    verify = await sv.client.get("/api/v1/supervision/audit/verify", headers=sv.auth(SUPERVISOR))
    return {"item": data["item"], "timeline": data["timeline"], "audit": (await verify.json())["events"],
            "stored": await stored_state(sv, item_id)}


def body_for(action: str, sv: SvHub) -> dict[str, Any]:
    return {"text": "说明", "due_date": (sv.today() + timedelta(days=40)).isoformat()} if action else {}


ALL_STATES = tuple(PATHS)


async def refusals_hold(sv: SvHub, status: Status) -> None:
    """Every lead or supervisor action the specification refuses in `status` is 409 and changes nothing."""
    item_id = await item_in(sv, status)
    before = await snapshot(sv, item_id)
    for action in sorted(LEAD_ACTIONS | SUPERVISOR_ACTIONS):
        if legal(action, status.value):
            continue
        person = LEAD if action in LEAD_ACTIONS else SUPERVISOR
        code, data = await sv.act(item_id, person, action, **body_for(action, sv))
        assert code == 409, (status, action, data)
        assert data["error"]["code"] == "illegal_transition"
        assert data["error"]["status"] == status.value
    assert await snapshot(sv, item_id) == before, status


async def test_every_action_outside_its_states_is_409_and_changes_nothing(sv: SvHub) -> None:
    for status in ALL_STATES:
        await refusals_hold(sv, status)
    # Reports are refused the same way once the item is closed.
    closed = await item_in(sv, Status.CLOSED)
    response = await sv.client.post(f"/api/v1/supervision/items/{closed}/reports", json={"text": "x", "percent": 5},
                                    headers=sv.auth(LEAD))
    assert response.status == 409


@pytest.mark.parametrize(("action", "status"), [(Action.CLOSE, Status.ASSIGNED), (Action.CANCEL, Status.CLOSED)])
async def test_the_flips_of_issue_11_fail_the_refusal_test(sv: SvHub, monkeypatch: pytest.MonkeyPatch,
                                                           action: Action, status: Status) -> None:
    monkeypatch.setitem(model.ALLOWED_FROM, action, model.ALLOWED_FROM[action] | {status})
    with pytest.raises(AssertionError):
        await refusals_hold(sv, status)


async def test_every_legal_action_leads_where_specified(sv: SvHub) -> None:
    for action, moves in EXPECTED.items():
        if action in ("report", "comment"):
            continue  # their own tests: reports below and in test_attachments, comments in test_audit
        for start, end in moves.items():
            item_id = await item_in(sv, Status(start))
            person = LEAD if action in LEAD_ACTIONS else SUPERVISOR
            code, data = await sv.act(item_id, person, action, **body_for(action, sv))
            assert code == 200 and data["item"]["status"] == end, (action, start, data)


async def test_allowed_actions_shown_are_the_specified_ones(sv: SvHub) -> None:
    for status in ALL_STATES:
        item_id = await item_in(sv, status)
        for person, mine in ((LEAD, LEAD_ACTIONS), (SUPERVISOR, SUPERVISOR_ACTIONS)):
            response = await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(person))
            shown = set((await response.json())["allowed_actions"]) - {"report"}
            assert shown == {a for a in mine if legal(a, status.value)}, (status, person)


@pytest.mark.parametrize("action", sorted(LEAD_ACTIONS))
async def test_lead_actions_refused_to_supervisors_and_outsiders(sv: SvHub, action: str) -> None:
    status = Status.ASSIGNED if action == "accept" else Status.ACCEPTED
    item_id = await item_in(sv, status)
    before = await snapshot(sv, item_id)
    for person, code_expected in ((SUPERVISOR, "lead_unit_only"), (OUTSIDER, "item_forbidden"),
                                  ("finance-01", "lead_unit_only")):
        code, data = await sv.act(item_id, person, action, **body_for(action, sv))
        assert code == 403, (person, data)
        assert data["error"]["code"] == code_expected
    assert await snapshot(sv, item_id) == before


@pytest.mark.parametrize("action", sorted(SUPERVISOR_ACTIONS))
async def test_supervisor_actions_refused_to_the_lead_unit(sv: SvHub, action: str) -> None:
    status = {"return": Status.SUBMITTED, "close": Status.SUBMITTED, "cancel": Status.ACCEPTED}.get(
        action, Status.EXTENSION_REQUESTED)
    item_id = await item_in(sv, status)
    before = await snapshot(sv, item_id)
    for person in (LEAD, SECRETARY, "bigdata-04"):
        code, data = await sv.act(item_id, person, action, **body_for(action, sv))
        assert code == 403 and data["error"]["code"] in ("supervisor_only", "item_forbidden"), (person, data)
    assert await snapshot(sv, item_id) == before


async def test_reports_by_non_members_are_refused(sv: SvHub) -> None:
    item_id = await item_in(sv, Status.ACCEPTED)
    for person in (SUPERVISOR, OUTSIDER):
        response = await sv.client.post(f"/api/v1/supervision/items/{item_id}/reports",
                                        json={"text": "进展", "percent": 10}, headers=sv.auth(person))
        assert response.status == 403
    outsider = await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(OUTSIDER))
    assert outsider.status == 403


async def test_recording_decisions_is_for_chair_and_secretary_until_closed(sv: SvHub) -> None:
    base = {"text": "决定", "lead_unit": LEAD_UNIT, "responsible": LEAD,
            "due_date": (sv.today() + timedelta(days=5)).isoformat()}
    for person in (PARTICIPANT, SUPERVISOR, OUTSIDER):
        response = await sv.client.post("/api/v1/meetings/m1/decisions", json=base, headers=sv.auth(person))
        assert response.status == 403, person
        assert (await response.json())["error"]["code"] == "recorder_only"
    assert (await sv.decide(as_person=CHAIR))["decision"]["number"] == 1
    unknown = await sv.client.post("/api/v1/meetings/nope/decisions", json=base, headers=sv.auth(CHAIR))
    assert unknown.status == 404
    # After the meeting, still possible; once closed for edits, not any more.
    assert (await sv.decide())["decision"]["number"] == 2
    sv.meetings.close("m1")
    closed = await sv.client.post("/api/v1/meetings/m1/decisions", json=base, headers=sv.auth(SECRETARY))
    assert closed.status == 409 and (await closed.json())["error"]["code"] == "meeting_closed"
    listed = await sv.client.get("/api/v1/meetings/m1/decisions", headers=sv.auth(SECRETARY))
    assert len((await listed.json())["decisions"]) == 2
    assert sv.minutes.sections["doc-minutes-1"][1].startswith("1. ")
    assert sv.minutes.sections["doc-minutes-1"][3].startswith("2. ")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"due_date": "past"}, "due_date", "due_date_in_past"),
        ({"due_date": "2026-02-30"}, "due_date", "invalid_body"),
        ({"lead_unit": "no-such-unit"}, "lead_unit", "unknown_unit"),
        ({"coop_units": ["finance", "nope"]}, "coop_units[1]", "unknown_unit"),
        ({"responsible": "nobody"}, "responsible", "unknown_person"),
        ({"responsible": "edu-01"}, "responsible", "not_in_lead_unit"),
        ({"responsible": "shinan-office-term", "lead_unit": "shinan-office"}, "responsible", "unknown_person"),
        ({"text": "   "}, "text", "text_required"),
        ({"text": "x" * 2001}, "text", "invalid_body"),
        ({"priority": "whenever"}, "priority", "invalid_body"),
    ],
)
async def test_bad_decisions_get_400_naming_the_field(sv: SvHub, changes: dict[str, Any], field: str,
                                                      code: str) -> None:
    body = {"text": "决定", "lead_unit": LEAD_UNIT, "responsible": LEAD,
            "due_date": (sv.today() + timedelta(days=5)).isoformat(), **changes}
    if body["due_date"] == "past":
        body["due_date"] = (sv.today() - timedelta(days=1)).isoformat()
    response = await sv.client.post("/api/v1/meetings/m1/decisions", json=body, headers=sv.auth(SECRETARY))
    data = await response.json()
    assert response.status == 400, data
    assert data["error"]["code"] == code and data["error"]["field"] == field
    listed = await sv.client.get("/api/v1/meetings/m1/decisions", headers=sv.auth(SECRETARY))
    assert (await listed.json())["decisions"] == []


async def test_bad_action_input_gets_400(sv: SvHub) -> None:
    item_id = await item_in(sv, Status.ACCEPTED)
    cases = [
        ("submit", {}, "text"),
        ("request_extension", {"text": "需要时间"}, "due_date"),
        ("request_extension", {"text": "需要时间", "due_date": sv.today().isoformat()}, "due_date"),
        ("cancel", {"text": ""}, "text"),
    ]
    for action, body, field in cases:
        person = SUPERVISOR if action == "cancel" else LEAD
        code, data = await sv.act(item_id, person, action, **body)
        assert code == 400 and data["error"]["field"] == field, (action, data)
    unknown = await sv.act(item_id, LEAD, "teleport")
    assert unknown[0] == 400 and unknown[1]["error"]["field"] == "action"
    for bad in ({"text": "x", "percent": 101}, {"text": "", "percent": 5}, {"text": "x"}):
        response = await sv.client.post(f"/api/v1/supervision/items/{item_id}/reports", json=bad,
                                        headers=sv.auth(LEAD))
        assert response.status == 400, bad
    missing = await sv.act("sv-nope", LEAD, "accept")
    assert missing[0] == 404
    assert (await snapshot(sv, item_id))["item"]["status"] == "accepted"


async def test_extension_granted_moves_the_due_date(sv: SvHub) -> None:
    item_id = await item_in(sv, Status.ACCEPTED)
    new_due = (sv.today() + timedelta(days=60)).isoformat()
    code, data = await sv.act(item_id, LEAD, "request_extension", text="设备到货延迟", due_date=new_due)
    assert code == 200 and data["item"]["requested_due_date"] == new_due
    code, data = await sv.act(item_id, SUPERVISOR, "grant_extension")
    assert code == 200
    assert data["item"]["due_date"] == new_due and data["item"]["status"] == "in_progress"
    assert data["item"]["original_due_date"] != new_due
    code, data = await sv.act(item_id, LEAD, "request_extension", text="再延期",
                              due_date=(sv.today() + timedelta(days=90)).isoformat())
    code, data = await sv.act(item_id, SUPERVISOR, "deny_extension", text="不同意")
    assert code == 200 and data["item"]["due_date"] == new_due and data["item"]["requested_due_date"] is None

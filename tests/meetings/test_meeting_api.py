"""The meetings REST API: schedule, list, read, change, cancel, close, .ics; and the service API others use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from hub import keys
from hub.directory.model import DirectoryData
from tests.conftest import Hub
from tests.meetings.conftest import create_meeting


async def error_of(response: Any) -> str:
    return str((await response.json())["error"]["code"])


async def test_create_get_and_list(hub: Hub) -> None:
    meeting = await create_meeting(hub, secretary="pub-util-03", invited_people=["edu-02"], description="议程：供水")
    assert meeting["organizer"] == "p-xie" and meeting["status"] == "scheduled"
    assert meeting["names"]["pub-util-03"] == "邓婷"
    assert meeting["closed_for_edits"] is False
    # Every meeting gets its minutes document; the invited edit it.
    minutes = await hub.client.get(f"/api/v1/docs/{meeting['minutes_doc_id']}", headers=hub.auth("edu-02"))
    assert minutes.status == 200 and (await minutes.json())["role"] == "editor"
    got = await hub.client.get(f"/api/v1/meetings/{meeting['id']}", headers=hub.auth("edu-02"))
    assert got.status == 200 and (await got.json())["title"] == "城市供水保障专题会"

    mine = await (await hub.client.get("/api/v1/meetings", headers=hub.auth("edu-02"))).json()
    assert [m["id"] for m in mine["items"]] == [meeting["id"]]
    unit = await (await hub.client.get("/api/v1/meetings?scope=unit", headers=hub.auth("pub-util-05"))).json()
    assert [m["id"] for m in unit["items"]] == [meeting["id"]]
    past = await (await hub.client.get("/api/v1/meetings?when=past", headers=hub.auth("edu-02"))).json()
    assert past["items"] == []


async def test_past_meetings_are_listed_as_past(hub: Hub) -> None:
    start = datetime.now(UTC) - timedelta(days=2)
    old = await create_meeting(hub, starts_at=start.isoformat(), ends_at=(start + timedelta(hours=1)).isoformat())
    new = await create_meeting(hub)
    past = await (await hub.client.get("/api/v1/meetings?when=past", headers=hub.auth("p-xie"))).json()
    upcoming = await (await hub.client.get("/api/v1/meetings", headers=hub.auth("p-xie"))).json()
    assert [m["id"] for m in past["items"]] == [old["id"]]
    assert [m["id"] for m in upcoming["items"]] == [new["id"]]


async def test_bad_meetings_are_refused_naming_the_field(hub: Hub) -> None:
    now = datetime.now(UTC)
    base = {"title": "t", "chair": "p-xie", "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat()}
    cases = [
        ({**base, "ends_at": (now - timedelta(hours=1)).isoformat()}, "invalid_body", "ends_at"),
        ({**base, "chair": "nobody"}, "unknown_person", "chair_id"),
        ({**base, "invited_units": ["no-unit"]}, "unknown_org_unit", "invited_units"),
        ({**base, "starts_at": "2026-01-01T10:00:00"}, "invalid_body", "starts_at"),
        ({**base, "surprise": 1}, "invalid_body", "surprise"),
        ({**base, "title": ""}, "invalid_body", "title"),
    ]
    for body, code, field in cases:
        response = await hub.client.post("/api/v1/meetings", json=body, headers=hub.auth("p-xie"))
        assert response.status == 400, body
        error = (await response.json())["error"]
        assert (error["code"], error["field"]) == (code, field)
    terminal = await hub.client.post("/api/v1/meetings", json=base, headers=hub.auth("shinan-office-term"))
    assert terminal.status == 403
    anonymous = await hub.client.post("/api/v1/meetings", json=base)
    assert anonymous.status == 401


async def test_outsiders_do_not_see_and_only_managers_change(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    hidden = await hub.client.get(f"/api/v1/meetings/{meeting['id']}", headers=hub.auth("edu-02"))
    assert hidden.status == 404 and await error_of(hidden) == "meeting_not_found"
    supervisor = await hub.client.get(f"/api/v1/meetings/{meeting['id']}", headers=hub.auth("supervision-01"))
    assert supervisor.status == 200
    member = await hub.client.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "x"},
                                    headers=hub.auth("pub-util-05"))
    assert member.status == 403
    changed = await hub.client.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "新标题", "lobby": False},
                                     headers=hub.auth("p-xie"))
    body = await changed.json()
    assert changed.status == 200 and body["title"] == "新标题" and body["lobby"] is False
    again = await hub.client.get(f"/api/v1/meetings/{meeting['id']}", headers=hub.auth("pub-util-05"))
    assert (await again.json())["title"] == "新标题"


async def test_cancel_then_nothing_changes_and_ics_says_cancelled(hub: Hub) -> None:
    meeting = await create_meeting(hub)
    ics = await hub.client.get(f"/api/v1/meetings/{meeting['id']}/calendar.ics", headers=hub.auth("pub-util-04"))
    text = await ics.text()
    assert ics.status == 200 and ics.content_type == "text/calendar"
    assert "BEGIN:VEVENT" in text and "SUMMARY:城市供水保障专题会" in text and "STATUS:CONFIRMED" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    forbidden = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/cancel", headers=hub.auth("pub-util-04"))
    assert forbidden.status == 403
    cancelled = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/cancel", headers=hub.auth("p-xie"))
    assert (await cancelled.json())["status"] == "cancelled"
    twice = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/cancel", headers=hub.auth("p-xie"))
    assert twice.status == 409
    late = await hub.client.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "x"}, headers=hub.auth("p-xie"))
    assert late.status == 409 and await error_of(late) == "meeting_over"
    ics = await hub.client.get(f"/api/v1/meetings/{meeting['id']}/calendar.ics", headers=hub.auth("p-xie"))
    assert "STATUS:CANCELLED" in await ics.text()


async def test_service_api_for_decisions_and_closing(hub: Hub) -> None:
    meeting = await create_meeting(hub, secretary="pub-util-03")
    service = hub.app[keys.MEETINGS]
    auth = hub.app[keys.AUTH]
    chair = await auth.authenticate(hub.token("p-xie"), peer="test")
    secretary = await auth.authenticate(hub.token("pub-util-03"), peer="test")
    member = await auth.authenticate(hub.token("pub-util-05"), peer="test")
    assert await service.can_record_decisions(chair, meeting["id"])
    assert await service.can_record_decisions(secretary, meeting["id"])
    assert not await service.can_record_decisions(member, meeting["id"])
    assert not await service.can_record_decisions(chair, "no-such-meeting")
    early = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/close", headers=hub.auth("pub-util-03"))
    assert early.status == 409 and await error_of(early) == "meeting_not_ended"
    await service.end(chair, meeting["id"])
    assert not await service.is_closed_for_edits(meeting["id"])
    assert await service.can_record_decisions(secretary, meeting["id"])
    refused = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/close", headers=hub.auth("pub-util-05"))
    assert refused.status == 403
    closed = await hub.client.post(f"/api/v1/meetings/{meeting['id']}/close", headers=hub.auth("pub-util-03"))
    assert (await closed.json())["closed_for_edits"] is True
    assert await service.is_closed_for_edits(meeting["id"])
    assert not await service.can_record_decisions(chair, meeting["id"])
    assert await service.participants(meeting["id"]) == []


async def test_openapi_lists_the_meeting_endpoints(hub: Hub) -> None:
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    assert {"/api/v1/meetings", "/api/v1/meetings/{meeting_id}", "/api/v1/meetings/{meeting_id}/calendar.ics",
            "/api/v1/meetings/{meeting_id}/cancel", "/api/v1/meetings/{meeting_id}/close"} <= set(document["paths"])
    assert "CreateMeeting" in document["components"]["schemas"]


def test_turn_credentials_are_per_person_and_time_limited(tmp_path: Any) -> None:
    import base64
    import hashlib
    import hmac
    import time

    from hub.calls.ice import ice_servers
    from tests.conftest import make_settings

    plain = make_settings(tmp_path)
    assert ice_servers(plain.ice, "p-xie", time.time()) == []
    settings = make_settings(tmp_path, ice={"servers": ("turn:turn.city.example:3478",), "turn_secret": "s3cret",
                                            "turn_ttl": 600})
    [entry] = ice_servers(settings.ice, "p-xie", time.time())
    expires, person = entry["username"].split(":")
    assert person == "p-xie" and 0 < int(expires) - time.time() <= 600
    expected = base64.b64encode(hmac.new(b"s3cret", entry["username"].encode(), hashlib.sha1).digest()).decode()
    assert entry["credential"] == expected and entry["urls"] == ["turn:turn.city.example:3478"]


async def test_the_lists_sections_follow_the_status(hub: Hub) -> None:
    """Upcoming holds what one can still join (live, or scheduled and not over), soonest first; past holds the
    ended, the cancelled and the scheduled that were over without being held, latest first."""
    now = datetime.now(UTC)

    def hours(n: float) -> str:
        return (now + timedelta(hours=n)).isoformat()

    meetings = hub.app[keys.MEETINGS]
    chair = await hub.app[keys.AUTH].authenticate(hub.token("p-xie"))
    cancelled = await create_meeting(hub, title="取消的会", starts_at=hours(2), ends_at=hours(3))
    await hub.client.post(f"/api/v1/meetings/{cancelled['id']}/cancel", headers=hub.auth("p-xie"))
    await create_meeting(hub, title="没开成的会", starts_at=hours(-5), ends_at=hours(-4))
    overrun = await create_meeting(hub, title="开过头的会", starts_at=hours(-3), ends_at=hours(-1))
    await meetings.mark_live(overrun["id"])
    ended = await create_meeting(hub, title="开完的会", starts_at=hours(-1), ends_at=hours(1))
    await meetings.mark_live(ended["id"])
    await meetings.end(chair, ended["id"])
    await create_meeting(hub, title="明天的会", starts_at=hours(20), ends_at=hours(21))

    async def listed(when: str) -> list[str]:
        got = await hub.client.get(f"/api/v1/meetings?when={when}", headers=hub.auth("pub-util-04"))
        return [m["title"] for m in (await got.json())["items"]]

    assert await listed("upcoming") == ["开过头的会", "明天的会"]
    assert await listed("past") == ["取消的会", "开完的会", "没开成的会"]
    assert (await hub.client.get("/api/v1/meetings?when=later", headers=hub.auth("p-xie"))).status == 400


async def test_the_calendar_file_parses_strictly_with_commas_and_chinese(hub: Hub) -> None:
    """Parameter values with `,` `;` `:` are quoted (RFC 5545 3.2): a strict parser keeps ORGANIZER whole."""
    await hub.app[keys.DIRECTORY].import_data(DirectoryData(org_units=[], people=[
        {"id": "smith", "name": "Smith, John; Jr.: Deputy", "org_unit": "pub-util", "roles": ["official"]}]))
    await hub.load_people()
    start = datetime(2031, 3, 1, 1, 0, tzinfo=UTC)
    meeting = await create_meeting(hub, organizer="smith", title="供水, 排水; 防汛：专题会",
                                   description="一、汛情\n二、部署, 落实", starts_at=start.isoformat(),
                                   ends_at=(start + timedelta(hours=2)).isoformat())
    ics = await hub.client.get(f"/api/v1/meetings/{meeting['id']}/calendar.ics", headers=hub.auth("smith"))
    raw = await ics.read()
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    [event] = icalendar.Calendar.from_ical(raw).walk("VEVENT")
    assert event["ORGANIZER"].params["CN"] == "Smith, John; Jr.: Deputy"
    assert str(event["SUMMARY"]) == "供水, 排水; 防汛：专题会"
    assert str(event["DESCRIPTION"]).startswith("一、汛情\n二、部署, 落实\n\n")
    assert event.decoded("DTSTART") == start and event.decoded("DTEND") == start + timedelta(hours=2)
    assert str(event["STATUS"]) == "CONFIRMED"

"""Notifications: who is told of a meeting (invited, changed, uninvited, cancelled, starting soon), live over /ws,
listed, marked read; refusals; the reminder sent once whichever node looks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import keys
from signaling.ws_client import SignalingClient, SignalingError
from tests.conftest import Hub
from tests.meetings.conftest import create_meeting, ws_url

UNIT = ["pub-util-02", "pub-util-03", "pub-util-04", "pub-util-05"]


async def news(hub: Hub, person: str, **query: Any) -> dict[str, Any]:
    response = await hub.client.get("/api/v1/notifications", params=query, headers=hub.auth(person))
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def kinds(hub: Hub, person: str) -> list[str]:
    return [n["kind"] for n in (await news(hub, person))["items"]]


async def test_the_invited_are_told_with_the_calendar_and_the_organizer_is_not(hub: Hub) -> None:
    meeting = await create_meeting(hub, invited_people=["edu-02"])
    got = await news(hub, "pub-util-04")
    assert got["unread"] == 1
    [note] = got["items"]
    assert (note["subject"], note["subject_id"], note["kind"], note["title"]) == (
        "meeting", meeting["id"], "invited", "城市供水保障专题会")
    assert note["url"] == f"/meetings/{meeting['id']}" and note["read"] is False
    assert note["data"]["calendar"] == f"/api/v1/meetings/{meeting['id']}/calendar.ics"
    assert note["data"]["starts_at"] == meeting["starts_at"]
    assert await kinds(hub, "edu-02") == ["invited"]
    assert await kinds(hub, "p-xie") == []  # organizer and chair: they scheduled it
    assert await kinds(hub, "police-04") == []


async def test_changes_reach_those_concerned_and_only_them(hub: Hub) -> None:
    meeting = await create_meeting(hub, invited_people=["edu-02"])
    url = f"/api/v1/meetings/{meeting['id']}"
    later = datetime.now(UTC) + timedelta(days=1)
    moved = await hub.client.patch(url, json={"starts_at": later.isoformat(),
                                              "ends_at": (later + timedelta(hours=1)).isoformat()},
                                   headers=hub.auth("p-xie"))
    assert moved.status == 200
    assert await kinds(hub, "pub-util-04") == ["changed", "invited"]
    changed = (await news(hub, "edu-02"))["items"][0]
    assert datetime.fromisoformat(changed["data"]["starts_at"]) == later

    # invitees swapped: the new one is invited, the old one told they no longer are, nobody else hears of it
    swapped = await hub.client.patch(url, json={"invited_people": ["police-04"]}, headers=hub.auth("p-xie"))
    assert swapped.status == 200
    assert await kinds(hub, "police-04") == ["invited"]
    assert await kinds(hub, "edu-02") == ["uninvited", "changed", "invited"]
    assert await kinds(hub, "pub-util-04") == ["changed", "invited"]
    # a lobby setting is nobody's news
    assert (await hub.client.patch(url, json={"lobby": False}, headers=hub.auth("p-xie"))).status == 200
    assert await kinds(hub, "pub-util-04") == ["changed", "invited"]

    cancelled = await hub.client.post(f"{url}/cancel", headers=hub.auth("p-xie"))
    assert cancelled.status == 200
    for person in (*UNIT, "police-04"):
        assert (await kinds(hub, person))[0] == "cancelled", person
    assert await kinds(hub, "edu-02") == ["uninvited", "changed", "invited"]
    assert await kinds(hub, "p-xie") == []


async def test_read_one_read_all_and_refusals(hub: Hub) -> None:
    for title in ("一", "二", "三"):
        await create_meeting(hub, title=title)
    items = (await news(hub, "pub-util-04"))["items"]
    assert [n["title"] for n in items] == ["三", "二", "一"]
    read = await hub.client.post(f"/api/v1/notifications/{items[0]['id']}/read", headers=hub.auth("pub-util-04"))
    assert read.status == 200 and (await read.json()) == {"read": True, "unread": 2}
    unread = (await news(hub, "pub-util-04", unread="true"))["items"]
    assert [n["title"] for n in unread] == ["二", "一"]
    # somebody else's notification does not exist for me; a bad id is a bad request
    theirs = await hub.client.post(f"/api/v1/notifications/{items[1]['id']}/read", headers=hub.auth("edu-02"))
    assert theirs.status == 404 and (await theirs.json())["error"]["code"] == "notification_not_found"
    for bad in ("abc", "-1", "9" * 40):
        refused = await hub.client.post(f"/api/v1/notifications/{bad}/read", headers=hub.auth("pub-util-04"))
        assert refused.status in (400, 404), bad
        assert "error" in await refused.json()
    assert (await hub.client.get("/api/v1/notifications?limit=0", headers=hub.auth("edu-02"))).status == 400
    assert (await hub.client.get("/api/v1/notifications?subject=x", headers=hub.auth("edu-02"))).status == 400
    assert (await hub.client.get("/api/v1/notifications")).status == 401
    everything = await hub.client.post("/api/v1/notifications/read", headers=hub.auth("pub-util-04"))
    assert (await everything.json()) == {"marked": 2, "unread": 0}
    assert (await news(hub, "pub-util-04"))["unread"] == 0
    assert (await news(hub, "pub-util-05"))["unread"] == 3  # the colleague's are theirs


async def test_a_meeting_starting_soon_is_announced_once(hub: Hub) -> None:
    now = datetime.now(UTC)
    soon = await create_meeting(hub, starts_at=(now + timedelta(minutes=8)).isoformat(),
                                ends_at=(now + timedelta(minutes=68)).isoformat())
    await create_meeting(hub, title="下午的会", starts_at=(now + timedelta(hours=3)).isoformat(),
                         ends_at=(now + timedelta(hours=4)).isoformat())
    meetings = hub.app[keys.MEETINGS]
    assert await meetings.remind_starting(timedelta(minutes=10)) == [soon["id"]]
    # every node looks: the second look (this node or another) sends nothing
    assert await meetings.remind_starting(timedelta(minutes=10)) == []
    assert await kinds(hub, "pub-util-04") == ["starting", "invited", "invited"]
    assert await kinds(hub, "p-xie") == ["starting"]  # the chair and organizer too

    # moved to another time soon: announced again, for the new time; cancelled: the reminder is read
    later = now + timedelta(minutes=9)
    await hub.client.patch(f"/api/v1/meetings/{soon['id']}", json={"starts_at": later.isoformat()},
                           headers=hub.auth("p-xie"))
    assert await meetings.remind_starting(timedelta(minutes=10)) == [soon["id"]]
    await hub.client.post(f"/api/v1/meetings/{soon['id']}/cancel", headers=hub.auth("p-xie"))
    unread = [n["kind"] for n in (await news(hub, "pub-util-04", unread="true"))["items"]]
    assert unread == ["cancelled", "changed", "invited", "invited"]


async def test_news_arrives_live_on_every_socket_of_the_person(hub: Hub) -> None:
    pages = [SignalingClient(ws_url(hub), token=hub.token("pub-util-04")) for _ in range(2)]
    other = SignalingClient(ws_url(hub), token=hub.token("edu-02"))
    try:
        for client in (*pages, other):
            await client.connect()
            assert await client.request("notifications.watch") == {"unread": 0}
        meeting = await create_meeting(hub)
        for client in pages:
            event = await client.event("notification")
            assert event["notification"]["subject_id"] == meeting["id"]
            assert event["notification"]["kind"] == "invited"
        note_id = event["notification"]["id"]
        await hub.client.post(f"/api/v1/notifications/{note_id}/read", headers=hub.auth("pub-util-04"))
        for client in pages:
            assert (await client.event("notifications.unread")) == {"count": 0}
        # a watch twice on one socket is harmless; a malformed one is refused
        assert await pages[0].request("notifications.watch") == {"unread": 0}
        with pytest.raises(SignalingError) as refused:
            await other.request("notifications.watch", extra=1)
        assert refused.value.code == "invalid_message"
        assert await other.request("ping") is not None  # and the socket goes on
    finally:
        for client in (*pages, other):
            await client.close()

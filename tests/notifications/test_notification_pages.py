"""The notifications page over HTTP: the list with labels and times, the unread badge, following one marks it
read, mark read and mark all read, refusals."""

from __future__ import annotations

import re

from tests.conftest import Hub
from tests.meetings.conftest import create_meeting
from tests.meetings.test_meeting_pages import signed_in


async def test_the_list_the_badge_and_reading(hub: Hub) -> None:
    first = await create_meeting(hub, title="防汛调度会")
    second = await create_meeting(hub, title="供水保障会")
    await signed_in(hub, "pub-util-04")
    page = await (await hub.client.get("/notifications", headers={"Accept-Language": "zh-CN"})).text()
    assert page.count('data-test="notice"') == 2
    assert page.index("供水保障会") < page.index("防汛调度会")  # newest first
    assert "会议邀请" in page and "2 条未读" in page
    assert f'href="/api/v1/meetings/{first["id"]}/calendar.ics"' in page
    badge = re.search(r'data-test="nav-badge-notifications"[^>]*>(\d+)<', page)
    assert badge is not None and badge.group(1) == "2"

    # following one marks it read and goes to the meeting
    note_ids = re.findall(r'href="/notifications/(\d+)" data-test="notice-open"', page)
    opened = await hub.client.get(f"/notifications/{note_ids[0]}", allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == f"/meetings/{second['id']}"
    page = await (await hub.client.get("/notifications")).text()
    assert page.count('class="notice unread"') == 1

    marked = await hub.client.post(f"/notifications/{note_ids[1]}/read", allow_redirects=False)
    assert marked.status == 303
    page = await (await hub.client.get("/notifications", headers={"Accept-Language": "en"})).text()
    assert "Nothing unread." in page and 'data-test="read-all"' not in page
    assert 'data-test="nav-badge-notifications" aria-hidden="true" hidden' in page


async def test_mark_all_read_and_refusals(hub: Hub) -> None:
    await create_meeting(hub)
    await create_meeting(hub)
    await signed_in(hub, "pub-util-04")
    done = await hub.client.post("/notifications/read", allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/notifications"
    assert 'class="notice unread"' not in await (await hub.client.get("/notifications")).text()
    # someone else's notification, no notification, a bad number: clear pages, nothing changes
    await signed_in(hub, "edu-02")
    assert (await hub.client.get("/notifications/1")).status == 404
    assert (await hub.client.get("/notifications/x1")).status == 400
    empty = await (await hub.client.get("/notifications", headers={"Accept-Language": "en"})).text()
    assert 'data-test="notice-empty"' in empty


async def test_visitors_are_sent_to_sign_in(hub: Hub) -> None:
    response = await hub.client.get("/notifications", allow_redirects=False)
    assert response.status == 302

"""The meeting page in headless Chromium (fake camera and microphone): joining, video, chair controls, lobby,
a network drop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from hub import keys
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.browser import People, join, people_on, remote_videos_playing
from tests.meetings.conftest import create_meeting

pytestmark = [pytest.mark.browser, pytest.mark.media]


@pytest.fixture
async def web_hub(aiohttp_client: Any, tmp_path: Path) -> Hub:
    settings = make_settings(tmp_path, meetings={"inactivity_timeout": 4.0})
    return await start_hub(aiohttp_client, settings)


@pytest.fixture
async def people(chromium: Browser, web_hub: Hub) -> AsyncIterator[People]:
    async with people_on(chromium, web_hub) as crowd:
        yield crowd


async def test_two_then_three_pages_see_each_others_video(web_hub: Hub, people: People) -> None:
    meeting = await create_meeting(web_hub)
    chair = await people.page("p-xie", f"/meetings/{meeting['id']}")
    member = await people.page("pub-util-04", f"/meetings/{meeting['id']}")
    await join(chair)
    await join(member)
    await remote_videos_playing(chair, 1)
    await remote_videos_playing(member, 1)
    # tiles are labelled from the directory
    assert "周淑珍" in await chair.inner_text('[data-test="grid"]')
    assert "市公用事业局" in await chair.inner_text('[data-test="grid"]')
    # keyboard shortcuts: M mutes the microphone, V turns the camera off; everyone sees it
    await member.keyboard.press("m")
    await member.keyboard.press("v")
    assert await member.get_attribute('[data-test="mute"]', "aria-pressed") == "true"
    assert await member.get_attribute('[data-test="camera"]', "aria-pressed") == "true"
    await chair.wait_for_selector('[data-person="pub-util-04"] [data-flag="muted"]')
    await chair.wait_for_selector('[data-person="pub-util-04"] [data-flag="camera-off"]')
    # the hub asked for Opus DTX: Chromium's muted microphone sends a packet every 400 ms, not 50 a second
    member_id = next(p["participant_id"] for p in await web_hub.app[keys.MEETINGS].participants(meeting["id"])
                     if p["person_id"] == "pub-util-04")
    room = web_hub.app[keys.MEETING_ROOMS].sfu.rooms[meeting["id"]]
    microphone = next(f for f in room.forwarders.values()
                      if f.info.participant_id == member_id and f.info.kind == "audio")
    await member.wait_for_timeout(500)
    received = microphone.stats.packets_received
    await member.wait_for_timeout(2000)
    assert microphone.stats.packets_received - received <= 15  # 100 without DTX
    await member.keyboard.press("m")
    await member.keyboard.press("v")
    await chair.wait_for_selector('[data-person="pub-util-04"] [data-flag="muted"]', state="detached")
    await chair.wait_for_selector('[data-person="pub-util-04"] [data-flag="camera-off"]', state="detached")

    # whatever another domain publishes on the meeting's bus channel reaches the page's extensions
    await chair.evaluate("""() => { window.seen = []
      window.addEventListener('cityhub:meeting-event', (e) => window.seen.push(e.detail)) }""")
    await web_hub.app[keys.BUS].publish(f"meeting.{meeting['id']}", {"event": "minutes.saved", "version": 3})
    await chair.wait_for_function(
        "() => window.seen.some((e) => e.event === 'minutes.saved' && e.data.version === 3)")

    third = await people.page("pub-util-03", f"/meetings/{meeting['id']}")
    await join(third)
    for page in (chair, member, third):
        await remote_videos_playing(page, 2)
    assert await chair.inner_text('[data-test="count"]') == "3"


async def test_chair_mutes_and_removes_someone(web_hub: Hub, people: People) -> None:
    meeting = await create_meeting(web_hub)
    chair = await people.page("p-xie", f"/meetings/{meeting['id']}")
    member = await people.page("pub-util-05", f"/meetings/{meeting['id']}")
    await join(chair)
    await join(member)
    await remote_videos_playing(chair, 1)
    await chair.click('[data-test="mute-pub-util-05"]')
    await member.wait_for_function(
        "() => window.cityhubMeeting.local.getAudioTracks().every((t) => !t.enabled)")
    assert await member.get_attribute('[data-test="mute"]', "aria-pressed") == "true"
    await chair.wait_for_function(
        "() => document.querySelector('[data-person=\"pub-util-05\"] [data-flag=\"muted\"]') !== null")
    # a non-chair sees no chair controls
    assert await member.is_hidden('[data-test="end"]')
    assert await member.locator('[data-test="mute-p-xie"]').count() == 0

    await chair.click('[data-test="remove-pub-util-05"]')
    await member.wait_for_selector('.meeting[data-phase="left"]')
    assert "移出" in await member.inner_text(".left-message")
    await chair.wait_for_function("() => document.querySelectorAll('.tile:not(.local)').length === 0")
    assert await chair.inner_text('[data-test="count"]') == "1"
    # back through the lobby only: the chair sees the request; then the chair ends the meeting for all
    await member.click('[data-test="rejoin"]')
    await member.wait_for_selector('.meeting[data-phase="lobby"]')
    await chair.wait_for_selector('[data-test="deny-pub-util-05"]')
    await chair.click('[data-test="end"]')
    await chair.wait_for_selector('.meeting[data-phase="left"]')
    assert "会议已结束" in await chair.inner_text(".left-message")
    await member.wait_for_selector('.meeting[data-phase="left"]')
    assert "会议已结束" in await member.inner_text(".left-message")
    # over: no way back in, the way to its record instead
    assert await member.is_hidden('[data-test="rejoin"]')
    await member.click('[data-test="view-record"]')
    await member.wait_for_selector('[data-test="meeting-record"]')
    assert await member.locator("video").count() == 0 and await member.locator('[data-test="join"]').count() == 0


async def test_screen_share_starts_and_stops(web_hub: Hub, people: People) -> None:
    meeting = await create_meeting(web_hub)
    chair = await people.page("p-xie", f"/meetings/{meeting['id']}")
    member = await people.page("pub-util-04", f"/meetings/{meeting['id']}")
    await join(chair)
    await join(member)
    await remote_videos_playing(chair, 1)
    await member.click('[data-test="screen"]')  # the fake UI picks the (fake) screen
    await chair.wait_for_selector(".tile.screen")
    assert "周淑珍" in await chair.inner_text(".tile.screen")
    await remote_videos_playing(chair, 2)  # camera and screen
    await chair.wait_for_selector('[data-person="pub-util-04"]')
    participants = await web_hub.app[keys.MEETINGS].participants(meeting["id"])
    assert {p["person_id"]: p["screen"] for p in participants}["pub-util-04"] is True
    await member.click('[data-test="screen"]')
    await chair.wait_for_selector(".tile.screen", state="detached", timeout=15_000)
    await remote_videos_playing(chair, 1)


async def test_an_uninvited_person_is_told_why_when_the_lobby_is_off(web_hub: Hub, people: People) -> None:
    meeting = await create_meeting(web_hub, lobby=False)
    outsider = await people.page("edu-02", f"/meetings/{meeting['id']}")
    await outsider.click('[data-test="join"]')
    error = outsider.locator('[data-test="join-error"]')
    await error.wait_for()
    assert await error.inner_text() == "您未受邀参加本次会议。"
    assert await error.get_attribute("data-code") == "not_invited"
    assert await outsider.get_attribute(".meeting", "data-phase") == "preview"


async def test_lobby_admission(web_hub: Hub, people: People) -> None:
    meeting = await create_meeting(web_hub, lobby=True)
    chair = await people.page("p-xie", f"/meetings/{meeting['id']}")
    await join(chair)
    guest = await people.page("edu-02", f"/meetings/{meeting['id']}", locale="en")
    await guest.click('[data-test="join"]')
    await guest.wait_for_selector('.meeting[data-phase="lobby"]')
    assert "Waiting in the lobby" in await guest.inner_text('[data-test="lobby-wait"]')
    await chair.click('[data-test="admit-edu-02"]')
    await guest.wait_for_selector('.meeting[data-phase="in"]', timeout=15_000)
    await remote_videos_playing(guest, 1)
    await remote_videos_playing(chair, 1)
    # chat: the guest writes, the chair reads it
    await guest.click('[data-tab="chat"]')
    await guest.fill('[data-test="chat-input"]', "Thanks for letting me in")
    await guest.press('[data-test="chat-input"]', "Enter")
    await chair.click('[data-tab="chat"]')
    await chair.wait_for_selector('[data-test="chat-log"] >> text=Thanks for letting me in')


async def test_a_page_whose_network_drops_comes_back_with_video(web_hub: Hub, people: People) -> None:
    meeting = await create_meeting(web_hub)
    chair = await people.page("p-xie", f"/meetings/{meeting['id']}")
    member = await people.page("pub-util-04", f"/meetings/{meeting['id']}")
    await join(chair)
    await join(member)
    await remote_videos_playing(member, 1)
    before = await member.evaluate("() => window.cityhubMeeting.participantId")

    context = member.context
    await context.set_offline(True)
    for session in web_hub.app[keys.SIGNALING].sessions_of("pub-util-04"):
        # the network is gone: the TCP connection dies without a close handshake
        session._socket.ws._req.transport.abort()  # type: ignore[union-attr]
    await member.wait_for_selector('[data-test="conn-banner"]:not([hidden])')
    await member.wait_for_timeout(1500)
    await context.set_offline(False)

    await member.wait_for_function(
        "(before) => window.cityhubMeeting.participantId !== before && window.cityhubMeeting.phase === 'in'",
        arg=before, timeout=20_000)
    await member.wait_for_selector('[data-test="conn-banner"]', state="hidden")
    await remote_videos_playing(member, 1)
    await remote_videos_playing(chair, 1)
    participants = await web_hub.app[keys.MEETINGS].participants(meeting["id"])
    assert sorted(p["person_id"] for p in participants) == ["p-xie", "pub-util-04"]


async def test_an_ended_meetings_page_is_its_record(web_hub: Hub, people: People) -> None:
    """No camera, no join: the minutes, the decisions with their items, the attendance, for the chair; a
    cancelled meeting says so."""
    meeting = await create_meeting(web_hub, invited_people=["edu-02"])
    meetings = web_hub.app[keys.MEETINGS]
    await meetings.mark_live(meeting["id"])
    chair = await web_hub.app[keys.AUTH].authenticate(web_hub.token("p-xie"))
    due = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    decided = await web_hub.client.post(
        f"/api/v1/meetings/{meeting['id']}/decisions", headers=web_hub.auth("p-xie"),
        json={"text": "加固城区排水管网", "lead_unit": "pub-util", "responsible": "pub-util-04", "due_date": due})
    assert decided.status == 201
    await meetings.end(chair, meeting["id"])
    page = await people.page("p-xie", f"/meetings/{meeting['id']}")
    await page.wait_for_selector('[data-test="meeting-record"]')
    assert "本次会议已于" in await page.inner_text('[data-test="record-status"]')
    decision = page.locator('[data-test="record-decision"]')
    await decision.wait_for()
    assert "加固城区排水管网" in await decision.inner_text() and "周淑珍" in await decision.inner_text()
    assert await page.locator('[data-test="record-minutes-open"]').get_attribute("href") == (
        f"/docs/{meeting['minutes_doc_id']}")
    assert await page.locator('[data-test="attendance-link"]').count() == 1
    nothing_to_join = "() => document.querySelectorAll('video, [data-test=join], [data-test=rejoin]').length"
    assert await page.evaluate(nothing_to_join) == 0
    assert await page.evaluate("() => window.cityhubMeeting === undefined")
    # an invitee sees the record too, without the attendance sheet (chair, secretary, organizer, supervisors)
    invitee = await people.page("edu-02", f"/meetings/{meeting['id']}", locale="en")
    await invitee.wait_for_selector('[data-test="meeting-record"]')
    assert await invitee.locator('[data-test="attendance-link"]').count() == 0
    assert await invitee.locator('[data-test="record-decision"]').count() == 1

    cancelled = await create_meeting(web_hub, title="取消的会")
    await web_hub.client.post(f"/api/v1/meetings/{cancelled['id']}/cancel", headers=web_hub.auth("p-xie"))
    page = await people.page("pub-util-04", f"/meetings/{cancelled['id']}")
    await page.wait_for_selector('[data-test="meeting-record"][data-status="cancelled"]')
    assert "本次会议已取消" in await page.inner_text('[data-test="record-status"]')
    assert await page.locator('[data-test="record-decisions"]').count() == 0
    assert people.errors == []

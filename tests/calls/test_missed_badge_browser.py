"""The missed-calls badge on the Phone link of every page, in headless Chromium: rendered by the server, kept
current on every page (each holds the person's signaling socket and rings), cleared by opening /phone."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.calls.browser import PhoneHub, shot
from tests.meetings.browser import join

pytestmark = [pytest.mark.browser]

PHONE_LINK = ".mainnav a[href='/phone']"
BADGE = "[data-test=nav-badge-missed-calls]"


async def missed_call(live: PhoneHub, callee: str, *pages: Page) -> None:
    """Someone calls the callee and gives up before an answer: it rang on the callee's pages, and is missed."""
    caller = await live.client("p-xie")
    placed = await caller.request("call.dial", person=callee)
    assert placed["call"]["state"] == "ringing"
    for page in pages:
        await expect(page.locator("[data-test=page-incoming]")).to_be_visible()
    await caller.request("call.cancel", call_id=placed["call"]["id"])
    for page in pages:
        await expect(page.locator("[data-test=page-incoming]")).to_be_hidden()


async def badge(page: Page) -> tuple[str | None, str | None]:
    """The badge's text when shown (None when hidden) and the Phone link's accessible name override."""
    link = page.locator(PHONE_LINK)
    shown = await link.locator(BADGE).is_visible()
    return (await link.locator(BADGE).inner_text() if shown else None), await link.get_attribute("aria-label")


async def test_missed_calls_show_on_the_phone_link_everywhere_until_phone_is_opened(live: PhoneHub) -> None:
    meeting_id = await live.meeting("p-xie", "gov-office-03")
    room = await live.open("gov-office-03", f"/meetings/{meeting_id}", width=1366)
    await join(room)  # the room's signaling socket is open from now on
    desk = await live.open("gov-office-03", "/directory", locale="en", width=390)
    for page in (room, desk):
        assert await badge(page) == (None, None)

    await desk.wait_for_function("() => window.cityhubPagePhone && window.cityhubPagePhone.deviceId", polling=100)
    await missed_call(live, "gov-office-03", room, desk)
    # live, on the socket each page holds (the meeting room's own)
    await expect(room.locator(BADGE)).to_have_text("1")
    await expect(room.locator(PHONE_LINK)).to_have_attribute("aria-label", "视频电话，1 个未接来电")
    await expect(desk.locator(BADGE)).to_have_text("1")
    await missed_call(live, "gov-office-03", room, desk)
    await expect(room.locator(BADGE)).to_have_text("2")
    await shot(room, "nav-badge-meeting-zh_CN-1366")
    await room.set_viewport_size({"width": 390, "height": 800})
    await shot(room, "nav-badge-meeting-zh_CN-390")
    # first render, from the call log: any page, here in English on a narrow screen
    await desk.reload()
    assert await badge(desk) == ("2", "Phone, 2 missed calls")
    await shot(desk, "nav-badge-directory-en-390")
    await desk.set_viewport_size({"width": 1366, "height": 860})
    await shot(desk, "nav-badge-directory-en-1366")

    # opening /phone shows the log: the two calls are marked new there, and counted as seen everywhere
    async with desk.expect_navigation():
        await desk.click(PHONE_LINK)
    await desk.wait_for_function("() => window.cityhubPhone && window.cityhubPhone.deviceId")
    await expect(desk.locator("[data-test=call-log] [data-test=log-new]")).to_have_count(2)
    await expect(desk.locator("[data-test=call-log] .log-missed").first).to_contain_text("New")
    await expect(desk.locator(BADGE)).to_be_hidden()
    await expect(desk.locator("[data-test=missed-badge]")).to_be_hidden()
    await expect(room.locator(BADGE)).to_be_hidden()
    assert await room.locator(PHONE_LINK).get_attribute("aria-label") is None
    await shot(desk, "phone-after-seen-en-1366")
    # and they stay seen: another page, and /phone again, show no badge and nothing new
    await room.goto(f"{live.url}/directory")
    assert await badge(room) == (None, None)
    await desk.reload()
    await desk.wait_for_function("() => window.cityhubPhone && window.cityhubPhone.deviceId")
    await expect(desk.locator("[data-test=call-log] .log-missed")).to_have_count(2)
    await expect(desk.locator("[data-test=call-log] [data-test=log-new]")).to_have_count(0)

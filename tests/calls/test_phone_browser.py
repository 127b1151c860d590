"""The phone page in headless Chromium (fake camera and microphone): calls between browsers and terminals."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from hub import keys
from tests.calls.browser import PhoneHub, dial_extension, frames_decoded, shot, wait_frames
from tests.calls.terminals import CliTerminal, answer_before_the_dial_reply, media_flowing, next_line
from tests.meetings.browser import remote_videos_playing

pytestmark = [pytest.mark.browser, pytest.mark.media]


async def test_browser_calls_browser_both_see_video_and_the_log_has_the_duration(live: PhoneHub) -> None:
    caller = await live.phone("p-xie")
    callee = await live.phone("gov-office-03")
    await dial_extension(caller, "8103")
    await expect(caller.locator("[data-test=call-state]")).to_have_text("对方振铃中…")
    await expect(caller.locator("[data-test=call-peer]")).to_have_text("蒋平")
    overlay = callee.locator("[data-test=incoming]")
    await expect(overlay).to_be_visible()
    await expect(callee.locator("[data-test=incoming-name]")).to_have_text("谢继成")
    await expect(callee.locator("[data-test=incoming-unit]")).to_contain_text("市公用事业局")
    assert await callee.evaluate("document.body.dataset.tone") == "ring"
    await callee.click("[data-test=answer]")
    await expect(overlay).to_be_hidden()
    for page in (caller, callee):
        await expect(page.locator("[data-test=call-state]")).to_have_text("通话中", timeout=20_000)
        await wait_frames(page)
    await expect(caller.locator("[data-test=call-duration]")).not_to_have_text("00:00", timeout=5_000)
    # the caller's socket drops and comes back: the call goes on, the callee sees nothing of it
    await caller.evaluate("window.cityhubPhone.signaling.ws.close()")
    await expect(caller.locator("[data-test=in-call]")).to_have_attribute("data-state", "reconnecting")
    await expect(caller.locator("[data-test=in-call]")).to_have_attribute("data-state", "connected", timeout=10_000)
    before = await frames_decoded(callee)
    await callee.wait_for_timeout(500)
    assert await frames_decoded(callee) > before
    await expect(callee.locator("[data-test=call-state]")).to_have_text("通话中")
    await caller.click("[data-test=hangup]")
    for page in (caller, callee):
        await expect(page.locator("[data-test=in-call]")).to_have_attribute("data-outcome", "answered")
        await expect(page.locator("[data-test=in-call]")).to_be_hidden(timeout=5_000)
    entry = callee.locator("[data-test=call-log] .log-entry").first
    await expect(entry).to_contain_text("谢继成")
    await expect(entry.locator("[data-test=log-outcome]")).to_contain_text("已接通 · 00:0")


async def test_second_tab_stops_ringing_when_the_first_answers(live: PhoneHub) -> None:
    caller = await live.phone("p-xie", locale="en")
    first = await live.phone("gov-office-03", locale="en")
    second = await live.phone("gov-office-03", context=first.context)
    await dial_extension(caller, "8103")
    for tab in (first, second):
        await expect(tab.locator("[data-test=incoming]")).to_be_visible()
    await first.click("[data-test=answer]")
    await expect(second.locator("[data-test=incoming]")).to_be_hidden()
    await expect(second.locator("[data-test=toast]")).to_have_text("Answered on another device")
    assert await second.evaluate("document.body.dataset.tone") == ""
    await expect(first.locator("[data-test=call-state]")).to_have_text("In call", timeout=20_000)
    await first.click("[data-test=hangup]")
    await expect(caller.locator("[data-test=in-call]")).to_have_attribute("data-outcome", "answered")


async def test_busy_decline_and_refused_numbers_are_shown_to_the_caller(live: PhoneHub) -> None:
    caller = await live.phone("p-xie")
    callee = await live.phone("gov-office-03")
    third = await live.phone("drc-01")
    # decline: the caller is told, the callee's overlay goes away
    await dial_extension(caller, "8103")
    await callee.click("[data-test=decline]")
    await expect(callee.locator("[data-test=incoming]")).to_be_hidden()
    await expect(caller.locator("[data-test=call-state]")).to_have_text("对方已拒接")
    await expect(caller.locator("[data-test=in-call]")).to_be_hidden(timeout=5_000)
    # busy: the callee is talking to someone else; the caller gets a clear busy signal (text and tone)
    await dial_extension(third, "8103")
    await callee.click("[data-test=answer]")
    await expect(callee.locator("[data-test=call-state]")).to_have_text("通话中", timeout=20_000)
    await dial_extension(caller, "8103")
    await expect(caller.locator("[data-test=in-call]")).to_have_attribute("data-state", "busy")
    await expect(caller.locator("[data-test=call-state]")).to_have_text("对方忙线，请稍后再拨。")
    assert await caller.evaluate("document.body.dataset.tone") == "busy"
    await expect(caller.locator("[data-test=in-call]")).to_be_hidden(timeout=6_000)
    # numbers that cannot be called: a clear message, no call view left open
    await dial_extension(caller, "0000")
    await expect(caller.locator("[data-test=toast]")).to_have_text("没有这个分机号。")
    await expect(caller.locator("[data-test=in-call]")).to_be_hidden()


async def test_forbidden_call_and_duty_line_from_a_terminal_account(live: PhoneHub) -> None:
    office = await live.phone("shinan-office-term")
    duty_member = await live.phone("shinan-emergency-02")
    await dial_extension(office, "6311")
    await expect(office.locator("[data-test=toast]")).to_have_text("您无权拨打这个号码。")
    # the district's emergency office duty line rings its members
    await dial_extension(office, "6120")
    await expect(duty_member.locator("[data-test=incoming-duty]")).to_have_text("值班电话: 市南区应急管理办公室")
    await expect(duty_member.locator("[data-test=incoming-name]")).to_have_text("市南区政府办公室视频终端")
    await office.click("[data-test=hangup]")
    await expect(duty_member.locator("[data-test=incoming]")).to_be_hidden()
    await expect(duty_member.locator("[data-test=missed-badge]")).to_contain_text("1")
    # presence: the unit's terminal comes online and gets its green dot; the member who is away does not
    await live.phone("shinan-emergency-term")
    await duty_member.evaluate("window.cityhubPhone.refreshPresence()")
    unit = duty_member.locator("[data-test=my-unit] .contact")
    await expect(unit.filter(has_text="市南区应急管理办公室视频终端")).to_have_attribute("data-online", "true")
    await expect(unit.filter(has_text="廖杰")).to_have_attribute("data-online", "false")


# What the browser does when the person brings a background tab to the front (headless tabs never go hidden).
BACK_TO_THE_FRONT = """() => { for (const state of ['hidden', 'visible']) {
  Object.defineProperty(document, 'visibilityState', { value: state, configurable: true })
  document.dispatchEvent(new Event('visibilitychange')) } }"""


async def test_a_call_missed_with_the_phone_open_counts_until_the_log_is_looked_at(live: PhoneHub) -> None:
    caller = await live.phone("p-xie", locale="en")
    callee = await live.phone("gov-office-03", locale="en")
    badge, nav = callee.locator("[data-test=missed-badge]"), callee.locator("[data-test=nav-badge-missed-calls]")
    entries = callee.locator("[data-test=call-log] .log-entry.log-missed")

    async def missed() -> None:
        await dial_extension(caller, "8103")
        await expect(callee.locator("[data-test=incoming]")).to_be_visible()
        await caller.click("[data-test=hangup]")
        await expect(callee.locator("[data-test=incoming]")).to_be_hidden()

    await missed()
    # the person may be away from the desk: the count stays while the page only sits on screen
    await expect(badge).to_have_text("Missed 1")
    await expect(nav).to_have_text("1")
    await callee.wait_for_timeout(500)
    await expect(badge).to_have_text("Missed 1")
    # the tab comes back to the front: the log is looked at, the call keeps a "new" mark for this visit
    await callee.evaluate(BACK_TO_THE_FRONT)
    await expect(badge).to_be_hidden()
    await expect(nav).to_be_hidden()
    await expect(entries).to_have_count(1)
    await expect(entries.locator("[data-test=log-new]")).to_have_text("New")
    # the next one, looked at through the missed-calls filter
    await missed()
    await expect(badge).to_have_text("Missed 1")
    await callee.click("[data-test=filter-missed]")
    await expect(badge).to_be_hidden()
    await expect(entries).to_have_count(2)
    await expect(entries.first).to_contain_text("谢继成")
    # call back from the log rings the caller
    await entries.first.locator("[data-test=call-back]").click()
    await expect(caller.locator("[data-test=incoming-name]")).to_have_text("蒋平")
    await caller.click("[data-test=decline]")


async def test_browser_calls_terminal_and_terminal_calls_browser(live: PhoneHub) -> None:
    token = await live.token("shinan-office-term")
    terminal = await CliTerminal("--url", live.url, "--token", token, "--auto-answer").start()
    try:
        page = await live.phone("p-xie")
        # the terminal answers at once; its answer reaches the page before the reply to the dial does
        with answer_before_the_dial_reply(live.hub.app[keys.CALLS]):
            await dial_extension(page, "6119")
            await next_line(terminal.lines, "answered")
        await expect(page.locator("[data-test=call-state]")).to_have_text("通话中", timeout=20_000)
        await wait_frames(page)
        assert int((await media_flowing(terminal.lines))["video_frames"]) > 0
        await page.click("[data-test=hangup]")
        ended = await next_line(terminal.lines, "ended")
        assert ended["outcome"] == "answered" and int(ended["video_frames"]) > 0
    finally:
        await terminal.interrupt()

    dialler = await CliTerminal("--url", live.url, "--token", token, "--dial", "9401").start()
    try:
        # the terminal is a new process (Python and aiortc to import): on a loaded machine it dials after seconds
        await expect(page.locator("[data-test=incoming-name]")).to_have_text("市南区政府办公室视频终端",
                                                                               timeout=20_000)
        await page.click("[data-test=answer]")
        await wait_frames(page)
        assert int((await media_flowing(dialler.lines))["video_frames"]) > 0
        await page.click("[data-test=hangup]")
        assert await dialler.wait() == 0
        assert [name for name, _ in dialler.seen][-2:] == ["ended", "bye"]
    finally:
        await dialler.interrupt()


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_answering_is_obvious_on_a_phone_and_a_desk(live: PhoneHub, locale: str) -> None:
    caller = await live.phone("shinan-office-term", locale=locale)
    callee = await live.phone("shinan-emergency-01", locale=locale, width=390)
    sizes = {390: {"width": 390, "height": 800}, 1280: {"width": 1280, "height": 860}}
    for width in (390, 1280):
        await callee.set_viewport_size(sizes[width])
        await shot(callee, f"idle-{locale}-{width}")
    await dial_extension(caller, "6121")
    answer = callee.locator("[data-test=answer]")
    for width in (390, 1280):
        await callee.set_viewport_size(sizes[width])
        await expect(answer).to_be_visible()
        box = await answer.bounding_box()
        assert box is not None and box["height"] >= 60 and box["width"] >= 150, (width, box)
        await shot(callee, f"incoming-{locale}-{width}")
    assert await answer.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(21, 128, 61)"
    assert await callee.locator("[data-test=decline]").evaluate(
        "b => getComputedStyle(b).backgroundColor") == "rgb(198, 40, 40)"
    await expect(answer).to_be_focused()
    await answer.click()
    await expect(callee.locator("[data-test=call-state]")).to_have_text(
        "通话中" if locale == "zh_CN" else "In call", timeout=20_000)
    await wait_frames(callee)
    for width in (1280, 390):
        await callee.set_viewport_size(sizes[width])
        hangup = await callee.locator("[data-test=hangup]").bounding_box()
        assert hangup is not None and hangup["y"] + hangup["height"] <= sizes[width]["height"]
        await shot(callee, f"in-call-{locale}-{width}")
    await callee.click("[data-test=hangup]")
    await expect(callee.locator("[data-test=in-call]")).to_be_hidden(timeout=5_000)
    for width in (390, 1280):
        await callee.set_viewport_size(sizes[width])
        await shot(callee, f"log-{locale}-{width}")


async def test_a_call_turned_into_a_meeting_joins_both_ends_with_their_devices(live: PhoneHub) -> None:
    caller = await live.phone("p-xie")
    callee = await live.phone("gov-office-03", locale="en")
    third = await live.phone("drc-01")
    await dial_extension(caller, "8103")
    await callee.click("[data-test=answer]")
    await expect(caller.locator("[data-test=call-state]")).to_have_text("通话中", timeout=20_000)
    # as they were in the call: the caller's microphone off, the callee's camera off
    await caller.click("[data-test=mute]")
    await callee.click("[data-test=camera]")
    await caller.click("[data-test=add-person]")
    await caller.fill("[data-test=add-person-q]", "彭淑珍")
    await expect(caller.locator("[data-test=add-person-results] [data-dial-kind=add]")).to_have_count(1)
    await shot(caller, "add-person-zh_CN-1280")
    async with caller.expect_navigation(), callee.expect_navigation():
        await caller.locator("[data-test=add-person-results] [data-dial-kind=add]").click()
    meeting_path = caller.url.removeprefix(live.url)
    assert meeting_path.startswith("/meetings/") and callee.url == caller.url
    # both ends are in the meeting without a click, microphone and camera as in the call
    for page in (caller, callee):
        await page.wait_for_function("() => window.cityhubMeeting.phase === 'in'", timeout=20_000)
    await expect(caller.locator("[data-test=mute]")).to_have_attribute("aria-pressed", "true")
    await expect(caller.locator("[data-test=camera]")).to_have_attribute("aria-pressed", "false")
    await expect(callee.locator("[data-test=camera]")).to_have_attribute("aria-pressed", "true")
    await expect(callee.locator("[data-test=mute]")).to_have_attribute("aria-pressed", "false")
    await expect(callee.locator('[data-person="p-xie"] [data-flag="muted"]')).to_have_count(2)  # tile and list
    await expect(caller.locator('.tile[data-person="gov-office-03"]')).to_have_class(re.compile("video-off"))
    await callee.keyboard.press("v")  # the camera back on: both see each other
    await expect(caller.locator('.tile[data-person="gov-office-03"]')).not_to_have_class(re.compile("video-off"))
    for page in (caller, callee):
        await remote_videos_playing(page, 1)
    for page, locale in ((caller, "zh_CN"), (callee, "en")):
        for width, height in ((1366, 860), (390, 800)):
            await page.set_viewport_size({"width": width, "height": height})
            await shot(page, f"meeting-from-call-{locale}-{width}")
    # the third person was not in the call: the invitation, then the preview and its Join button
    invite = third.locator("[data-test=meeting-invite]")
    await expect(invite).to_be_visible()
    await expect(third.locator("[data-test=invite-by]")).to_have_text("谢继成")
    await shot(third, "invite-zh_CN-1280")
    async with third.expect_navigation():
        await third.click("[data-test=join-meeting]")
    assert third.url == caller.url
    await expect(third.locator("[data-test=preview]")).to_be_visible()
    await third.wait_for_timeout(500)
    assert await third.evaluate("window.cityhubMeeting.phase") == "preview"
    await third.click("[data-test=join]")
    await third.wait_for_function("() => window.cityhubMeeting.phase === 'in'", timeout=20_000)
    meeting_id = meeting_path.rsplit("/", 1)[1]
    participants = await live.hub.app[keys.MEETINGS].participants(meeting_id)
    assert sorted(p["person_id"] for p in participants) == ["drc-01", "gov-office-03", "p-xie"]
    # the note was for one arrival only: a reload later shows the preview and waits for Join
    await caller.reload()
    await expect(caller.locator("[data-test=join]")).to_be_visible()
    await caller.wait_for_timeout(500)
    assert await caller.evaluate("window.cityhubMeeting.phase") == "preview"

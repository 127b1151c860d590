"""A call rings on every page (issue #12): an official at work on a document, the directory or supervision is
reachable. The page rings with the caller's name and unit; Answer opens the call in the phone tab and the page
keeps its unsaved work; Decline tells the caller; a hidden tab shows a notification."""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.calls.browser import PhoneHub, dial_extension, shot, wait_frames

pytestmark = [pytest.mark.browser, pytest.mark.media]

PANEL = "[data-test=page-incoming]"
REGISTERED = "() => window.cityhubPagePhone && window.cityhubPagePhone.deviceId"


async def open_registered(live: PhoneHub, person: str, path: str, **kwargs: object) -> Page:
    page = await live.open(person, path, **kwargs)  # type: ignore[arg-type]
    await page.wait_for_function(REGISTERED, polling=100)
    return page


async def new_document(live: PhoneHub, person: str) -> str:
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{live.url}/api/v1/docs", json={"title": "防汛工作汇报"},
                                   headers={"Authorization": f"Bearer {await live.token(person)}"})
        assert response.status == 201, await response.text()
        return str((await response.json())["id"])


async def test_a_call_answered_from_the_documents_page_keeps_the_page_as_it_was(live: PhoneHub) -> None:
    doc_id = await new_document(live, "gov-office-03")
    desk = await open_registered(live, "gov-office-03", f"/docs/{doc_id}", width=1366)
    await desk.click(".ProseMirror")
    await desk.keyboard.type("本周汛情：")
    caller = await live.phone("p-xie")
    await dial_extension(caller, "8103")
    # the caller hears it ring: the callee is signed in, on a page that is not the phone
    await expect(caller.locator("[data-test=call-state]")).to_have_text("对方振铃中…")
    panel = desk.locator(PANEL)
    await expect(panel).to_be_visible()
    await expect(panel.locator("[data-test=page-incoming-name]")).to_have_text("谢继成")
    await expect(panel.locator("[data-test=page-incoming-unit]")).to_contain_text("市公用事业局")
    assert await desk.evaluate("document.body.dataset.tone") == "ring"
    # ringing takes no focus from the editor: a key pressed while typing goes on in the document
    await desk.keyboard.type("平稳")
    await shot(desk, "page-phone-ringing-zh_CN-1366")

    async with desk.context.expect_page() as opened:
        await panel.locator("[data-test=page-answer]").click()
    phone = await opened.value
    await expect(phone.locator("[data-test=call-state]")).to_have_text("通话中", timeout=20_000)
    await expect(phone.locator("[data-test=call-peer]")).to_have_text("谢继成")
    assert "answer=" not in phone.url, "a reload of the phone tab must not answer again"
    await wait_frames(phone)
    await expect(caller.locator("[data-test=call-state]")).to_have_text("通话中", timeout=20_000)
    # the documents page is where it was, with what was typed, and rings no more
    await expect(panel).to_be_hidden()
    assert desk.url.endswith(f"/docs/{doc_id}")
    assert "本周汛情：平稳" in await desk.evaluate("window.docEditor.editor.getText()")
    assert await desk.evaluate("document.body.dataset.tone || ''") == ""
    await caller.click("[data-test=hangup]")
    await expect(phone.locator("[data-test=in-call]")).to_be_hidden(timeout=10_000)
    # the caller's recent contacts follow the call log without a reload
    recent = caller.locator("[data-test=recent] .contact")
    await expect(recent.first).to_contain_text("蒋平")
    await expect(recent.first.locator("[data-dial-kind=person]")).to_have_attribute("data-dial-id", "gov-office-03")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_a_call_declined_from_any_page_on_a_phone_and_a_desk(live: PhoneHub, locale: str) -> None:
    lang = "zh" if locale == "zh_CN" else "en"
    narrow = await open_registered(live, "gov-office-03", "/supervision", locale=locale, width=390)
    wide = await open_registered(live, "gov-office-03", "/directory", context=narrow.context)
    await wide.set_viewport_size({"width": 1366, "height": 860})
    caller = await live.phone("p-xie")
    await dial_extension(caller, "8103")
    for page in (narrow, wide):
        await expect(page.locator(PANEL)).to_be_visible()
    await shot(narrow, f"page-phone-ringing-{lang}-390")
    await shot(wide, f"page-phone-ringing-{lang}-1366")
    await narrow.locator("[data-test=page-decline]").click()
    await expect(caller.locator("[data-test=call-state]")).to_have_text("对方已拒接")
    for page in (narrow, wide):
        await expect(page.locator(PANEL)).to_be_hidden()


HIDDEN_TAB_WITH_NOTIFICATIONS = """
window.__notes = []
window.Notification = class {
  static permission = 'granted'
  static requestPermission () { return Promise.resolve('granted') }
  constructor (title, options) { window.__notes.push({ title, ...options }); this.open = true }
  close () { this.open = false; window.__notes.push({ closed: true }) }
}
Object.defineProperty(document, 'hidden', { value: true, configurable: true })
"""


async def test_a_hidden_tab_shows_a_notification_until_the_call_stops_ringing(live: PhoneHub) -> None:
    page = await live.open("gov-office-03", "/", locale="en")
    await page.add_init_script(HIDDEN_TAB_WITH_NOTIFICATIONS)
    await page.reload()
    await page.wait_for_function(REGISTERED, polling=100)
    caller = await live.client("p-xie")
    placed = await caller.request("call.dial", person="gov-office-03")
    await page.wait_for_function("() => window.__notes.length > 0", polling=100)
    note = (await page.evaluate("window.__notes"))[0]
    assert note["title"] == "Incoming call: 谢继成" and note["body"] == "市公用事业局"
    assert note["requireInteraction"] is True
    await caller.request("call.cancel", call_id=placed["call"]["id"])
    await page.wait_for_function("() => window.__notes.some((n) => n.closed)", polling=100)
    await expect(page.locator(PANEL)).to_be_hidden()
    # a call given up is a missed call: the badge on the Phone link says so, live
    await expect(page.locator("[data-test=nav-badge-missed-calls]")).to_have_text("1")


async def test_a_person_found_in_the_directory_is_called_with_one_click(live: PhoneHub) -> None:
    callee = await open_registered(live, "gov-office-03", "/docs")
    desk = await live.open("p-xie", "/directory?q=%E8%92%8B%E5%B9%B3", width=390)
    await shot(desk, "directory-call-zh_CN-390")
    async with desk.context.expect_page() as opened:
        await desk.click("[data-test=call-gov-office-03]")
    phone = await opened.value
    await expect(phone.locator("[data-test=call-state]")).to_have_text("对方振铃中…", timeout=10_000)
    await expect(phone.locator("[data-test=call-peer]")).to_have_text("蒋平")
    assert "dial=" not in phone.url, "a reload of the phone tab must not call again"
    await expect(callee.locator("[data-test=page-incoming-name]")).to_have_text("谢继成")
    await phone.click("[data-test=hangup]")
    await expect(callee.locator(PANEL)).to_be_hidden()
    # a link from outside the hub only fills in the call: nothing is dialled without a click
    await phone.goto(f"{live.url}/phone?dial=person:gov-office-03")
    await phone.wait_for_function("() => window.cityhubPhone && window.cityhubPhone.deviceId", polling=100)
    await phone.wait_for_timeout(500)
    await expect(callee.locator(PANEL)).to_be_hidden()
    await expect(phone.locator("[data-test=in-call]")).to_be_hidden()


async def test_a_person_found_by_pinyin_in_the_navigation_is_called(live: PhoneHub) -> None:
    """The navigation's search box on any page: `jp` finds 蒋平, and the result's call button rings them."""
    callee = await open_registered(live, "gov-office-03", "/docs")
    desk = await live.open("p-xie", "/supervision", locale="en", width=1366)
    await desk.fill("[data-test=navsearch]", "jp")
    async with desk.expect_navigation():
        await desk.press("[data-test=navsearch]", "Enter")
    await expect(desk.locator("[data-test=search-people]")).to_contain_text("蒋平")
    await shot(desk, "search-en-1366")
    async with desk.context.expect_page() as opened:
        await desk.click("[data-test=search-call-gov-office-03]")
    phone = await opened.value
    await expect(phone.locator("[data-test=call-peer]")).to_have_text("蒋平", timeout=10_000)
    await expect(callee.locator("[data-test=page-incoming-name]")).to_have_text("谢继成")
    await phone.click("[data-test=hangup]")
    await expect(callee.locator(PANEL)).to_be_hidden()
    narrow = await live.open("p-xie", "/search?q=xjc%20sgy", width=390)
    await expect(narrow.locator("[data-test=search-none]")).to_be_visible()
    await narrow.goto(f"{live.url}/search?q=sgy")
    await expect(narrow.locator("[data-test=search-units]")).to_contain_text("市公用事业局")
    await shot(narrow, "search-zh_CN-390")

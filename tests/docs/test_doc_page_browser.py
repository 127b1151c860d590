"""The real document page /docs/{id} in headless Chromium, signed in as directory people: concurrent typing
converges and is saved, a late tab sees it all, readers read, outsiders are refused, versions restore."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from hub import keys
from hub.docs.content import doc_from_state, plain_text
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.conftest import create_meeting

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "static" / "dist"


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The built page bundles; built here when node_modules is installed but dist/ is missing."""
    if not (DIST / "docpage.js").exists() and (ROOT / "node_modules").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True, capture_output=True)
    if not (DIST / "docpage.js").exists():
        pytest.fail("web/static/dist/docpage.js is missing: run `npm ci && npm run build`")
    return DIST


@pytest.fixture
async def web_hub(aiohttp_client: Any, tmp_path: Path, bundle: Path) -> Hub:
    """A demo hub on SQLite (the API and sync tests cover PostgreSQL)."""
    return await start_hub(aiohttp_client, make_settings(tmp_path))


async def signed_in(browser: Browser, hub: Hub, person: str) -> BrowserContext:
    """A browser context (one cookie jar) signed in through the demo sign-in form."""
    context = await browser.new_context()
    response = await context.request.post(str(hub.client.make_url("/login")),
                                          form={"person": person, "next": "/"})
    assert response.ok
    return context


async def open_doc(browser: Browser, hub: Hub, doc_id: str, person: str) -> Page:
    page = await (await signed_in(browser, hub, person)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(hub.client.make_url(f"/docs/{doc_id}")))
    await page.wait_for_function("() => window.docEditor && window.docEditor.provider.synced", timeout=10_000)
    assert errors == []
    return page


async def new_doc(hub: Hub, person: str = "p-xie", **body: Any) -> str:
    response = await hub.client.post("/api/v1/docs", json={"title": "常务会议纪要", **body}, headers=hub.auth(person))
    assert response.status == 201
    return str((await response.json())["id"])


async def text_of(page: Page) -> str:
    return str(await page.evaluate("() => window.docEditor.editor.getText()"))


async def wait_saved(page: Page) -> None:
    await page.wait_for_selector('.ch-editor-status[data-state="saved"]', timeout=10_000)


async def test_two_people_type_at_once_and_a_late_tab_sees_all(web_hub: Hub, browser: Browser) -> None:
    doc_id = await new_doc(web_hub)
    ann = await open_doc(browser, web_hub, doc_id, "p-xie")
    ben = await open_doc(browser, web_hub, doc_id, "pub-util-04")

    await ann.click(".ProseMirror")
    await ann.keyboard.type("Minutes of the council")
    for line in ("Ann:", "Ben:"):
        await ann.keyboard.press("Enter")
        await ann.keyboard.type(line)
    await ben.wait_for_function("() => window.docEditor.editor.getText().includes('Ben:')")

    async def typing(page: Page, line: str, words: str) -> None:
        await page.click(f".ProseMirror p:has-text('{line}')")
        await page.keyboard.press("End")
        await page.keyboard.type(words, delay=15)

    await asyncio.gather(typing(ann, "Ann:", " ann wrote this line"),
                         typing(ben, "Ben:", " ben wrote another line"))
    await ann.wait_for_function("() => window.docEditor.editor.getText().includes('another line')")
    await ben.wait_for_function("() => window.docEditor.editor.getText().includes('this line')")
    await wait_saved(ann)
    await wait_saved(ben)
    final = await text_of(ann)
    assert final == await text_of(ben)
    for part in ("Minutes of the council", "ann wrote this line", "ben wrote another line"):
        assert part in final

    # The presence list shows the directory's names.
    await ann.wait_for_selector("#doc-presence li:has-text('周淑珍')", timeout=10_000)
    await ben.wait_for_selector("#doc-presence li:has-text('谢继成')", timeout=10_000)
    # What the hub stored is what the tabs show.
    stored = plain_text(doc_from_state(await web_hub.app[keys.DOCS].current_state(doc_id)))
    assert "ann wrote this line" in stored and "ben wrote another line" in stored

    cyd = await open_doc(browser, web_hub, doc_id, "pub-util-05")
    assert await text_of(cyd) == final
    await cyd.wait_for_selector("#doc-presence li:has-text('谢继成')", timeout=10_000)
    await cyd.wait_for_selector(".collaboration-carets__label:has-text('谢继成')", timeout=10_000)


async def test_reader_follows_but_cannot_edit_even_when_tampering(web_hub: Hub, browser: Browser) -> None:
    doc_id = await new_doc(web_hub, unit_access="reader")
    ann = await open_doc(browser, web_hub, doc_id, "p-xie")
    await ann.click(".ProseMirror")
    await ann.keyboard.type("Agenda item 1")
    await wait_saved(ann)

    rita = await open_doc(browser, web_hub, doc_id, "pub-util-04")
    assert await text_of(rita) == "Agenda item 1"
    assert await rita.evaluate("() => window.docEditor.editor.isEditable") is False
    assert await rita.locator("#doc-version-form").count() == 0
    await ann.keyboard.type(", item 2")
    await rita.wait_for_function("() => window.docEditor.editor.getText().includes('item 2')")
    assert await rita.get_attribute(".ch-editor-status", "data-state") == "saved"

    await rita.evaluate("() => window.docEditor.editor.setEditable(true)")  # as if the page were tampered with
    await rita.click(".ProseMirror")
    await rita.keyboard.type(" forged")
    await rita.wait_for_selector('.ch-editor-status[data-state="error"]', timeout=10_000)
    await ann.keyboard.type(", item 3")
    await wait_saved(ann)
    assert await text_of(ann) == "Agenda item 1, item 2, item 3"


async def test_reader_first_on_an_empty_document(web_hub: Hub, browser: Browser) -> None:
    doc_id = await new_doc(web_hub, unit_access="reader")
    rita = await open_doc(browser, web_hub, doc_id, "pub-util-04")
    ann = await open_doc(browser, web_hub, doc_id, "p-xie")
    await ann.click(".ProseMirror")
    await ann.keyboard.type("First words")
    await rita.wait_for_function("() => window.docEditor.editor.getText() === 'First words'")
    assert await rita.get_attribute(".ch-editor-status", "data-state") == "saved"
    await rita.wait_for_selector("#doc-presence li:has-text('谢继成')")


async def test_outsider_gets_a_refusal_page(web_hub: Hub, browser: Browser) -> None:
    doc_id = await new_doc(web_hub)
    page = await (await signed_in(browser, web_hub, "drc-04")).new_page()
    response = await page.goto(str(web_hub.client.make_url(f"/docs/{doc_id}")))
    assert response is not None and response.status == 403
    assert await page.locator("#doc-editor").count() == 0


async def test_access_withdrawn_is_shown_and_not_retried(web_hub: Hub, browser: Browser) -> None:
    doc_id = await new_doc(web_hub)
    ben = await open_doc(browser, web_hub, doc_id, "pub-util-04")
    await ben.click(".ProseMirror")
    await ben.keyboard.type("hello")
    await wait_saved(ben)
    response = await web_hub.client.put(f"/api/v1/docs/{doc_id}/access", json={}, headers=web_hub.auth("p-xie"))
    assert response.status == 200
    await ben.wait_for_selector('.ch-editor-status[data-state="error"]', timeout=10_000)
    await asyncio.sleep(1.0)  # y-websocket would have reconnected within its back-off
    assert web_hub.app[keys.DOC_ROOMS].get(doc_id) is None


async def test_save_and_restore_a_version_from_the_side_panel(web_hub: Hub, browser: Browser) -> None:
    doc_id = await new_doc(web_hub)
    ann = await open_doc(browser, web_hub, doc_id, "p-xie")
    ben = await open_doc(browser, web_hub, doc_id, "pub-util-04")
    await ann.click(".ProseMirror")
    await ann.keyboard.type("Approved text")
    await wait_saved(ann)
    await ann.fill("#version-name", "会上通过")
    await ann.click("#doc-version-form button")
    await ann.wait_for_selector("#doc-versions li:has-text('会上通过')")

    await ann.click(".ProseMirror")
    await ann.keyboard.press("End")
    await ann.keyboard.type(" and a later change")
    await ben.wait_for_function("() => window.docEditor.editor.getText().includes('later change')")
    ann.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await ann.click("#doc-versions [data-test=restore-version]")
    await ben.wait_for_function("() => window.docEditor.editor.getText() === 'Approved text'", timeout=10_000)
    await ann.wait_for_function("() => window.docEditor.editor.getText() === 'Approved text'", timeout=10_000)


async def test_minutes_panel_in_the_meeting_page(web_hub: Hub, browser: Browser) -> None:
    meeting = await create_meeting(web_hub, "p-xie")
    pages = []
    for person in ("p-xie", "pub-util-04"):
        page = await (await signed_in(browser, web_hub, person)).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        await page.goto(str(web_hub.client.make_url(f"/meetings/{meeting['id']}")))
        await page.wait_for_function(
            "async () => { const [h] = await window.minutesPanels; return !!h && h.provider.synced }",
            timeout=15_000)
        assert errors == []
        pages.append(page)
    chair, member = pages
    await chair.evaluate("async () => (await window.minutesPanels)[0].editor.commands.insertContent('议程一')")
    await member.wait_for_function(
        "async () => (await window.minutesPanels)[0].editor.getText().includes('议程一')", timeout=10_000)
    await web_hub.app[keys.DOCS].append_to_section(meeting["minutes_doc_id"], ("决定事项", "Decisions"),
                                                   "同意供水改造方案")
    for page in pages:
        await page.wait_for_function(
            "async () => (await window.minutesPanels)[0].editor.getText().includes('同意供水改造方案')",
            timeout=10_000)
    # The panel lists who is in the minutes, with directory names.
    await member.wait_for_function(
        "() => document.querySelectorAll('[data-panel=minutes] .doc-presence li').length === 2", timeout=10_000)
    names = await member.locator("[data-panel=minutes] .doc-presence li").all_text_contents()
    assert sorted(names) == ["周淑珍 (you)", "谢继成"]  # Chromium asks for English

"""The bundled editor in headless Chromium: concurrent typing converges and is saved; a late tab sees all."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright
from pycrdt import XmlFragment

from hub.docs.store import SqlDocUpdateStore
from hub.docs.sync_room import DocLimits
from hub.docs.sync_rooms import DocRooms
from hub.docs.sync_ws import doc_ws_handler
from tests.docs.conftest import header_access

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "static" / "dist"
CHROMIUM_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 "--disable-background-networking", "--disable-quic", "--no-sandbox"]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>editor test</title>
<link rel="stylesheet" href="/static/dist/editor.css"></head>
<body><div id="editor"></div>
<script type="module">
import { mountEditor } from '/static/dist/editor.js'
const opts = %s
window.ed = mountEditor(document.getElementById('editor'), opts)
</script></body></html>"""


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The built editor bundle; built here when node_modules is installed but dist/ is missing."""
    if not (DIST / "editor.js").exists() and (ROOT / "node_modules").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True, capture_output=True)
    if not (DIST / "editor.js").exists():
        pytest.fail("web/static/dist/editor.js is missing: run `npm ci && npm run build`")
    return DIST


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Browser tests run on SQLite only; the storage tests cover PostgreSQL."""
    return f"sqlite+aiosqlite:///{tmp_path}/docs.db"


@pytest.fixture
async def editor_server(aiohttp_server: Callable[..., Awaitable[TestServer]], store: SqlDocUpdateStore,
                        bundle: Path) -> AsyncIterator[tuple[TestServer, DocRooms]]:
    rooms = DocRooms(store, DocLimits())
    await rooms.start()

    async def page(request: web.Request) -> web.Response:
        opts = {
            "docId": request.match_info["doc_id"],
            "user": {"name": request.query.get("name", "?"), "color": request.query.get("color", "#3366cc")},
            "readOnly": request.query.get("role") == "reader",
        }
        response = web.Response(text=PAGE % json.dumps(opts), content_type="text/html")
        # The document socket's access check reads these, as the real one reads the session cookie.
        response.set_cookie("test_role", request.query.get("role", "editor"))
        response.set_cookie("test_name", request.query.get("name", ""))
        return response

    app = web.Application()
    app.router.add_get("/docs/{doc_id}/ws", doc_ws_handler(rooms, header_access))
    app.router.add_get("/test/{doc_id}", page)
    app.router.add_static("/static/dist", bundle)
    server = await aiohttp_server(app)
    yield server, rooms
    await rooms.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                     args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def open_editor(browser: Browser, server: TestServer, doc_id: str, name: str, color: str,
                      role: str = "editor") -> Page:
    context = await browser.new_context()  # one cookie jar per person
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    url = server.make_url(f"/test/{doc_id}").with_query(name=name, color=color, role=role)
    await page.goto(str(url))
    await page.wait_for_function("() => window.ed && window.ed.provider.synced", timeout=10_000)
    assert errors == []
    return page


async def text_of(page: Page) -> str:
    return str(await page.evaluate("() => window.ed.editor.getText()"))


async def wait_saved(page: Page) -> None:
    await page.wait_for_selector('.ch-editor-status[data-state="saved"]', timeout=10_000)


async def test_two_tabs_type_at_once_and_a_late_tab_sees_all(editor_server: tuple[TestServer, DocRooms],
                                                             browser: Browser, doc_id: str) -> None:
    server, rooms = editor_server
    ann = await open_editor(browser, server, doc_id, "Ann", "#cc3333")
    ben = await open_editor(browser, server, doc_id, "Ben", "#3333cc")

    await ann.click(".ProseMirror")
    await ann.keyboard.type("Minutes of the council")
    for line in ("Ann:", "Ben:"):
        await ann.keyboard.press("Enter")
        await ann.keyboard.type(line)
    await ben.wait_for_function("() => window.ed.editor.getText().includes('Ben:')")

    # Each types at the end of a paragraph while the other types too. (Two tabs splitting the same
    # paragraph at the same moment converge as well, but y-prosemirror may mix their characters.)
    async def typing(page: Page, line: str, words: str) -> None:
        await page.click(f".ProseMirror p:has-text('{line}')")
        await page.keyboard.press("End")
        await page.keyboard.type(words, delay=15)

    await asyncio.gather(typing(ann, "Ann:", " ann wrote this line"),
                         typing(ben, "Ben:", " ben wrote another line"))
    await ann.wait_for_function("() => window.ed.editor.getText().includes('another line')")
    await ben.wait_for_function("() => window.ed.editor.getText().includes('this line')")
    await wait_saved(ann)
    await wait_saved(ben)
    final = await text_of(ann)
    assert final == await text_of(ben)
    for part in ("Minutes of the council", "ann wrote this line", "ben wrote another line"):
        assert part in final

    # Ann and Ben see each other in the presence list.
    await ann.wait_for_selector(".ch-editor-presence li:has-text('Ben')")
    await ben.wait_for_selector(".ch-editor-presence li:has-text('Ann')")

    # What the server stored is what the tabs show.
    room = rooms.get(doc_id)
    assert room is not None
    stored = str(room.doc.get("default", type=XmlFragment))
    for part in ("ann wrote this line", "ben wrote another line"):
        assert part in stored

    cyd = await open_editor(browser, server, doc_id, "Cyd", "#33aa33")
    assert await text_of(cyd) == final
    await cyd.wait_for_selector(".ch-editor-presence li:has-text('Ann')")
    await cyd.wait_for_selector(".ch-editor-presence li:has-text('Ben')")
    # Remote carets are drawn with the other people's names.
    await cyd.wait_for_selector(".collaboration-carets__label:has-text('Ann')", timeout=10_000)


async def test_reader_tab_follows_but_cannot_edit(editor_server: tuple[TestServer, DocRooms],
                                                  browser: Browser, doc_id: str) -> None:
    server, _rooms = editor_server
    ann = await open_editor(browser, server, doc_id, "Ann", "#cc3333")
    await ann.click(".ProseMirror")
    await ann.keyboard.type("Agenda item 1")
    await wait_saved(ann)

    rita = await open_editor(browser, server, doc_id, "Rita", "#888888", role="reader")
    assert await text_of(rita) == "Agenda item 1"
    room = _rooms.get(doc_id)
    assert room is not None and sorted(c.access.can_write for c in room.clients) == [False, True]
    assert await rita.evaluate("() => window.ed.editor.isEditable") is False
    await rita.click(".ProseMirror")
    await rita.keyboard.type("should not appear")

    await ann.keyboard.type(", item 2")
    await rita.wait_for_function("() => window.ed.editor.getText().includes('item 2')")
    assert await text_of(rita) == "Agenda item 1, item 2" == await text_of(ann)
    assert await rita.get_attribute(".ch-editor-status", "data-state") == "saved"


async def test_permanent_refusal_is_shown_and_not_retried(editor_server: tuple[TestServer, DocRooms],
                                                          browser: Browser, doc_id: str) -> None:
    server, rooms = editor_server
    ann = await open_editor(browser, server, doc_id, "Ann", "#cc3333")
    await ann.click(".ProseMirror")
    await ann.keyboard.type("hello")
    await wait_saved(ann)
    assert rooms.disconnect(lambda access: access.can_write, "deactivated") == 1
    await ann.wait_for_selector('.ch-editor-status[data-state="error"]', timeout=10_000)
    assert "withdrawn" in (await ann.text_content(".ch-editor-status") or "")
    await asyncio.sleep(1.0)  # y-websocket would have reconnected within its 200-400 ms backoff
    assert rooms.get(doc_id) is None


async def test_reader_first_on_an_empty_document_is_not_refused(editor_server: tuple[TestServer, DocRooms],
                                                                 browser: Browser, doc_id: str) -> None:
    server, _rooms = editor_server
    rita = await open_editor(browser, server, doc_id, "Rita", "#888888", role="reader")
    ann = await open_editor(browser, server, doc_id, "Ann", "#cc3333")
    await ann.click(".ProseMirror")
    await ann.keyboard.type("First words")
    await rita.wait_for_function("() => window.ed.editor.getText() === 'First words'")
    assert await rita.get_attribute(".ch-editor-status", "data-state") == "saved"
    await rita.wait_for_selector(".ch-editor-presence li:has-text('Ann')")


async def test_tampered_reader_tab_is_refused(editor_server: tuple[TestServer, DocRooms],
                                              browser: Browser, doc_id: str) -> None:
    server, _rooms = editor_server
    ann = await open_editor(browser, server, doc_id, "Ann", "#cc3333")
    await ann.click(".ProseMirror")
    await ann.keyboard.type("Official text")
    await wait_saved(ann)
    rita = await open_editor(browser, server, doc_id, "Rita", "#888888", role="reader")
    await rita.evaluate("() => window.ed.editor.setEditable(true)")  # as if the page were tampered with
    await rita.click(".ProseMirror")
    await rita.keyboard.type(" forged")
    await rita.wait_for_selector('.ch-editor-status[data-state="error"]', timeout=10_000)
    assert "only read" in (await rita.text_content(".ch-editor-status") or "")
    await ann.keyboard.type(", still editable")
    await wait_saved(ann)
    assert await text_of(ann) == "Official text, still editable"

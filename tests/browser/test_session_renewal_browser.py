"""An official's tab outlives its session: the page renews it before it expires and hands the renewal to its
open sockets, so neither /ws nor a document socket is cut off (issue #11, item 3). The session here lasts 35 s,
so the renewal falls 5 s in (30 s before expiry) and the first session's expiry is passed within the test."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import ClientSession
from playwright.async_api import Page, WebSocket

from hub import keys
from hub.docs.content import doc_from_state, plain_text
from hub.settings import Settings
from tests.browser.conftest import LiveHub
from tests.conftest import make_settings

pytestmark = pytest.mark.browser

SESSION_TTL = 35
LEEWAY = 1


@pytest.fixture
def live_hub_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "live", jwt={"session_ttl": SESSION_TTL, "leeway": LEEWAY})


async def test_open_tab_renews_its_session_and_keeps_its_sockets(page: Page, live_hub: LiveHub) -> None:
    async with ClientSession() as http:
        auth = live_hub.app[keys.AUTH]
        person = await live_hub.app[keys.DIRECTORY].person("p-xie")
        bearer, _ = auth.issue_for(person)
        created = await http.post(f"{live_hub.url}/api/v1/docs", json={"title": "会议纪要"},
                                  headers={"Authorization": f"Bearer {bearer}", "Origin": live_hub.url})
        assert created.status == 201, await created.text()
        doc_id = (await created.json())["id"]

    closed: list[str] = []
    renewals: list[float] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("close", lambda _: closed.append(ws.url))

    page.on("websocket", on_socket)
    page.on("request", lambda r: renewals.append(time.time()) if r.url.endswith("/api/v1/auth/session/renew")
            else None)
    signed_in = time.time()
    await live_hub.sign_in(page, "p-xie", f"/docs/{doc_id}")
    await page.wait_for_selector(".ProseMirror")
    # the phone in a second tab of the same browser: it holds the person's /ws
    phone = await page.context.new_page()
    phone.on("websocket", on_socket)
    await phone.goto(f"{live_hub.url}/phone")
    connection = "() => document.querySelector('[data-test=phone-connection]').dataset.state"
    await phone.wait_for_function(f"() => ({connection})() === 'open'", polling=100)

    # past the first session's expiry and its leeway
    await asyncio.sleep(max(0.0, signed_in + SESSION_TTL + LEEWAY + 2 - time.time()))
    assert renewals and renewals[0] < signed_in + SESSION_TTL, "the page must renew before the session expires"
    assert closed == [], f"sockets were closed: {closed}"
    await page.click(".ProseMirror")
    await page.keyboard.type("续期之后写下的字")
    await page.wait_for_selector('.ch-editor-status[data-state="saved"]', timeout=10_000)
    stored = plain_text(doc_from_state(await live_hub.app[keys.DOCS].current_state(doc_id)))
    assert "续期之后写下的字" in stored
    assert await phone.evaluate(connection) == "open"
    assert closed == []

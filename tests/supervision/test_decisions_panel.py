"""The meeting page's Decisions panel: the fragment, recording from it, refusals in words, and its script in
Chromium (loaded into the page's extension point, recording, refreshing on a forwarded decision.recorded)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser

from hub import keys
from hub.app import create_app
from tests.conftest import Hub, make_settings
from tests.supervision.conftest import (
    LEAD,
    PARTICIPANT,
    SECRETARY,
    Meetings,
    Minutes,
    SvHub,
)

HARNESS = """<!doctype html><html><head><meta charset="utf-8"><title>panel</title></head><body>
<div id="meeting"><section class="tab-panel" data-panel="decisions" data-extension="decisions"
 data-meeting="m1"></section></div>
<script type="module" src="/static/js/decisions.js"></script></body></html>"""


async def fragment(sv: SvHub, person: str, **kwargs: Any) -> tuple[int, str]:
    method = "POST" if "data" in kwargs else "GET"
    response = await sv.client.request(method, "/supervision/meetings/m1/panel",
                                       headers={**sv.auth(person), "Accept-Language": "en"}, **kwargs)
    return response.status, await response.text()


async def test_the_panel_lists_decisions_and_offers_the_form_to_recorders(sv: SvHub) -> None:
    status, html = await fragment(sv, SECRETARY)
    assert status == 200 and 'data-test="no-decisions"' in html and 'data-test="decision-form"' in html
    due = (sv.today() + timedelta(days=7)).isoformat()
    form = {"text": "抓紧完成供热管网改造", "lead_unit": "pub-util", "responsible": LEAD, "due_date": due,
            "priority": "urgent"}
    status, html = await fragment(sv, SECRETARY, data={**form, "coop_units": "finance"})
    assert status == 201 and "1. 抓紧完成供热管网改造" in html and 'data-count="1"' in html
    status, html = await fragment(sv, PARTICIPANT)
    assert status == 200 and "抓紧完成供热管网改造" in html and 'data-test="decision-form"' not in html
    status, html = await fragment(sv, SECRETARY, data={**form, "due_date": "2020-01-01"})
    assert status == 400 and 'data-test="decision-error"' in html and "(due_date)" in html
    assert "抓紧完成供热管网改造" in html  # what was typed is kept
    status, html = await fragment(sv, PARTICIPANT, data=form)
    assert status == 403 and 'data-test="decision-error"' in html
    assert (await fragment(sv, "edu-01"))[0] == 403
    sv.meetings.close("m1")
    status, html = await fragment(sv, SECRETARY)
    assert 'data-test="decision-form"' not in html


@pytest.mark.browser
async def test_the_panel_script_records_and_refreshes(aiohttp_client: Any, tmp_path: Path, browser: Browser) -> None:
    meetings, minutes = Meetings(), Minutes()
    meetings.add("m1")
    app = create_app(make_settings(tmp_path))
    app[keys.MEETING_GATE] = meetings
    app[keys.MINUTES_WRITER] = minutes

    async def harness(request: web.Request) -> web.Response:
        return web.Response(text=HARNESS, content_type="text/html")

    app.router.add_get("/test/meeting-harness", harness)
    hub = Hub(client=await aiohttp_client(app), app=app)
    await hub.load_people()
    base = str(hub.client.make_url("")).rstrip("/")

    async def open_as(person: str) -> Any:
        context = await browser.new_context(locale="zh-CN", viewport={"width": 420, "height": 900})
        page = await context.new_page()
        await page.goto(f"{base}/login?next=/test/meeting-harness")
        await page.select_option('[data-test="person-select"]', person)
        await page.click('[data-test="sign-in"]')
        await page.wait_for_selector('[data-test="decisions-panel"]')
        return page

    secretary = await open_as(SECRETARY)
    participant = await open_as(PARTICIPANT)
    assert await participant.query_selector('[data-test="decision-form"]') is None
    await secretary.click('[data-test="record-open"]')
    await secretary.fill('[data-test="decision-text"]', "年底前完成老旧管网改造")
    await secretary.select_option('[data-test="decision-lead"]', "pub-util")
    await secretary.select_option('[data-test="decision-responsible"]', LEAD)
    due = (app[keys.SUPERVISION].today() + timedelta(days=30)).isoformat()
    await secretary.fill('[data-test="decision-due"]', due)
    await secretary.click('[data-test="decision-submit"]')
    await secretary.wait_for_selector('[data-test="decisions-panel"][data-count="1"]')
    assert "1. 年底前完成老旧管网改造" in (await secretary.text_content('[data-test="decisions-list"]') or "")
    # The meeting forwards decision.recorded to everyone in it; the panel refreshes itself.
    await participant.evaluate("""() => window.dispatchEvent(new CustomEvent('cityhub:meeting-event',
        {detail: {event: 'decision.recorded', data: {}}}))""")
    await participant.wait_for_selector('[data-test="decisions-panel"][data-count="1"]')
    assert "年底前完成老旧管网改造" in (await participant.text_content('[data-test="decisions-list"]') or "")
    assert minutes.sections["doc-minutes-1"][1] == "1. 年底前完成老旧管网改造"

"""In Chromium: a lead-unit member accepts an item, reports progress with an attachment and submits it; a
supervisor approves and closes it. Plain forms, in Chinese (the default language)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, FilePayload, Page

from hub import keys
from tests.conftest import make_settings
from tests.supervision.conftest import LEAD, SECRETARY, SUPERVISOR, Meetings, Minutes, start_sv

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "signoffs"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def sign_in(browser: Browser, base: str, person: str, next_path: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{base}/login?next={next_path}")
    await page.select_option('[data-test="person-select"]', person)
    await page.click('[data-test="sign-in"]')
    await page.wait_for_url(f"{base}{next_path}")
    return page


async def test_report_progress_then_supervisor_closes(aiohttp_client: Any, tmp_path: Path, browser: Browser) -> None:
    meetings, minutes = Meetings(), Minutes()
    meetings.add("m1")
    hub = await start_sv(aiohttp_client, make_settings(tmp_path), None, meetings, minutes)  # type: ignore[arg-type]
    due = (hub.app[keys.SUPERVISION].today() + timedelta(days=10)).isoformat()
    response = await hub.client.post(
        "/api/v1/meetings/m1/decisions", headers=hub.auth(SECRETARY),
        json={"text": "推进老旧小区供热管网改造", "lead_unit": "pub-util", "responsible": LEAD, "due_date": due},
    )
    item_id = (await response.json())["item"]["id"]
    base = str(hub.client.make_url("")).rstrip("/")
    path = f"/supervision/items/{item_id}"

    lead = await sign_in(browser, base, LEAD, path)
    assert await lead.text_content('[data-test="status"]') == "待签收"
    await lead.click('[data-test="do-accept"]')
    await lead.wait_for_selector('[data-test="done"]')
    await lead.fill('[data-test="report-text"]', "已完成管网勘察和施工招标")
    await lead.fill('[data-test="report-percent"]', "60")
    await lead.set_input_files("#report-files", files=[
        FilePayload(name="勘察报告.pdf", mimeType="application/pdf", buffer=PDF)])
    await lead.click('[data-test="do-report"]')
    await lead.wait_for_selector('[data-test="done"]')
    assert await lead.text_content('[data-test="percent"]') == "60%"
    assert await lead.text_content('[data-test="status"]') == "办理中"
    assert await lead.text_content('[data-test="attachment"]') == "勘察报告.pdf"
    assert "已完成管网勘察和施工招标" in (await lead.text_content('[data-test="timeline"]') or "")
    # A bad report is refused in words, on the same page, and nothing is stored.
    await lead.fill('[data-test="report-text"]', "超过上限")
    await lead.fill('[data-test="report-percent"]', "60")
    await lead.set_input_files("#report-files", files=[
        FilePayload(name="run.exe", mimeType="application/x-msdownload", buffer=b"MZ\x90\x00")])
    await lead.click('[data-test="do-report"]')
    await lead.wait_for_selector('[data-test="error"]')
    assert "attachments[0]" in (await lead.text_content('[data-test="error"]') or "")
    await lead.goto(f"{base}{path}")
    await lead.fill('[data-test="submit-text"]', "改造全部完成，已通过验收")
    await lead.click('[data-test="do-submit"]')
    await lead.wait_for_selector('[data-test="done"]')
    assert await lead.text_content('[data-test="status"]') == "待审核"
    assert await lead.query_selector('[data-test="do-close"]') is None

    supervisor = await sign_in(browser, base, SUPERVISOR, path)
    assert "改造全部完成" in (await supervisor.text_content('[data-test="timeline"]') or "")
    # the supervisor signs the closing by hand on the pad in the close form
    pad = supervisor.locator('[data-test="signpad-canvas"]')
    await pad.scroll_into_view_if_needed()
    box = await pad.bounding_box()
    assert box is not None
    await supervisor.mouse.move(box["x"] + 0.15 * box["width"], box["y"] + 0.6 * box["height"])
    await supervisor.mouse.down()
    for x, y in ((0.3, 0.3), (0.45, 0.7), (0.6, 0.35), (0.8, 0.55)):
        await supervisor.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=5)
    await supervisor.mouse.up()
    SHOTS.mkdir(parents=True, exist_ok=True)
    await supervisor.screenshot(path=str(SHOTS / "close-with-signature-zh-wide.png"))
    await supervisor.click('[data-test="do-close"]')
    await supervisor.wait_for_selector('[data-test="done"]')
    assert await supervisor.text_content('[data-test="status"]') == "已办结"
    await supervisor.wait_for_selector('[data-test="item-signoff"] img')
    await supervisor.screenshot(path=str(SHOTS / "closed-signed-zh-wide.png"))

    check = await hub.client.get(f"/api/v1/supervision/items/{item_id}", headers=hub.auth(LEAD))
    data = await check.json()
    assert data["item"]["status"] == "closed" and data["item"]["on_time"] is True
    assert [s["signer_id"] for s in data["signoffs"]] == [SUPERVISOR]
    report = next(f for f in data["timeline"] if f["kind"] == "report")
    assert report["percent"] == 60 and report["attachments"][0]["size"] == len(PDF)
    download = await hub.client.get(report["attachments"][0]["url"], headers=hub.auth(SUPERVISOR))
    assert await download.read() == PDF

"""A leader signs a minutes version by hand in Chromium (pointer moves on the signing pad): the strokes stored are
the ones drawn, the Word file carries the signature, and after an edit the document page says it differs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.conftest import make_settings, start_hub
from tests.docs.test_minutes_versions import fragment, paragraph
from tests.docs.test_signoffs import LEADER, minutes_with_a_version
from tests.meetings.browser import chromium, meeting_bundle, people_on  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "signoffs"


async def draw(page: Page, path: list[tuple[float, float]]) -> None:
    """One stroke through these points (fractions of the pad)."""
    pad = page.locator('[data-test="signpad-canvas"]')
    await pad.scroll_into_view_if_needed()  # (the mouse acts in the viewport)
    box = await pad.bounding_box()
    assert box is not None
    x0, y0 = path[0]
    await page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
    await page.mouse.down()
    for x, y in path[1:]:
        await page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=4)
    await page.mouse.up()


async def test_a_leader_signs_on_the_pad(chromium: Browser, aiohttp_client: Any, tmp_path: Path) -> None:  # noqa: F811
    hub = await start_hub(aiohttp_client, make_settings(tmp_path))
    doc_id, version_id, editor = await minutes_with_a_version(hub)
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with people_on(chromium, hub) as crowd:
        page = await crowd.page(LEADER, f"/docs/{doc_id}/versions/{version_id}")
        await page.click('[data-test="signpad-confirm"]')  # nothing drawn yet
        assert await page.inner_text('[data-test="signpad-status"]') == "请先签名。"
        await draw(page, [(0.1, 0.6), (0.2, 0.3), (0.3, 0.7), (0.45, 0.35)])
        await page.click('[data-test="signpad-clear"]')
        await draw(page, [(0.1, 0.6), (0.25, 0.3), (0.4, 0.7), (0.55, 0.3), (0.7, 0.65)])
        await draw(page, [(0.6, 0.8), (0.9, 0.75)])
        await page.screenshot(path=str(SHOTS / "signpad-zh-wide.png"))
        await page.click('[data-test="signpad-confirm"]')
        await page.wait_for_selector('[data-test="signoff-current"]')
        await page.screenshot(path=str(SHOTS / "signed-version-zh-wide.png"))

        listed = await (await hub.client.get(f"/api/v1/docs/{doc_id}/signoffs", headers=hub.auth(LEADER))).json()
        (signoff,) = listed["signoffs"]
        one = await (await hub.client.get(f"/api/v1/docs/{doc_id}/signoffs/{signoff['id']}",
                                          headers=hub.auth(LEADER))).json()
        strokes = one["strokes"]
        assert len(strokes) == 2  # the cleared one is gone
        first, second = strokes
        assert len(first) >= 10 and len(second) >= 4
        assert abs(first[0]["x"] - 0.1) < 0.02 and abs(first[0]["y"] - 0.6) < 0.03
        assert abs(first[-1]["x"] - 0.7) < 0.02 and abs(second[-1]["x"] - 0.9) < 0.02
        assert all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 and p["p"] == 0.5 for s in strokes for p in s)
        assert [p["t"] for p in first] == sorted(p["t"] for p in first)

        word = await hub.client.get(f"/api/v1/docs/{doc_id}/export?format=docx", headers=hub.auth(LEADER))
        archive = zipfile.ZipFile(io.BytesIO(await word.read()))
        assert any(name.startswith("word/media/") for name in archive.namelist())

        await editor.edit_doc(lambda d: fragment(d).children.append(paragraph("会后补充一条。")))
        await editor.wait_saved()
        await page.goto(crowd.url(f"/docs/{doc_id}"))
        stale = page.locator('[data-test="signoff-stale"]')
        await stale.wait_for()
        assert "会上通过稿" in await stale.inner_text()
        await page.screenshot(path=str(SHOTS / "doc-changed-after-zh-wide.png"))

        narrow = await crowd.page(LEADER, f"/docs/{doc_id}/versions/{version_id}", locale="en", width=390,
                                  height=844)
        await narrow.wait_for_selector('[data-test="signpad-canvas"]')
        await draw(narrow, [(0.15, 0.5), (0.5, 0.3), (0.85, 0.6)])
        await narrow.screenshot(path=str(SHOTS / "signpad-en-narrow.png"))
    await editor.close()

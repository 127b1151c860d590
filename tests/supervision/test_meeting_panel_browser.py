"""On the real meeting page in Chromium: the chair records a decision in the Decisions tab and a participant who
is in the meeting sees it appear, forwarded live through /ws."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from hub import keys
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.browser import People, chromium, join, meeting_bundle  # noqa: F401 - fixtures
from tests.meetings.conftest import create_meeting

pytestmark = [pytest.mark.browser, pytest.mark.media]


@pytest.fixture
async def web_hub(aiohttp_client: Any, tmp_path: Path) -> Hub:
    return await start_hub(aiohttp_client, make_settings(tmp_path))


@pytest.fixture
async def people(chromium: Browser, web_hub: Hub) -> AsyncIterator[People]:  # noqa: F811
    crowd = People(chromium, web_hub)
    yield crowd
    await crowd.close()
    assert crowd.errors == []


async def test_chair_records_a_decision_and_the_room_sees_it(web_hub: Hub, people: People) -> None:
    meeting = await create_meeting(web_hub)
    path = f"/meetings/{meeting['id']}"
    chair = await people.page("p-xie", path)
    member = await people.page("pub-util-04", path)
    await join(chair)
    await join(member)
    for page in (chair, member):
        await page.click('[data-tab="decisions"]')
        await page.wait_for_selector('[data-test="decisions-panel"][data-count="0"]')
    assert await member.query_selector('[data-test="decision-form"]') is None

    await chair.click('[data-test="record-open"]')
    await chair.fill('[data-test="decision-text"]', "一个月内完成二次供水设施改造")
    await chair.select_option('[data-test="decision-lead"]', "pub-util")
    await chair.select_option('[data-test="decision-responsible"]', "pub-util-04")
    due = (web_hub.app[keys.SUPERVISION].today() + timedelta(days=30)).isoformat()
    await chair.fill('[data-test="decision-due"]', due)
    await chair.click('[data-test="decision-submit"]')
    await chair.wait_for_selector('[data-test="decisions-panel"][data-count="1"]')
    # The chair never left the meeting.
    assert await chair.get_attribute(".meeting", "data-phase") == "in"

    await member.wait_for_selector('[data-test="decisions-panel"][data-count="1"]', timeout=10_000)
    text = await member.text_content('[data-test="decisions-list"]') or ""
    assert "1. 一个月内完成二次供水设施改造" in text and "待签收" in text

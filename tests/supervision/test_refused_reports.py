"""A refused progress report stores nothing: not the report, not one of its files, no audit event, notification or
webhook delivery, whether the reporter, the item's state or an upload was wrong (not only the status code)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from hub.settings import Settings
from hub.supervision.model import Status
from tests.supervision.conftest import LEAD, LEAD_COLLEAGUE, OUTSIDER, SUPERVISOR, SvHub, stored_state
from tests.supervision.test_attachments import PNG, form
from tests.supervision.test_refusals import item_in

PDF = b"%PDF-1.7\n" + b"0" * 64
GOOD = ("现场.png", "image/png", PNG)


@pytest.fixture
def sv_settings(settings: Settings) -> Settings:
    return settings.replace(supervision={"attachment_max_bytes": 4096,
                                         "webhook_urls": ("http://127.0.0.1:9/hook",),
                                         "webhook_secret": "a-secret-nobody-receives-with"})


async def post_report(sv: SvHub, item_id: str, data: aiohttp.FormData | dict[str, Any],
                      person: str = LEAD) -> tuple[int, dict[str, Any]]:
    kwargs: dict[str, Any] = {"json": data} if isinstance(data, dict) else {"data": data}
    response = await sv.client.post(f"/api/v1/supervision/items/{item_id}/reports", headers=sv.auth(person),
                                    **kwargs)
    return response.status, await response.json()


async def test_refused_reports_store_nothing(sv: SvHub) -> None:
    item_id = await item_in(sv, Status.ACCEPTED)
    before = await stored_state(sv, item_id)
    assert before["webhooks"] and before["audit"]  # there is something to compare: the outbox and audit are on
    cases: list[tuple[str, aiohttp.FormData | dict[str, Any], int, str]] = [
        # the wrong person
        (SUPERVISOR, form("进展", "20", GOOD), 403, "lead_unit_only"),
        (OUTSIDER, form("进展", "20", GOOD), 403, "item_forbidden"),
        ("finance-01", form("进展", "20", GOOD), 403, "lead_unit_only"),
        # a good file next to a bad one: neither is kept, nor the report
        (LEAD, form("进展", "20", GOOD, ("报告.pdf", "application/pdf", b"MZ\x90\x00not a pdf")), 400,
         "attachment_not_its_type"),
        (LEAD, form("进展", "20", GOOD, ("run.exe", "application/x-msdownload", b"MZ\x90\x00")), 400,
         "attachment_type_not_allowed"),
        (LEAD, form("进展", "20", GOOD, ("大.pdf", "application/pdf", PDF + b"0" * 5000)), 400,
         "attachment_too_large"),
        (LEAD, form("进展", "20", GOOD, ("空.txt", "text/plain", b"")), 400, "attachment_empty"),
        (LEAD, form("进展", "20", *[GOOD] * 11), 400, "too_many_attachments"),
        # bad fields with good files
        (LEAD, form("进展", "101", GOOD), 400, "invalid_body"),
        (LEAD, form("   ", "20", GOOD), 400, "invalid_body"),
        (LEAD_COLLEAGUE, {"text": "进展", "percent": -1}, 400, "invalid_body"),
    ]
    for person, data, status, code in cases:
        got, body = await post_report(sv, item_id, data, person)
        assert (got, body["error"]["code"]) == (status, code), (person, body)
        assert await stored_state(sv, item_id) == before, (person, code)
    # The same report, made right, is stored with its file: the cases above were refused for their fault alone.
    got, _ = await post_report(sv, item_id, form("进展", "20", GOOD))
    after = await stored_state(sv, item_id)
    assert got == 201 and len(after["attachments"]) == 1 and len(after["audit"]) == len(before["audit"]) + 1


@pytest.mark.parametrize("status", [Status.ASSIGNED, Status.SUBMITTED, Status.CLOSED, Status.CANCELLED])
async def test_reports_in_the_wrong_state_store_nothing(sv: SvHub, status: Status) -> None:
    item_id = await item_in(sv, status)
    before = await stored_state(sv, item_id)
    got, body = await post_report(sv, item_id, form("进展", "50", GOOD, ("说明.pdf", "application/pdf", PDF)))
    assert got == 409 and body["error"]["code"] == "illegal_transition"
    assert await stored_state(sv, item_id) == before


async def test_refused_actions_store_nothing(sv: SvHub) -> None:
    item_id = await item_in(sv, Status.SUBMITTED)
    before = await stored_state(sv, item_id)
    for person, action, body, status in (
        (LEAD, "close", {}, 403),                      # the wrong person
        (OUTSIDER, "comment", {"text": "路过"}, 403),    # cannot even see it
        (LEAD, "accept", {}, 409),                     # the wrong state
        (SUPERVISOR, "cancel", {"text": " "}, 400),    # a reason is required
        (SUPERVISOR, "return", {"text": "x" * 5001}, 400),
    ):
        code, data = await sv.act(item_id, person, action, **body)
        assert code == status, (action, data)
        assert await stored_state(sv, item_id) == before, action

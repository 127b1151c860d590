"""Progress reports with attachments: stored with the report, size and type limits, downloads for those who may see."""

from __future__ import annotations

import hashlib
from typing import Any

import aiohttp
import pytest

from hub.settings import Settings
from tests.supervision.conftest import LEAD, OUTSIDER, SUPERVISOR, SvHub

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def sv_settings(settings: Settings) -> Settings:
    return settings.replace(supervision={"attachment_max_bytes": 4096})


def form(text: str, percent: str, *files: tuple[str, str, bytes]) -> aiohttp.FormData:
    data = aiohttp.FormData(default_to_multipart=True)
    data.add_field("text", text)
    data.add_field("percent", percent)
    for name, content_type, content in files:
        data.add_field("files", content, filename=name, content_type=content_type)
    return data


async def accepted_item(sv: SvHub) -> str:
    item_id = str((await sv.decide())["item"]["id"])
    assert (await sv.act(item_id, LEAD, "accept"))[0] == 200
    return item_id


async def report(sv: SvHub, item_id: str, data: aiohttp.FormData, person: str = LEAD) -> tuple[int, Any]:
    response = await sv.client.post(f"/api/v1/supervision/items/{item_id}/reports", data=data,
                                    headers=sv.auth(person))
    return response.status, await response.json()


async def test_report_with_files(sv: SvHub) -> None:
    item_id = await accepted_item(sv)
    status, body = await report(sv, item_id, form("现场照片和说明", "30", ("现场.png", "image/png", PNG),
                                                  ("../../说明.txt", "text/plain", "进度说明".encode())))
    assert status == 201 and body["item"]["percent"] == 30
    item = await (await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(LEAD))).json()
    files = item["timeline"][-1]["attachments"]
    assert sorted(f["filename"] for f in files) == ["现场.png", "说明.txt"]
    png = next(f for f in files if f["filename"] == "现场.png")
    assert png["sha256"] == hashlib.sha256(PNG).hexdigest() and png["size"] == len(PNG)
    download = await sv.client.get(png["url"], headers=sv.auth(SUPERVISOR))
    assert download.status == 200 and await download.read() == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert (await sv.client.get(png["url"], headers=sv.auth(OUTSIDER))).status == 403
    assert (await sv.client.get("/api/v1/supervision/attachments/nope", headers=sv.auth(LEAD))).status == 404


@pytest.mark.parametrize(
    ("files", "field", "code"),
    [
        ([("big.png", "image/png", PNG + b"\x00" * 5000)], "attachments[0]", "attachment_too_large"),
        ([("ok.png", "image/png", PNG), ("run.exe", "application/x-msdownload", b"MZ")], "attachments[1]",
         "attachment_type_not_allowed"),
        ([("fake.pdf", "application/pdf", b"MZ\x90\x00 not a pdf")], "attachments[0]", "attachment_not_its_type"),
        ([("bad.txt", "text/plain", b"\xff\xfe\xfa")], "attachments[0]", "attachment_not_its_type"),
        ([("empty.png", "image/png", b"")], "attachments[0]", "attachment_empty"),
        ([(f"{n}.png", "image/png", PNG) for n in range(11)], "attachments", "too_many_attachments"),
    ],
)
async def test_bad_attachments_are_refused_and_nothing_is_stored(
    sv: SvHub, files: list[tuple[str, str, bytes]], field: str, code: str
) -> None:
    item_id = await accepted_item(sv)
    status, body = await report(sv, item_id, form("进展", "50", *files))
    assert status == 400, body
    assert body["error"]["code"] == code and body["error"]["field"] == field
    item = await (await sv.client.get(f"/api/v1/supervision/items/{item_id}", headers=sv.auth(LEAD))).json()
    assert item["item"]["percent"] == 0 and [f["kind"] for f in item["timeline"]] == ["created", "accept"]


async def test_bad_report_fields_in_a_form(sv: SvHub) -> None:
    item_id = await accepted_item(sv)
    for text, percent, field in (("", "10", "text"), ("进展", "abc", "percent"), ("进展", "120", "percent")):
        status, body = await report(sv, item_id, form(text, percent))
        assert status == 400 and body["error"]["field"] == field
    status, body = await report(sv, item_id, form("进展", "10"), person=SUPERVISOR)
    assert status == 403

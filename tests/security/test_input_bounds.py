"""Input with no bounds is a 500 waiting to happen: every integer the API takes has a range, every day and
moment a range of years, JSON a nesting limit, page numbers a ceiling; each is refused with a 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.conftest import Hub
from tests.meetings.conftest import create_meeting


def integers(node: Any, document: dict[str, Any], where: str = "",
             seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer schema under a node of an OpenAPI document, with where it is, references followed."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            yield where, node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference not in seen:
            target = document["components"]["schemas"][reference.rsplit("/", 1)[1]]
            yield from integers(target, document, reference, seen | {reference})
        for key, value in node.items():
            yield from integers(value, document, f"{where}/{key}", seen)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from integers(value, document, f"{where}/{index}", seen)


def inputs(document: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """What a client sends: each operation's parameters and request body (a response's numbers are the hub's)."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method} {path}", [operation.get("parameters", []), operation.get("requestBody", {})]


async def test_every_integer_of_the_api_has_a_range(hub: Hub) -> None:
    document = await (await hub.client.get("/api/v1/openapi.json")).json()
    found = [hit for where, node in inputs(document) for hit in integers(node, document, where)]
    assert len(found) > 5
    unbounded = [where for where, schema in found
                 if "maximum" not in schema and "exclusiveMaximum" not in schema
                 or "minimum" not in schema and "exclusiveMinimum" not in schema]
    assert unbounded == []


async def test_huge_numbers_far_dates_and_deep_json_are_refused(hub: Hub) -> None:
    chair = hub.auth("p-xie")
    for path in ("/api/v1/meetings", "/api/v1/directory/people", "/api/v1/calls", "/api/v1/supervision/items"):
        response = await hub.client.get(f"{path}?offset=842997445923903373312", headers=chair)
        assert response.status == 400, path
        assert (await response.json())["error"]["field"] == "offset"

    meeting = await create_meeting(hub)
    for field, value in (("ends_at", "9999-12-31T23:59:59-14:00"), ("starts_at", "0001-01-01T00:00:00+14:00")):
        response = await hub.client.patch(f"/api/v1/meetings/{meeting['id']}", json={field: value}, headers=chair)
        assert response.status == 400, await response.text()
        assert (await response.json())["error"]["field"] == field

    deep = b"[" * 200_000
    response = await hub.client.post("/api/v1/meetings", data=deep,
                                     headers={**chair, "Content-Type": "application/json"})
    assert response.status == 400 and (await response.json())["error"]["code"] == "malformed_json"
    nested: Any = "x"
    for _ in range(100):
        nested = {"a": nested}
    response = await hub.client.post("/api/v1/meetings", json={"title": nested}, headers=chair)
    assert response.status == 400 and (await response.json())["error"]["code"] == "malformed_json"


async def test_json_endpoints_take_json_only(hub: Hub) -> None:
    body = '{"title": "x"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = await hub.client.post("/api/v1/meetings", data=body,
                                         headers={**hub.auth("p-xie"), "Content-Type": content_type})
        assert response.status == 415, content_type
        assert (await response.json())["error"]["code"] == "unsupported_media_type"


async def test_page_forms_refuse_far_dates(hub: Hub) -> None:
    await hub.client.post("/api/v1/auth/session", json={"token": hub.token("p-xie")})
    form = {"title": "x", "date": "9999-12-31", "start": "23:59", "duration": "1440", "chair": "p-xie"}
    response = await hub.client.post("/meetings", data=form)
    assert response.status == 400 and 'data-test="form-error"' in await response.text()


async def test_a_page_number_past_the_end_is_an_empty_page_not_an_error(hub: Hub) -> None:
    await hub.client.post("/api/v1/auth/session", json={"token": hub.token("p-xie")})
    for page in ("99999999999999999999", "-5", "x"):
        response = await hub.client.get(f"/directory?page={page}")
        assert response.status == 200, page


async def test_broken_report_forms_are_refused(hub: Hub) -> None:
    """Multipart without a boundary, and a text field that is not UTF-8: 400, not 500."""
    path = "/api/v1/supervision/items/x/reports"
    headers = hub.auth("pub-util-04")
    response = await hub.client.post(path, data=b"text=1", headers={**headers, "Content-Type": "multipart/form-data"})
    assert response.status == 400 and (await response.json())["error"]["code"] == "malformed_form"
    body = (b'--b\r\nContent-Disposition: form-data; name="text"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
            b"\xff\xfe\xfa\r\n--b--\r\n")
    response = await hub.client.post(path, data=body,
                                     headers={**headers, "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status == 400 and (await response.json())["error"]["code"] == "malformed_form"

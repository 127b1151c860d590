"""The documents REST API on the real hub (SQLite + in-process bus, PostgreSQL + Redis): create, list, get,
rename, share, and every refusal."""

from __future__ import annotations

from typing import Any

from tests.conftest import Hub


async def create(hub: Hub, person: str, **body: Any) -> dict[str, Any]:
    response = await hub.client.post("/api/v1/docs", json={"title": "预算说明", **body}, headers=hub.auth(person))
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def status_of(hub: Hub, method: str, path: str, person: str | None, **kwargs: Any) -> tuple[int, Any]:
    headers = hub.auth(person) if person else {}
    response = await hub.client.request(method, path, headers=headers, **kwargs)
    return response.status, await response.json()


async def test_create_get_and_list_by_scope(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    assert doc["owner_unit"] == "pub-util" and doc["role"] == "editor" and doc["kind"] == "document"

    status, got = await status_of(hub, "GET", f"/api/v1/docs/{doc['id']}", "p-xie")
    assert status == 200 and got["title"] == "预算说明"
    assert got["grants"] == [{"kind": "unit", "id": "pub-util", "role": "editor"}]
    assert got["me"]["name"] == "谢继成" and got["me"]["color"].startswith("#")

    _, mine = await status_of(hub, "GET", "/api/v1/docs?scope=mine", "p-xie")
    assert [d["id"] for d in mine["documents"]] == [doc["id"]]
    # A colleague of the same unit finds it under "my unit's" and may edit it; it is not "theirs".
    _, unit = await status_of(hub, "GET", "/api/v1/docs?scope=unit", "pub-util-04")
    assert [(d["id"], d["role"]) for d in unit["documents"]] == [(doc["id"], "editor")]
    _, theirs = await status_of(hub, "GET", "/api/v1/docs?scope=mine", "pub-util-04")
    assert theirs["documents"] == []
    # Someone of another unit sees nothing anywhere.
    for scope in ("mine", "unit"):
        _, other = await status_of(hub, "GET", f"/api/v1/docs?scope={scope}", "drc-04")
        assert other["documents"] == []


async def test_outsider_and_unknown_document_are_refused(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    status, body = await status_of(hub, "GET", f"/api/v1/docs/{doc['id']}", "drc-04")
    assert status == 403 and body["error"]["code"] == "doc_forbidden"
    status, body = await status_of(hub, "GET", "/api/v1/docs/nosuchdocument", "p-xie")
    assert status == 404 and body["error"]["code"] == "doc_not_found"
    status, body = await status_of(hub, "GET", f"/api/v1/docs/{doc['id']}", None)
    assert status == 401
    status, body = await status_of(hub, "PATCH", f"/api/v1/docs/{doc['id']}", "drc-04", json={"title": "x"})
    assert status == 403


async def test_rename_by_editor_not_by_reader(hub: Hub) -> None:
    doc = await create(hub, "p-xie", unit_access="reader")
    status, body = await status_of(hub, "PATCH", f"/api/v1/docs/{doc['id']}", "pub-util-04",
                                   json={"title": "偷改"})
    assert status == 403 and body["error"]["code"] == "doc_read_only"
    status, body = await status_of(hub, "PATCH", f"/api/v1/docs/{doc['id']}", "p-xie",
                                   json={"title": "  2027 年 预算  "})
    assert status == 200 and body["title"] == "2027 年 预算"
    _, got = await status_of(hub, "GET", f"/api/v1/docs/{doc['id']}", "pub-util-04")
    assert got["title"] == "2027 年 预算" and got["role"] == "reader"


async def test_share_with_people_and_units(hub: Hub) -> None:
    doc = await create(hub, "p-xie", unit_access="none")
    status, _ = await status_of(hub, "GET", f"/api/v1/docs/{doc['id']}", "pub-util-04")
    assert status == 403  # the unit was given no access
    status, body = await status_of(hub, "PUT", f"/api/v1/docs/{doc['id']}/access", "p-xie", json={
        "editors": [{"kind": "person", "id": "drc-04"}],
        "readers": [{"kind": "unit", "id": "gov-office"}, {"kind": "person", "id": "drc-04"}],
    })
    assert status == 200
    # Editing wins over reading for the same person.
    assert body["grants"] == [{"kind": "person", "id": "drc-04", "role": "editor"},
                              {"kind": "unit", "id": "gov-office", "role": "reader"}]
    _, drc = await status_of(hub, "GET", f"/api/v1/docs/{doc['id']}", "drc-04")
    assert drc["role"] == "editor"
    _, office = await status_of(hub, "GET", "/api/v1/docs?scope=unit", "gov-office-03")
    assert [(d["id"], d["role"]) for d in office["documents"]] == [(doc["id"], "reader")]
    _, shared = await status_of(hub, "GET", "/api/v1/docs?scope=mine", "drc-04")
    assert [d["id"] for d in shared["documents"]] == [doc["id"]]
    # A reader may not share; the creator stays an editor whatever the grants say.
    status, _ = await status_of(hub, "PUT", f"/api/v1/docs/{doc['id']}/access", "gov-office-03",
                                json={"editors": [{"kind": "person", "id": "gov-office-03"}]})
    assert status == 403
    status, _ = await status_of(hub, "PUT", f"/api/v1/docs/{doc['id']}/access", "p-xie", json={})
    assert status == 200
    assert (await status_of(hub, "GET", f"/api/v1/docs/{doc['id']}", "drc-04"))[0] == 403
    assert (await status_of(hub, "GET", f"/api/v1/docs/{doc['id']}", "p-xie"))[0] == 200


async def test_bad_input_gets_named_errors(hub: Hub) -> None:
    doc = await create(hub, "p-xie")
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/api/v1/docs", {"title": ""}, 400, "invalid_body"),
        ("POST", "/api/v1/docs", {"title": "   "}, 400, "invalid_title"),
        ("POST", "/api/v1/docs", {"title": "x" * 201}, 400, "invalid_body"),
        ("POST", "/api/v1/docs", {"title": "x", "owner_unit": "drc"}, 403, "doc_create_forbidden"),
        ("POST", "/api/v1/docs", {"title": "x", "unit_access": "owner"}, 400, "invalid_body"),
        ("PUT", f"/api/v1/docs/{doc['id']}/access", {"editors": [{"kind": "person", "id": "nobody"}]}, 400,
         "unknown_subject"),
        ("PUT", f"/api/v1/docs/{doc['id']}/access", {"readers": [{"kind": "group", "id": "drc"}]}, 400,
         "invalid_body"),
        ("GET", "/api/v1/docs?scope=everything", None, 400, "invalid_parameter"),
        ("GET", "/api/v1/docs?scope=meeting", None, 400, "invalid_parameter"),
    ]
    for method, path, body, status, code in cases:
        got_status, got = await status_of(hub, method, path, "p-xie", json=body)
        assert (got_status, got["error"]["code"]) == (status, code), (method, path, body, got)
    response = await hub.client.post("/api/v1/docs", data=b"\xff{",
                                     headers={**hub.auth("p-xie"), "Content-Type": "application/json"})
    assert response.status == 400 and (await response.json())["error"]["code"] == "malformed_json"


async def test_admin_creates_for_another_unit_and_terminal_creates_none(hub: Hub) -> None:
    doc = await create(hub, "bigdata-04", owner_unit="drc")
    assert doc["owner_unit"] == "drc"
    _, unit = await status_of(hub, "GET", "/api/v1/docs?scope=unit", "drc-04")
    assert [d["id"] for d in unit["documents"]] == [doc["id"]]
    status, body = await status_of(hub, "POST", "/api/v1/docs", "shinan-office-term", json={"title": "x"})
    assert status == 403 and body["error"]["code"] == "doc_create_forbidden"


async def test_openapi_lists_the_documents_endpoints(hub: Hub) -> None:
    response = await hub.client.get("/api/v1/openapi.json")
    paths = (await response.json())["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/docs"])
    assert {"get", "patch"} <= set(paths["/api/v1/docs/{doc_id}"])
    assert "put" in paths["/api/v1/docs/{doc_id}/access"]
    assert "post" in paths["/api/v1/docs/{doc_id}/versions/{version_id}/restore"]
    assert "get" in paths["/api/v1/docs/{doc_id}/export"]

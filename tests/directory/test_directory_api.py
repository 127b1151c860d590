"""The directory API: the org tree, people search (paginated), one person; errors in the one shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import ClientResponse

from hub import keys
from tests.conftest import Hub, make_settings, start_hub

ADMIN = "bigdata-04"
READER = "shinan-office-term"


async def ok(response: ClientResponse) -> Any:
    body = await response.json()
    assert response.status == 200, body
    return body


async def search(hub: Hub, **params: object) -> Any:
    return await ok(await hub.client.get("/api/v1/directory/people", params=params, headers=hub.auth(READER)))


async def test_org_unit_tree(hub: Hub) -> None:
    body = await ok(await hub.client.get("/api/v1/directory/org-units", headers=hub.auth(READER)))
    roots = body["org_units"]
    assert [r["id"] for r in roots] == ["gov"]
    children = roots[0]["children"]
    assert {"pub-util", "bigdata", "supervision"} <= {c["id"] for c in children}
    assert all(c["parent"] == "gov" for c in children)
    kinds = {c["kind"] for c in children}
    assert {"department", "district", "supervision"} <= kinds
    district = next(c for c in children if c["kind"] == "district")
    assert district["children"] and all(o["kind"] == "office" for o in district["children"])


async def test_search_by_name_title_extension_and_unit(hub: Hub) -> None:
    by_name = await search(hub, q="谢继成")
    assert [p["id"] for p in by_name["items"]] == ["p-xie"]
    assert by_name["items"][0]["org_unit_name"] == "市公用事业局"
    by_extension = await search(hub, q="9401")
    assert [p["id"] for p in by_extension["items"]] == ["p-xie"]
    by_title = await search(hub, q="系统管理员")
    assert ADMIN in {p["id"] for p in by_title["items"]}
    assert all("系统管理员" in p["title"] for p in by_title["items"])
    by_unit_name = await search(hub, q="公用事业")
    assert by_unit_name["total"] >= 2 and all(p["org_unit"] == "pub-util" for p in by_unit_name["items"])
    by_unit_filter = await search(hub, org_unit="pub-util")
    assert {p["id"] for p in by_unit_filter["items"]} == {p["id"] for p in by_unit_name["items"]}
    nobody = await search(hub, q="不存在的人")
    assert nobody == {"items": [], "total": 0, "limit": 50, "offset": 0}
    # LIKE wildcards are text, not patterns.
    assert (await search(hub, q="%"))["total"] == 0
    assert (await search(hub, q="_"))["total"] == 0


async def test_search_is_paginated(hub: Hub) -> None:
    everyone = await search(hub, limit=200)
    total = everyone["total"]
    assert total >= 100 and len(everyone["items"]) == min(total, 200)
    seen: list[str] = []
    offset = 0
    while offset < total:
        page = await search(hub, limit=40, offset=offset)
        assert page["total"] == total and len(page["items"]) == min(40, total - offset)
        seen += [p["id"] for p in page["items"]]
        offset += 40
    assert len(seen) == len(set(seen)) == total
    assert (await search(hub, limit=10, offset=total))["items"] == []


async def test_bad_parameters_are_400_naming_the_field(hub: Hub) -> None:
    for params, field in (
        ({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"), ({"q": "x" * 101}, "q"), ({"include_inactive": "perhaps"}, "include_inactive"),
    ):
        response = await hub.client.get("/api/v1/directory/people", params=params, headers=hub.auth(READER))
        body = await response.json()
        assert response.status == 400, params
        assert body["error"]["code"] == "invalid_parameter" and body["error"]["field"] == field
        assert field in body["error"]["message"]


async def test_inactive_people_hidden_unless_asked(hub: Hub) -> None:
    await hub.app[keys.DIRECTORY].set_active("pub-util-02", False)
    assert "pub-util-02" not in {p["id"] for p in (await search(hub, org_unit="pub-util"))["items"]}
    with_inactive = await search(hub, org_unit="pub-util", include_inactive="true")
    assert {"id": "pub-util-02", "active": False}.items() <= next(
        p for p in with_inactive["items"] if p["id"] == "pub-util-02"
    ).items()


async def test_one_person_and_unknown_person(hub: Hub) -> None:
    body = await ok(await hub.client.get("/api/v1/directory/people/p-xie", headers=hub.auth(READER)))
    assert body["name"] == "谢继成" and body["org_unit_name"] == "市公用事业局" and body["extension"] == "9401"
    missing = await hub.client.get("/api/v1/directory/people/p-nobody", headers=hub.auth(READER))
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "person_not_found"
    assert "p-nobody" in (await missing.json())["error"]["message"]


async def test_directory_needs_a_signed_in_caller(hub: Hub) -> None:
    for path in ("/api/v1/directory/org-units", "/api/v1/directory/people", "/api/v1/directory/people/p-xie"):
        response = await hub.client.get(path)
        assert response.status == 401, path
        assert (await response.json())["error"]["code"] == "authentication_required"


async def test_import_endpoint_for_admins_only(hub: Hub) -> None:
    record = {"id": "p-new", "name": "新同志", "org_unit": "pub-util", "title": "科员", "roles": ["official"]}
    refused = await hub.client.post(
        "/api/v1/directory/import", json={"people": [record]}, headers=hub.auth("p-xie")
    )
    assert refused.status == 403
    bad = await hub.client.post(
        "/api/v1/directory/import", json={"people": [{**record, "roles": ["king"]}]}, headers=hub.auth(ADMIN)
    )
    body = await bad.json()
    assert bad.status == 400 and body["error"]["code"] == "invalid_directory"
    assert "people[0] (p-new).roles" in body["error"]["message"]
    missing = await hub.client.get("/api/v1/directory/people/p-new", headers=hub.auth(READER))
    assert missing.status == 404
    report = await ok(await hub.client.post(
        "/api/v1/directory/import", json={"people": [record]}, headers=hub.auth(ADMIN)
    ))
    assert report["created"] == 1
    created = await ok(await hub.client.get("/api/v1/directory/people/p-new", headers=hub.auth(READER)))
    assert created["name"] == "新同志"


async def test_demo_directory_loads_on_first_run_only_in_demo_mode(aiohttp_client: Any, tmp_path: Path) -> None:
    demo = await start_hub(aiohttp_client, make_settings(tmp_path / "demo"))
    units = await demo.app[keys.DIRECTORY].units()
    people, total = await demo.app[keys.DIRECTORY].search("", limit=200)
    assert len(units) >= 30 and 120 <= total <= 200
    roles = {role.value for person in people for role in person.roles}
    assert {"chair", "secretary", "supervisor", "admin", "terminal"} <= roles
    plain = await start_hub(aiohttp_client, make_settings(tmp_path / "plain", server={"demo": False}))
    assert await plain.app[keys.DIRECTORY].is_empty()


async def test_demo_directory_is_not_reloaded_over_changes(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = await start_hub(aiohttp_client, settings)
    await first.app[keys.DIRECTORY].set_active("p-xie", False)
    await first.client.close()
    second = await start_hub(aiohttp_client, settings)
    assert not (await second.app[keys.DIRECTORY].person("p-xie")).active


async def test_import_binds_certificates_by_fingerprint(hub: Hub) -> None:
    sha = "AB:" * 31 + "CD"  # as tools print a SHA-256 fingerprint
    record = {"id": "p-new", "name": "新同志", "org_unit": "pub-util", "roles": ["official"], "certificates": [sha]}
    await ok(await hub.client.post("/api/v1/directory/import", json={"people": [record]}, headers=hub.auth(ADMIN)))
    found = await hub.app[keys.DIRECTORY].person_by_certificate("ab" * 31 + "cd")
    assert found is not None and found.id == "p-new"
    exported = await hub.app[keys.DIRECTORY].export()
    assert next(p for p in exported["people"] if p["id"] == "p-new")["certificates"] == ["ab" * 31 + "cd"]
    for people, message in (
        ([{**record, "certificates": ["12345"]}], "is not a SHA-256 fingerprint"),
        ([record, {**record, "id": "p-two", "name": "另一人"}], "is also bound to p-new"),
        ([{**record, "id": "p-two", "name": "另一人"}], "is bound to p-new"),
    ):
        bad = await hub.client.post("/api/v1/directory/import", json={"people": people}, headers=hub.auth(ADMIN))
        body = await bad.json()
        assert bad.status == 400 and message in body["error"]["message"], body
    # a file without the key leaves the bindings as they are; an empty list removes them
    await ok(await hub.client.post("/api/v1/directory/import", json={"people": [{**record, "certificates": None}]},
                                   headers=hub.auth(ADMIN)))
    assert await hub.app[keys.DIRECTORY].person_by_certificate("ab" * 31 + "cd") is not None
    await ok(await hub.client.post("/api/v1/directory/import", json={"people": [{**record, "certificates": []}]},
                                   headers=hub.auth(ADMIN)))
    assert await hub.app[keys.DIRECTORY].person_by_certificate("ab" * 31 + "cd") is None

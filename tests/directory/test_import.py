"""Directory import: YAML, JSON, a CSV folder; idempotent; prune; errors that name the record and import nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hub.directory.importer import DirectoryImportError, load_file, parse
from hub.directory.service import CHANGED_CHANNEL, DirectoryService
from tests.directory.conftest import SMALL


def write_csv_folder(folder: Path, data: dict[str, list[dict[str, object]]]) -> Path:
    folder.mkdir()
    unit_rows = ["id,name,kind,parent,extension"] + [
        f"{u['id']},{u['name']},{u['kind']},{u.get('parent') or ''},{u.get('extension') or ''}"
        for u in data["org_units"]
    ]
    people_rows = ["id,name,org_unit,title,roles,extension,active"] + [
        f"{p['id']},{p['name']},{p['org_unit']},{p.get('title', '')},{';'.join(p['roles'])},"  # type: ignore[arg-type]
        f"{p.get('extension') or ''},{str(p.get('active', True)).lower()}"
        for p in data["people"]
    ]
    (folder / "org_units.csv").write_text("\n".join(unit_rows) + "\n", encoding="utf-8")
    (folder / "people.csv").write_text("\n".join(people_rows) + "\n", encoding="utf-8")
    return folder


def small() -> dict[str, list[dict[str, object]]]:
    return yaml.safe_load(SMALL)  # type: ignore[no-any-return]


@pytest.fixture(params=["yaml", "json", "csv"])
def small_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "yaml":
        path = tmp_path / "directory.yaml"
        path.write_text(SMALL, encoding="utf-8")
        return path
    if request.param == "json":
        path = tmp_path / "directory.json"
        path.write_text(json.dumps(small(), ensure_ascii=False), encoding="utf-8")
        return path
    return write_csv_folder(tmp_path / "csv", small())


async def test_import_each_format_and_twice_is_the_same(directory: DirectoryService, small_file: Path) -> None:
    first = await directory.import_data(load_file(small_file))
    assert first.to_dict() == {"org_units": 4, "people": 3, "created": 7, "updated": 0, "deactivated": 0}
    state = await directory.export()
    second = await directory.import_data(load_file(small_file))
    assert second.to_dict() == {"org_units": 4, "people": 3, "created": 0, "updated": 7, "deactivated": 0}
    assert await directory.export() == state
    xie = await directory.person("p-xie")
    assert (xie.name, xie.title, xie.extension, xie.active) == ("谢继成", "局长", "8101", True)
    assert {r.value for r in xie.roles} == {"official", "chair"}
    tree = await directory.tree()
    assert [root["id"] for root in tree] == ["gov"]
    shinan = next(c for c in tree[0]["children"] if c["id"] == "shinan")
    assert [c["id"] for c in shinan["children"]] == ["shinan-office"]
    assert (await directory.by_extension("8200")).name == "市南区人民政府"


async def test_all_formats_give_the_same_directory(directory: DirectoryService, tmp_path: Path) -> None:
    yaml_path = tmp_path / "d.yaml"
    yaml_path.write_text(SMALL, encoding="utf-8")
    await directory.import_data(load_file(yaml_path))
    from_yaml = await directory.export()
    csv_folder = write_csv_folder(tmp_path / "csv", small())
    assert load_file(csv_folder).people[0]["roles"] == ["official", "chair"]
    report = await directory.import_data(load_file(csv_folder))
    assert report.created == 0
    assert await directory.export() == from_yaml


async def test_export_round_trips(directory: DirectoryService, tmp_path: Path) -> None:
    await directory.import_data(parse(small()))
    exported = await directory.export()
    path = tmp_path / "export.yaml"
    path.write_text(yaml.safe_dump(exported, allow_unicode=True), encoding="utf-8")
    report = await directory.import_data(load_file(path))
    assert (report.created, report.updated) == (0, 7)
    assert await directory.export() == exported


async def test_prune_deactivates_missing_people(directory: DirectoryService) -> None:
    await directory.import_data(parse(small()))
    without_kong = small()
    without_kong["people"] = [p for p in without_kong["people"] if p["id"] != "p-kong"]
    kept = await directory.import_data(parse(without_kong))
    assert kept.deactivated == 0 and (await directory.person("p-kong")).active
    changes = await directory.bus.subscribe(CHANGED_CHANNEL)
    pruned = await directory.import_data(parse(without_kong), prune=True)
    assert pruned.deactivated == 1
    assert not (await directory.person("p-kong")).active
    assert (await directory.person("p-xie")).active
    assert await changes.get() == {"people": ["p-kong"]}
    changes.close()
    people, total = await directory.search("")
    assert total == 2 and "p-kong" not in {p.id for p in people}


async def test_reimport_reactivates_and_moves(directory: DirectoryService) -> None:
    await directory.import_data(parse(small()))
    await directory.set_active("p-kong", False)
    moved = small()
    kong = next(p for p in moved["people"] if p["id"] == "p-kong")
    kong.update(org_unit="shinan-office", active=True)
    # Two people swap extensions in one import.
    xie = next(p for p in moved["people"] if p["id"] == "p-xie")
    xie["extension"], kong["extension"] = "8102", "8101"
    await directory.import_data(parse(moved))
    kong_now = await directory.person("p-kong")
    assert kong_now.active and kong_now.org_unit_id == "shinan-office" and kong_now.extension == "8101"
    assert (await directory.person("p-xie")).extension == "8102"


BAD_CASES = {
    "duplicate person id": (
        lambda d: d["people"].append({**d["people"][0], "extension": "8199"}), "people[3] (p-xie).id", "duplicate"
    ),
    "duplicate unit id": (
        lambda d: d["org_units"].append({"id": "shinan", "name": "重复", "kind": "district"}),
        "org_units[4] (shinan).id", "duplicate",
    ),
    "duplicate extension": (
        lambda d: d["people"].append({"id": "p-new", "name": "新人", "org_unit": "gov", "extension": "8101"}),
        "people[3] (p-new).extension", "8101",
    ),
    "extension of a unit": (
        lambda d: d["people"].append({"id": "p-new", "name": "新人", "org_unit": "gov", "extension": "8200"}),
        "people[3] (p-new).extension", "shinan",
    ),
    "unknown parent": (
        lambda d: d["org_units"].append({"id": "x", "name": "某局", "kind": "department", "parent": "nowhere"}),
        "org_units[4] (x).parent", "nowhere",
    ),
    "unknown org unit": (
        lambda d: d["people"].append({"id": "p-new", "name": "新人", "org_unit": "nowhere"}),
        "people[3] (p-new).org_unit", "nowhere",
    ),
    "cycle": (
        lambda d: d["org_units"].extend([
            {"id": "a", "name": "甲", "kind": "office", "parent": "b"},
            {"id": "b", "name": "乙", "kind": "office", "parent": "a"},
        ]),
        "org_units[4] (a).parent", "cycle",
    ),
    "unknown role": (
        lambda d: d["people"].append({"id": "p-new", "name": "新人", "org_unit": "gov", "roles": ["mayor"]}),
        "people[3] (p-new).roles", "mayor",
    ),
    "unknown kind": (
        lambda d: d["org_units"].append({"id": "x", "name": "某局", "kind": "ministry"}),
        "org_units[4] (x).kind", "ministry",
    ),
    "missing name": (lambda d: d["people"].append({"id": "p-new", "org_unit": "gov"}), "people[3] (p-new).name", ""),
    "bad extension": (
        lambda d: d["people"].append({"id": "p-new", "name": "新人", "org_unit": "gov", "extension": "12ab"}),
        "people[3] (p-new).extension", "digits",
    ),
    "bad active": (
        lambda d: d["people"].append({"id": "p-new", "name": "新人", "org_unit": "gov", "active": "maybe"}),
        "people[3] (p-new).active", "maybe",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_records_are_named(case: str) -> None:
    change, where, detail = BAD_CASES[case]
    data = small()
    change(data)
    with pytest.raises(DirectoryImportError) as caught:
        from hub.directory.importer import normalise

        normalise(parse(data), stored_units=set(), stored_extensions={})
    assert where in caught.value.message, caught.value.message
    assert detail in caught.value.message
    assert caught.value.status == 400


async def test_a_bad_import_changes_nothing(directory: DirectoryService) -> None:
    await directory.import_data(parse(small()))
    before = await directory.export()
    for case, (change, _where, _) in BAD_CASES.items():
        data = small()
        # Good changes in the same file must not land either.
        data["people"][0]["title"] = "已改职务"
        data["org_units"].append({"id": "new-unit", "name": "新单位", "kind": "department", "parent": "gov"})
        change(data)
        with pytest.raises(DirectoryImportError):
            await directory.import_data(parse(data), prune=True)
        assert await directory.export() == before, case


async def test_first_import_failure_leaves_an_empty_directory(directory: DirectoryService) -> None:
    data = small()
    data["people"].append({"id": "p-new", "name": "新人", "org_unit": "gov", "roles": ["emperor"]})
    with pytest.raises(DirectoryImportError):
        await directory.import_data(parse(data))
    assert await directory.is_empty()


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{nope", encoding="utf-8")
    with pytest.raises(DirectoryImportError, match="not valid JSON"):
        load_file(broken)
    bad_yaml = tmp_path / "broken.yaml"
    bad_yaml.write_text("org_units: [unclosed", encoding="utf-8")
    with pytest.raises(DirectoryImportError, match="not valid YAML"):
        load_file(bad_yaml)
    with pytest.raises(DirectoryImportError, match="no such file"):
        load_file(tmp_path / "absent.yaml")
    half = tmp_path / "half"
    half.mkdir()
    (half / "org_units.csv").write_text("id,name,kind\ngov,市政府,city\n", encoding="utf-8")
    with pytest.raises(DirectoryImportError, match="people.csv is missing"):
        load_file(half)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(DirectoryImportError, match="expected a mapping"):
        load_file(listed)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("org_units: 3\n", encoding="utf-8")
    with pytest.raises(DirectoryImportError) as caught:
        load_file(wrong)
    assert caught.value.field == "org_units"


async def test_a_cycle_through_stored_units_is_refused(directory: DirectoryService) -> None:
    await directory.import_data(parse(small()))
    before = await directory.export()
    # shinan-office (stored, not in this file) hangs under shinan; making shinan its child closes a loop.
    looped = {"org_units": [{"id": "shinan", "name": "市南区人民政府", "kind": "district", "parent": "shinan-office"}]}
    with pytest.raises(DirectoryImportError) as caught:
        await directory.import_data(parse(looped))
    assert "org_units[0] (shinan).parent" in caught.value.message and "cycle" in caught.value.message
    assert await directory.export() == before
    # A unit may still move under another stored unit when that makes no loop.
    moved = {"org_units": [{"id": "shinan-office", "name": "市南区政府办公室", "kind": "office", "parent": "pub-util"}]}
    await directory.import_data(parse(moved))
    assert (await directory.unit("shinan-office")).parent_id == "pub-util"

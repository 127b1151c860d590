"""Reading a directory from YAML, JSON or a folder of CSV files, and checking it whole before anything is stored."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import yaml

from hub.directory.model import DirectoryData, OrgKind, Role
from hub.errors import BadRequest

ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"  # a person's or org unit's id
ID_PATTERN = re.compile(f"^{ID}$")
FINGERPRINT = re.compile(r"[0-9a-f]{64}")
EXTENSION_PATTERN = re.compile(r"^[0-9]{2,12}$")
TRUE_WORDS = {"1", "true", "yes", "y", "on", "是"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "否", ""}


class DirectoryImportError(BadRequest):
    """A directory file that cannot be imported; the message names the record and field."""

    code = "invalid_directory"


def load_file(path: Path) -> DirectoryData:
    """Parse a YAML or JSON file, or a folder holding org_units.csv and people.csv."""
    if path.is_dir():
        return _load_csv_folder(path)
    if not path.exists():
        raise DirectoryImportError(message=f"{path}: no such file or folder")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DirectoryImportError(message=f"{path}: not valid JSON: {exc}") from None
    else:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DirectoryImportError(message=f"{path}: not valid YAML: {exc}") from None
    return parse(raw, source=str(path))


def parse(raw: Any, source: str = "directory") -> DirectoryData:
    """The two lists of a directory document, shape-checked."""
    if not isinstance(raw, dict):
        raise DirectoryImportError(message=f"{source}: expected a mapping with org_units and people")
    units = raw.get("org_units", [])
    persons = raw.get("people", [])
    for name, value in (("org_units", units), ("people", persons)):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise DirectoryImportError(message=f"{source}: {name} must be a list of records", field=name)
    return DirectoryData(org_units=units, people=persons)


def _load_csv_folder(folder: Path) -> DirectoryData:
    def rows(name: str) -> list[dict[str, Any]]:
        path = folder / name
        if not path.exists():
            raise DirectoryImportError(message=f"{folder}: {name} is missing")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(handle)]

    units = rows("org_units.csv")
    persons = rows("people.csv")
    for person in persons:
        person["roles"] = [r for r in re.split(r"[;|,\s]+", person.get("roles", "")) if r]
        if "active" not in person:
            person["active"] = True
    for record in units + persons:
        for key in ("parent", "extension"):
            if record.get(key) == "":
                record[key] = None
    return DirectoryData(org_units=units, people=persons)


def _text(record: dict[str, Any], key: str, where: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise DirectoryImportError(message=f"{where}.{key}: missing", field=key)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DirectoryImportError(message=f"{where}.{key}: expected text, got {value!r}", field=key)
    text = str(value).strip()
    if len(text) > limit:
        raise DirectoryImportError(message=f"{where}.{key}: longer than {limit} characters", field=key)
    return text


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise DirectoryImportError(message=f"{where}.active: expected true or false, got {value!r}", field="active")


def normalise(
    data: DirectoryData, *, stored_units: set[str], stored_extensions: dict[str, str],
    stored_parents: dict[str, str | None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Check every record (ids, kinds, parents, cycles, roles, unique extensions) and return clean ones.

    `stored_parents` (unit id -> parent id of the units already stored) lets a cycle through units that the file
    does not mention be found too.
    """
    units: list[dict[str, Any]] = []
    seen_units: dict[str, str] = {}
    for index, record in enumerate(data.org_units):
        where = f"org_units[{index}]"
        unit_id = _text(record, "id", where, limit=64)
        assert unit_id is not None
        where = f"org_units[{index}] ({unit_id})"
        if not ID_PATTERN.match(unit_id):
            raise DirectoryImportError(message=f"{where}.id: use letters, digits, '-', '_' or '.'", field="id")
        if unit_id in seen_units:
            raise DirectoryImportError(message=f"{where}.id: duplicate id", field="id")
        seen_units[unit_id] = where
        kind = _text(record, "kind", where, limit=20)
        if kind not in OrgKind.__members__.values():
            allowed = ", ".join(k.value for k in OrgKind)
            raise DirectoryImportError(message=f"{where}.kind: {kind!r} is not one of {allowed}", field="kind")
        units.append(
            {
                "id": unit_id,
                "name": _text(record, "name", where),
                "kind": kind,
                "parent": _text(record, "parent", where, required=False, limit=64),
                "extension": _text(record, "extension", where, required=False, limit=12),
                "_where": where,
            }
        )
    known_units = stored_units | set(seen_units)
    parents = {**(stored_parents or {}), **{u["id"]: u["parent"] for u in units}}
    for unit in units:
        if unit["parent"] is not None and unit["parent"] not in known_units:
            raise DirectoryImportError(
                message=f"{unit['_where']}.parent: unknown org unit {unit['parent']!r}", field="parent"
            )
        _check_cycle(unit, parents)

    persons: list[dict[str, Any]] = []
    seen_people: set[str] = set()
    for index, record in enumerate(data.people):
        where = f"people[{index}]"
        person_id = _text(record, "id", where, limit=64)
        assert person_id is not None
        where = f"people[{index}] ({person_id})"
        if not ID_PATTERN.match(person_id):
            raise DirectoryImportError(message=f"{where}.id: use letters, digits, '-', '_' or '.'", field="id")
        if person_id in seen_people or person_id in seen_units:
            raise DirectoryImportError(message=f"{where}.id: duplicate id", field="id")
        seen_people.add(person_id)
        org_unit = _text(record, "org_unit", where, limit=64)
        if org_unit not in known_units:
            raise DirectoryImportError(message=f"{where}.org_unit: unknown org unit {org_unit!r}", field="org_unit")
        roles = record.get("roles") or []
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, list):
            raise DirectoryImportError(message=f"{where}.roles: expected a list", field="roles")
        for role in roles:
            if role not in Role.__members__.values():
                allowed = ", ".join(r.value for r in Role)
                raise DirectoryImportError(message=f"{where}.roles: unknown role {role!r} ({allowed})", field="roles")
        persons.append(
            {
                "id": person_id,
                "name": _text(record, "name", where, limit=100),
                "org_unit": org_unit,
                "title": _text(record, "title", where, required=False, limit=100) or "",
                "roles": sorted(set(roles)),
                "extension": _text(record, "extension", where, required=False, limit=12),
                "active": _bool(record.get("active", True), where),
                "certificates": _fingerprints(record, where),
                "_where": where,
            }
        )
    _check_extensions(units + persons, stored_extensions)
    _check_certificates(persons)
    for record in units + persons:
        del record["_where"]
    return units, persons


def fingerprint_of(text: str) -> str | None:
    """A certificate's SHA-256 fingerprint as the directory keeps it (64 lowercase hex digits; colons and spaces,
    as tools print them, are dropped); None if it is not one."""
    cleaned = text.replace(":", "").replace(" ", "").lower()
    return cleaned if FINGERPRINT.fullmatch(cleaned) else None


def _fingerprints(record: dict[str, Any], where: str) -> list[str] | None:
    raw = record.get("certificates")
    if raw is None:
        return None  # not in the file: the bindings stay as they are
    if isinstance(raw, str):
        raw = [part for part in raw.replace(";", ",").split(",") if part.strip()]
    if not isinstance(raw, list):
        raise DirectoryImportError(message=f"{where}.certificates: expected a list of SHA-256 fingerprints",
                                   field="certificates")
    found = []
    for value in raw:
        sha = fingerprint_of(str(value))
        if sha is None:
            raise DirectoryImportError(message=f"{where}.certificates: {value!r} is not a SHA-256 fingerprint",
                                       field="certificates")
        found.append(sha)
    return sorted(set(found))


def _check_certificates(persons: list[dict[str, Any]]) -> None:
    owners: dict[str, str] = {}
    for person in persons:
        for sha in person["certificates"] or []:
            if sha in owners:
                raise DirectoryImportError(message=f"{person['_where']}.certificates: {sha[:16]}… is also bound "
                                                   f"to {owners[sha]}", field="certificates")
            owners[sha] = person["id"]


def _check_cycle(unit: dict[str, Any], parents: dict[str, str | None]) -> None:
    seen = {unit["id"]}
    current = unit["parent"]
    while current is not None and current in parents:
        if current in seen:
            raise DirectoryImportError(
                message=f"{unit['_where']}.parent: the org unit tree has a cycle through {current!r}", field="parent"
            )
        seen.add(current)
        current = parents[current]


def _check_extensions(records: list[dict[str, Any]], stored: dict[str, str]) -> None:
    in_file = {r["id"] for r in records}
    owners: dict[str, str] = {ext: owner for ext, owner in stored.items() if owner not in in_file}
    for record in records:
        extension = record["extension"]
        if extension is None:
            continue
        if not EXTENSION_PATTERN.match(extension):
            raise DirectoryImportError(
                message=f"{record['_where']}.extension: {extension!r} is not 2 to 12 digits", field="extension"
            )
        if extension in owners:
            raise DirectoryImportError(
                message=f"{record['_where']}.extension: {extension} is already used by {owners[extension]}",
                field="extension",
            )
        owners[extension] = record["id"]

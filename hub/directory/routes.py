"""HTTP endpoints of the directory: the org tree, people search, a person, admin import and activation."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api import ApiModel, ApiRoutes, json_response, read_body, read_query
from hub.auth import policy
from hub.auth.http import principal_of
from hub.bounds import Offset
from hub.directory.importer import parse
from hub.directory.responses import DirectoryImportReport, OrgUnitList, OrgUnitTree, Person, PersonInUnit, PersonPage
from hub.errors import Conflict

routes = ApiRoutes("directory")


class PeopleQuery(BaseModel):
    q: str = Field("", max_length=100)
    org_unit: str | None = Field(None, max_length=64)
    limit: int = Field(50, ge=1, le=200)
    offset: Offset = 0
    include_inactive: bool = False


class UnitQuery(BaseModel):
    q: str = Field(min_length=1, max_length=100)
    limit: int = Field(20, ge=1, le=200)


class ActiveRequest(ApiModel):
    active: bool


class ImportRequest(ApiModel):
    org_units: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    prune: bool = False


async def _reader(request: web.Request) -> None:
    principal = await principal_of(request)
    policy.require(policy.can_read_directory(principal), "directory_forbidden", "not allowed to read the directory")


@routes.get("/api/v1/directory/org-units", summary="The org unit tree", response=OrgUnitTree)
async def org_units(request: web.Request) -> web.Response:
    await _reader(request)
    return json_response({"org_units": await request.app[keys.DIRECTORY].tree()})


@routes.get("/api/v1/directory/org-units/search", query=UnitQuery, response=OrgUnitList,
            summary="Search org units by name, id, extension or the pinyin of the name (`sgy`), best first")
async def search_units(request: web.Request) -> web.Response:
    await _reader(request)
    query = read_query(request, UnitQuery)
    found = await request.app[keys.DIRECTORY].search_units(query.q, limit=query.limit)
    return json_response({"items": [unit.to_dict() for unit in found]})


@routes.get(
    "/api/v1/directory/people",
    summary="Search people by name, title, extension, org unit or the pinyin of the name (`xjc`, `xiejicheng`), "
            "best first (paginated)",
    query=PeopleQuery,
    response=PersonPage,
)
async def people(request: web.Request) -> web.Response:
    await _reader(request)
    query = read_query(request, PeopleQuery)
    directory = request.app[keys.DIRECTORY]
    found, total = await directory.search(
        query.q, org_unit=query.org_unit, include_inactive=query.include_inactive, limit=query.limit,
        offset=query.offset,
    )
    units = {unit.id: unit for unit in await directory.units()}
    items = []
    for person in found:
        record = person.to_dict()
        unit = units.get(person.org_unit_id)
        record["org_unit_name"] = unit.name if unit else None
        items.append(record)
    return json_response({"items": items, "total": total, "limit": query.limit, "offset": query.offset})


@routes.get("/api/v1/directory/people/{person_id}", summary="One person", response=PersonInUnit)
async def person(request: web.Request) -> web.Response:
    await _reader(request)
    directory = request.app[keys.DIRECTORY]
    found = await directory.person(request.match_info["person_id"])
    unit = await directory.unit(found.org_unit_id)
    return json_response({**found.to_dict(), "org_unit_name": unit.name})


@routes.put(
    "/api/v1/directory/people/{person_id}/active",
    summary="Activate or deactivate a person (admins; not themselves); their open sessions are re-checked",
    body=ActiveRequest,
    response=Person,
)
async def set_active(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, ActiveRequest)
    policy.require(policy.can_administer(principal), "admin_required", "only admins change the directory")
    person_id = request.match_info["person_id"]
    if person_id == principal.id and not body.active:
        # an admin locked out by their own slip (the only admin, perhaps) has nobody to let them back in
        raise Conflict("cannot_deactivate_self",
                       "you cannot deactivate yourself: another admin can, or the next directory import")
    changed = await request.app[keys.DIRECTORY].set_active(person_id, body.active)
    return json_response(changed.to_dict())


@routes.post(
    "/api/v1/directory/import",
    summary="Import a directory (admins): one transaction, upsert, optional prune",
    body=ImportRequest,
    response=DirectoryImportReport,
)
async def import_directory(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, ImportRequest)
    policy.require(policy.can_administer(principal), "admin_required", "only admins change the directory")
    data = parse({"org_units": body.org_units, "people": body.people}, source="request")
    report = await request.app[keys.DIRECTORY].import_data(data, prune=body.prune)
    return json_response(report.to_dict())

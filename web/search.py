"""One search for the whole hub (issue #12): the navigation's box, the /search page and GET /api/v1/search. People
and org units by name, unit, extension or pinyin (`xjc`); meetings, documents and supervision items by title:
each section only what the searcher may see, each hit a link (people and duty lines with a call button)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api import ApiModel, ApiRoutes, json_response, read_query
from hub.auth import policy
from hub.auth.http import principal_of
from hub.auth.principal import Principal
from hub.directory.model import Role
from hub.directory.responses import OrgUnit, Person
from hub.docs.responses import DocumentInfo
from hub.meetings.model import MeetingStatus
from hub.supervision.model import ItemFilter
from hub.supervision.responses import Item
from web.pages import page_principal, render

log = logging.getLogger(__name__)

routes = ApiRoutes("search")
PER_SECTION = 8


class SearchQuery(BaseModel):
    q: str = Field(min_length=1, max_length=100)


class SearchPerson(Person):
    org_unit_name: str
    url: str = Field(description="the directory page that finds them")
    call: str = Field(description="the phone page that dials them")


class SearchUnit(OrgUnit):
    url: str = Field(description="the directory page of the unit")
    call: str | None = Field(description="the phone page that dials its duty line (null: it has none)")


class SearchMeeting(ApiModel):
    id: str
    title: str
    starts_at: datetime
    status: MeetingStatus
    url: str = Field(description="the meeting's page")


class SearchDocument(DocumentInfo):
    url: str = Field(description="the editor page")


class SearchItem(Item):
    url: str = Field(description="the item's page")


class SearchResults(ApiModel):
    """The hits of each section, best first; a section the caller may not see is empty."""

    people: list[SearchPerson] = Field(description="without the caller")
    units: list[SearchUnit]
    meetings: list[SearchMeeting]
    documents: list[SearchDocument]
    items: list[SearchItem]


async def find(app: web.Application, principal: Principal, q: str) -> dict[str, list[dict[str, Any]]]:
    """The hits of each section the principal may see, best first."""
    q = " ".join(q.split())  # control characters and runs of blanks are one blank
    found: dict[str, list[dict[str, Any]]] = {"people": [], "units": [], "meetings": [], "documents": [], "items": []}
    if not q:
        return found
    directory = app[keys.DIRECTORY]
    if policy.can_read_directory(principal):
        people, _ = await directory.search(q, limit=PER_SECTION)
        units = {u.id: u.name for u in await directory.units()}
        found["people"] = [{**p.to_dict(), "org_unit_name": units.get(p.org_unit_id, ""), "url":
                            f"/directory?q={quote(p.name)}", "call": f"/phone?dial=person:{p.id}"} for p in people
                           if p.id != principal.id]
        found["units"] = [{**u.to_dict(), "url": f"/directory?org_unit={u.id}",
                           "call": f"/phone?dial=unit:{u.id}" if u.extension else None}
                          for u in await directory.search_units(q, limit=PER_SECTION)]
    if principal.has(Role.TERMINAL):
        return found  # a meeting-room terminal calls; it has no meetings, documents or items of its own
    meetings = await app[keys.MEETINGS].listing(principal, scope="mine", when="all", title=q, limit=PER_SECTION)
    found["meetings"] = [{"id": m.id, "title": m.title, "starts_at": m.starts_at.isoformat(), "status": m.status.value,
                          "url": f"/meetings/{m.id}"} for m in meetings]
    documents: dict[str, Any] = {}
    for scope in ("mine", "unit"):
        for doc, _role in await app[keys.DOCS].list_docs(principal, scope):
            if q.lower() in doc.title.lower():
                documents.setdefault(doc.id, {**doc.to_dict(), "url": f"/docs/{doc.id}"})
    found["documents"] = sorted(documents.values(), key=lambda d: d["updated_at"], reverse=True)[:PER_SECTION]
    items, _ = await app[keys.SUPERVISION_REPORTS].items(principal, ItemFilter(title=q), limit=PER_SECTION)
    found["items"] = [{**i.to_dict(), "url": f"/supervision/items/{i.id}"} for i in items]
    return found


@routes.get("/api/v1/search", query=SearchQuery,
            summary="Search people, org units (name, unit, extension, pinyin), meetings, documents and supervision "
                    "items (title): each section only what the caller may see", response=SearchResults)
async def search_api(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, SearchQuery)
    return json_response(await find(request.app, principal, query.q))


async def search_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    q = request.query.get("q", "").strip()[:100]
    found = await find(request.app, principal, q) if q else None
    return await render(request, "search.html", {
        "q": q, "search_q": q, "found": found, "total": sum(len(v) for v in found.values()) if found else 0,
    })


def setup_search_page(app: web.Application) -> None:
    """The search page (the navigation's box sends here)."""
    app.router.add_get("/search", search_page)

"""HTTP endpoints of the video phone: my call log, the missed-calls count, presence; and the service's lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api import ApiRoutes, json_response, read_query
from hub.auth import policy
from hub.auth.http import principal_of
from hub.bounds import Offset
from hub.calls.responses import Call, CallContacts, CallMissedCount, CallPage, CallPresence
from hub.calls.service import CallService
from hub.directory.importer import ID

log = logging.getLogger(__name__)

routes = ApiRoutes("calls")


class LogQuery(BaseModel):
    missed: bool = False
    limit: int = Field(50, ge=1, le=200)
    offset: Offset = 0


@routes.get("/api/v1/calls", summary="My calls, newest first (missed=true: only missed ones)", query=LogQuery,
            response=CallPage)
async def call_log(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, LogQuery)
    service = request.app[keys.CALLS]
    items, total = await service.history.log_of(principal.id, missed_only=query.missed, limit=query.limit,
                                        offset=query.offset)
    return json_response({"items": items, "total": total, "limit": query.limit, "offset": query.offset,
                          "missed_unseen": await service.history.missed_count(principal.id)})


@routes.get("/api/v1/calls/missed-count", summary="How many missed calls I have not seen yet",
            response=CallMissedCount)
async def missed_count(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return json_response({"count": await request.app[keys.CALLS].history.missed_count(principal.id)})


@routes.post("/api/v1/calls/missed/seen", summary="Mark my missed calls as seen (the badge goes to zero)",
             response=CallMissedCount)
async def missed_seen(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    await request.app[keys.CALLS].history.mark_seen(principal.id)
    return json_response({"count": 0})


@routes.get("/api/v1/calls/recent-contacts", response=CallContacts,
            summary="Whom I called or was called by lately (people and duty lines), newest first, to call back")
async def recent_contacts(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return json_response({"contacts": await request.app[keys.CALLS].history.recent_contacts(principal.id)})


class PresenceQuery(BaseModel):
    people: str = Field(max_length=3300, pattern=f"^{ID}(,{ID}){{0,49}}$",
                        description="person ids, comma-separated (at most 50)")


@routes.get("/api/v1/calls/presence", summary="Which phone devices (tabs, terminals) of some people are online",
            query=PresenceQuery, response=CallPresence)
async def presence(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    policy.require(policy.can_read_directory(principal), "directory_forbidden", "not allowed to read the directory")
    ids = list(dict.fromkeys(read_query(request, PresenceQuery).people.split(",")))  # 1 to 50, by the pattern
    known = await request.app[keys.DIRECTORY].people(ids)
    service = request.app[keys.CALLS]
    result = {}
    for person_id in ids:
        if person_id not in known:
            continue
        devices = await service.devices(person_id)
        listed = [{"kind": value.get("kind"), "label": value.get("label", "")} for value in devices.values()]
        result[person_id] = {"online": bool(listed), "devices": listed}
    return json_response({"people": result})


@routes.get("/api/v1/calls/{call_id}", summary="One of my calls with its states and times", response=Call)
async def one_call(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    call = await request.app[keys.CALLS].get(principal, request.match_info["call_id"])
    return json_response(call.to_dict())


async def calls_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """The call service of this node: created after the directory, its sweeper stopped on cleanup."""
    settings = app[keys.SETTINGS]
    service = CallService(app[keys.DB], app[keys.BUS], app[keys.DIRECTORY], app[keys.CLOCK], settings.calls,
                          settings.ice)
    if any(url.startswith(("turn:", "turns:")) for url in settings.ice.servers) and not settings.ice.turn_secret:
        log.warning("ice.servers lists TURN but ice.turn_secret is empty: TURN is left out of calls")
    app[keys.CALLS] = service
    await service.start()
    yield
    await service.stop()

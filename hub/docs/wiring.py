"""Wires shared documents into the app: rooms, services, re-checks on access changes, and /docs/{doc_id}/ws."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hub import keys
from hub.auth.changes import AccessChange
from hub.auth.http import principal_of
from hub.docs.meetings_link import DecisionMinutes, MeetingAttendance, MeetingMinutes
from hub.docs.service import DocumentService, PersonDocAccess
from hub.docs.signoffs import DocSignoffs
from hub.docs.store import SqlDocUpdateStore
from hub.docs.sync_room import DocAccess, DocLimits
from hub.docs.sync_rooms import DocRooms
from hub.docs.sync_ws import handle_doc_ws
from hub.docs.versions import DocumentVersions
from hub.errors import Unauthorized
from hub.origin import check_origin

log = logging.getLogger(__name__)


async def ws_access(request: web.Request, doc_id: str) -> DocAccess:
    """As for /ws: same-origin browsers with the session cookie, or a bearer token; then the document's grants.

    The connection lasts as long as the token (plus the leeway) unless renewed in band (`ws_renew`)."""
    check_origin(request)
    principal = await principal_of(request)
    valid_until = request.app[keys.AUTH].valid_until(principal)
    return await request.app[keys.DOCS].connection_access(principal, doc_id, valid_until)


async def ws_renew(request: web.Request, access: DocAccess, token: str) -> DocAccess:
    """A document connection renewed with a fresh token of the same person, its grants decided again."""
    if not isinstance(access, PersonDocAccess):
        raise Unauthorized("renewal_not_possible", "this connection has no person to renew")
    auth = request.app[keys.AUTH]
    principal = await auth.renew(token, access.person_id, peer=request.remote or "-")
    doc_id = request.match_info["doc_id"]
    renewed = await request.app[keys.DOCS].connection_access(principal, doc_id, auth.valid_until(principal))
    log.info("doc %s: %s renewed until %d", doc_id, access.person_id, principal.expires_at)
    return renewed


async def docs_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the meetings service, before supervision): rooms, services, the meetings link."""
    settings = app[keys.SETTINGS].docs
    limits = DocLimits(
        max_update_bytes=settings.max_update_bytes,
        max_document_bytes=settings.max_document_bytes,
        max_awareness_bytes=min(settings.max_update_bytes, 64 << 10),
        compact_every_updates=settings.compact_every_updates,
        compact_idle_seconds=settings.compact_idle_seconds,
        send_queue_messages=settings.send_queue,
    )
    bus = app[keys.BUS] if app[keys.SETTINGS].redis.url else None
    rooms = DocRooms(SqlDocUpdateStore(app[keys.DB].engine), limits, bus)
    await rooms.start()
    service = DocumentService(app[keys.DB], rooms.store, rooms, app[keys.DIRECTORY], app[keys.CLOCK])
    app[keys.DOC_ROOMS] = rooms
    app[keys.DOCS] = service
    app[keys.DOC_SIGNOFFS] = DocSignoffs(service, app[keys.SETTINGS].server.certificate_actions)
    app[keys.DOC_VERSIONS] = DocumentVersions(service, settings.max_versions, app[keys.SETTINGS].tz,
                                              app[keys.DOC_SIGNOFFS])
    directory = app[keys.DIRECTORY]
    if keys.MEETINGS in app:
        meetings = app[keys.MEETINGS]
        service.use_meetings(MeetingAttendance(meetings, directory))
        meetings.use_minutes(MeetingMinutes(service, directory, app[keys.SETTINGS].tz), service.minutes_final)
    if keys.MINUTES_WRITER not in app:  # tests may give supervision their own
        app[keys.MINUTES_WRITER] = DecisionMinutes(service)

    async def access_changed(change: AccessChange) -> None:
        for jti in change.revoked:
            if service.revoke_token(jti):
                log.info("docs: closed the connections of a revoked token")
        if change.people:
            await service.recheck_people(change.people)

    unlisten = app[keys.ACCESS_CHANGES].listen(access_changed)
    try:
        yield
    finally:
        unlisten()
        await rooms.stop()


async def _stop_rooms(app: web.Application) -> None:
    # On shutdown, before cleanup: open document sockets are closed (1001) after a final compaction.
    if keys.DOC_ROOMS in app:
        await app[keys.DOC_ROOMS].stop()


def setup_docs(app: web.Application) -> None:
    """Add /docs/{doc_id}/ws and the rooms' shutdown; create_app lists docs_ctx, the REST routes are in routes.py."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return await handle_doc_ws(request, request.app[keys.DOC_ROOMS], ws_access, renew=ws_renew,
                                   clock=request.app[keys.CLOCK])

    app.on_shutdown.append(_stop_rooms)
    app.router.add_get("/docs/{doc_id}/ws", handler)

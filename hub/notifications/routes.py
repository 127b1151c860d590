"""HTTP endpoints of notifications: a person's own, newest first; mark one or all read."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from hub import keys
from hub.api import ApiRoutes, json_response, read_query
from hub.auth.http import principal_of
from hub.bounds import Offset
from hub.errors import BadRequest
from hub.notifications.model import Subject
from hub.notifications.responses import AllMarkedRead, MarkedRead, NotificationPage

# A notification's id in a path, as notification_id() reads it.
NOTIFICATION_ID: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 999_999_999_999}
routes = ApiRoutes("notifications")


class ListQuery(BaseModel):
    unread: bool = False
    subject: Subject | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: Offset = 0


@routes.get("/api/v1/notifications", query=ListQuery, response=NotificationPage,
            summary="My notifications, newest first (meetings, supervision items), with my unread count")
async def list_notifications(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    query = read_query(request, ListQuery)
    service = request.app[keys.NOTIFICATIONS]
    found = await service.listing(principal.id, unread_only=query.unread, subject=query.subject, limit=query.limit,
                                  offset=query.offset)
    return json_response({"items": [n.to_dict() for n in found], "unread": await service.unread_count(principal.id),
                          "limit": query.limit, "offset": query.offset})


@routes.post("/api/v1/notifications/{notification_id}/read", summary="Mark one of my notifications read",
             path_schemas={"notification_id": NOTIFICATION_ID}, response=MarkedRead)
async def read_one(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    unread = await request.app[keys.NOTIFICATIONS].mark_read(principal.id, notification_id(request))
    return json_response({"read": True, "unread": unread})


@routes.post("/api/v1/notifications/read", summary="Mark all my notifications read", response=AllMarkedRead)
async def read_all(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    marked = await request.app[keys.NOTIFICATIONS].mark_all_read(principal.id)
    return json_response({"marked": marked, "unread": 0})


def notification_id(request: web.Request) -> int:
    """The notification id of the path (a number), or a clear refusal."""
    raw = request.match_info["notification_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise BadRequest("invalid_parameter", "notification id must be a number", field="notification_id")
    return int(raw)

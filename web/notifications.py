"""The notifications page (/notifications), its navigation badge, and the strings of the live notices that every
page shows (lib/notices.js)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from hub import keys
from hub.auth.principal import Principal
from hub.directory.model import Role
from hub.notifications.model import KINDS, Notification, Subject
from hub.notifications.routes import notification_id
from web.pages import NAV, TEMPLATES, TRANSLATOR, NavBadge, NavItem, page_principal, render

PAGE = 50
# The sentence each kind of news starts with (a key of the message catalogues).
LABEL_KEYS = {f"{subject.value}.{kind}": (f"notice.meeting.{kind}" if subject == Subject.MEETING else f"kind.{kind}")
              for subject, kinds in KINDS.items() for kind in kinds}
SCRIPT_STRINGS = ("Close",)  # the notice's close button (lib/notices.js)


def label_key(notification: Notification) -> str:
    return LABEL_KEYS.get(f"{notification.subject.value}.{notification.kind}", notification.kind)


def _shown(notification: Notification) -> dict[str, Any]:
    """A notification as the page lists it: the label, the meeting's time when it has one."""
    starts = notification.data.get("starts_at")
    return {
        **notification.to_dict(),
        "label": label_key(notification),
        "created": notification.created_at,
        "starts_at": datetime.fromisoformat(starts) if isinstance(starts, str) else None,
        "calendar": notification.data.get("calendar") if notification.kind in ("invited", "changed") else None,
    }


async def notifications_page(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    try:
        offset = max(0, min(int(request.query.get("offset", "0")), 100_000))
    except ValueError:
        offset = 0
    service = request.app[keys.NOTIFICATIONS]
    found = await service.listing(principal.id, limit=PAGE + 1, offset=offset)
    return await render(request, "notifications.html", {
        "notifications": [_shown(n) for n in found[:PAGE]],
        "unread": await service.unread_count(principal.id),
        "offset": offset,
        "older": offset + PAGE if len(found) > PAGE else None,
        "newer": max(0, offset - PAGE) if offset else None,
    })


async def open_notification(request: web.Request) -> web.StreamResponse:
    """Following a notification marks it read and goes to what it is about."""
    principal = await page_principal(request)
    found = await request.app[keys.NOTIFICATIONS].open(principal.id, notification_id(request))
    raise web.HTTPSeeOther(found.url)


async def mark_read(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    await request.app[keys.NOTIFICATIONS].mark_read(principal.id, notification_id(request))
    raise web.HTTPSeeOther("/notifications")


async def mark_all_read(request: web.Request) -> web.StreamResponse:
    principal = await page_principal(request)
    await request.app[keys.NOTIFICATIONS].mark_all_read(principal.id)
    raise web.HTTPSeeOther("/notifications")


async def unread(app: web.Application, principal: Principal) -> int:
    return await app[keys.NOTIFICATIONS].unread_count(principal.id)


UNREAD_BADGE = NavBadge("notifications", unread, "Notifications, %(num)d unread", "Notifications, %(num)d unread")


def setup_notification_pages(app: web.Application) -> None:
    """The notifications page, its navigation entry with the unread badge, and the notices' strings."""
    app[NAV].append(NavItem("/notifications", "Notifications", visible=lambda p: not p.has(Role.TERMINAL),
                            badge=UNREAD_BADGE))
    translator = app[TRANSLATOR]
    app[TEMPLATES].globals["notice_strings"] = lambda: {
        "labels": {name: translator.gettext(key) for name, key in LABEL_KEYS.items()},
        **translator.strings(*SCRIPT_STRINGS),
    }
    app.router.add_get("/notifications", notifications_page)
    app.router.add_get("/notifications/{notification_id}", open_notification)
    app.router.add_post("/notifications/{notification_id}/read", mark_read)
    app.router.add_post("/notifications/read", mark_all_read)

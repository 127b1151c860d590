"""Notifications over /ws: a page asks once (`notifications.watch`) and then hears each new notification of its
person and every change of the unread count (read on another page), from whichever node wrote it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub import keys
from hub.bus.base import Message
from hub.notifications.service import channel
from signaling.protocol import Commands, Request, Result
from signaling.session import Session

commands = Commands("notifications")


class WatchRequest(Request):
    pass


class NotificationEvent(BaseModel):
    notification: dict[str, Any]


class UnreadEvent(BaseModel):
    count: int


commands.event("notification", NotificationEvent,
               "Something new for me: a meeting invitation, change, cancellation or reminder, the floor given to "
               "me, news of a supervision item (`notification`: id, subject, subject_id, kind, title, data, url)")
commands.event("notifications.unread", UnreadEvent, "My unread count changed (marked read, on any page)")


@commands.command("notifications.watch", WatchRequest,
                  "Hear my notifications on this socket (`notification`, `notifications.unread`); my unread count")
async def watch(session: Session, request: WatchRequest) -> Result:
    async def forward(message: Message) -> None:
        event = message.get("event")
        if event in ("notification", "notifications.unread"):
            session.send_event(str(event), {k: v for k, v in message.items() if k != "event"})

    await session.follow(channel(session.person_id), forward)
    return {"unread": await session.app[keys.NOTIFICATIONS].unread_count(session.person_id)}

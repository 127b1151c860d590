"""The JSON bodies the notification endpoints answer with, as the OpenAPI document gives them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from hub.api import ApiModel
from hub.notifications.model import Subject


class Notification(ApiModel):
    """One notification of a person (also the live `notification` event's body)."""

    id: int
    subject: Subject = Field(description="what it is about")
    subject_id: str = Field(description="the meeting's, item's ... id")
    kind: str = Field(description="what happened, e.g. `invited`, `assigned`, `overdue`")
    title: str = Field(description="the subject's title, for the list")
    data: dict[str, Any] = Field(description="the details the kind carries")
    url: str = Field(description="the page to open")
    created_at: datetime
    read: bool


class NotificationPage(ApiModel):
    items: list[Notification]
    unread: int = Field(description="how many of my notifications are unread (all of them, not just this page)")
    limit: int
    offset: int


class MarkedRead(ApiModel):
    read: bool
    unread: int = Field(description="how many are still unread")


class AllMarkedRead(ApiModel):
    marked: int = Field(description="how many were marked read now")
    unread: int

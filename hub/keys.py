"""Every typed key that state hangs off the aiohttp application by: the one registry of app state."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from hub.api import ApiRoutes, Endpoint
    from hub.auth.changes import AccessChanges
    from hub.auth.service import AuthService
    from hub.bus.base import Bus
    from hub.bus.nodes import NodeRegistry
    from hub.calls.service import CallService
    from hub.clock import Clock
    from hub.directory.service import DirectoryService
    from hub.docs.service import DocumentService
    from hub.docs.signoffs import DocSignoffs
    from hub.docs.sync_rooms import DocRooms
    from hub.docs.versions import DocumentVersions
    from hub.meetings.conference import Conference
    from hub.meetings.service import MeetingService
    from hub.metrics import Metrics
    from hub.notifications.service import NotificationService
    from hub.recordings.service import RecordingService
    from hub.settings import Settings
    from hub.storage.db import Database
    from hub.supervision.decisions import DecisionService, MeetingGate, MinutesWriter
    from hub.supervision.reports import Reports
    from hub.supervision.scheduler import ReminderScheduler
    from hub.supervision.service import SupervisionService
    from hub.supervision.webhooks import WebhookSender
    from signaling.meeting_rooms import MeetingRooms
    from signaling.server import SignalingHub

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
DB: web.AppKey[Database] = web.AppKey("db")
BUS: web.AppKey[Bus] = web.AppKey("bus")
NODES: web.AppKey[NodeRegistry] = web.AppKey("nodes")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
DIRECTORY: web.AppKey[DirectoryService] = web.AppKey("directory")
AUTH: web.AppKey[AuthService] = web.AppKey("auth")
# Revocations and directory changes made by any process, for this node's open connections.
ACCESS_CHANGES: web.AppKey[AccessChanges] = web.AppKey("access_changes")
SIGNALING: web.AppKey[SignalingHub] = web.AppKey("signaling")
DOCS: web.AppKey[DocumentService] = web.AppKey("docs")
DOC_VERSIONS: web.AppKey[DocumentVersions] = web.AppKey("doc_versions")
DOC_SIGNOFFS: web.AppKey[DocSignoffs] = web.AppKey("doc_signoffs")
# The open shared documents of this node (y-websocket rooms).
DOC_ROOMS: web.AppKey[DocRooms] = web.AppKey("doc_rooms")
MEETINGS: web.AppKey[MeetingService] = web.AppKey("meetings")
# Live meetings as conferences: roll call and the main venue, floor requests, attendance.
CONFERENCE: web.AppKey[Conference] = web.AppKey("conference")
# This node's meeting rooms: participants, lobby, the SFU behind them.
MEETING_ROOMS: web.AppKey[MeetingRooms] = web.AppKey("meeting_rooms")
CALLS: web.AppKey[CallService] = web.AppKey("calls")
# Every person's notifications (meetings, supervision items), pushed live over /ws.
NOTIFICATIONS: web.AppKey[NotificationService] = web.AppKey("notifications")
# Every domain's REST endpoints, for the router and the OpenAPI document.
API_ROUTES: web.AppKey[list[ApiRoutes]] = web.AppKey("api_routes")
# The endpoint each of those routes serves (the router's route -> its declaration), for the contract check.
ENDPOINTS: web.AppKey[dict[Any, Endpoint]] = web.AppKey("endpoints")
# Open WebSockets, closed with 1001 (going away) on shutdown so a restart is clean.
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")
# Supervision: items, decisions, read models, the reminder scheduler and the webhook sender.
SUPERVISION: web.AppKey[SupervisionService] = web.AppKey("supervision")
DECISIONS: web.AppKey[DecisionService] = web.AppKey("decisions")
SUPERVISION_REPORTS: web.AppKey[Reports] = web.AppKey("supervision_reports")
REMINDERS: web.AppKey[ReminderScheduler] = web.AppKey("reminders")
WEBHOOKS: web.AppKey[WebhookSender] = web.AppKey("webhooks")
# Set by the meetings and documents domains (before startup) so decisions can be recorded and written to minutes.
MEETING_GATE: web.AppKey[MeetingGate] = web.AppKey("meeting_gate")
MINUTES_WRITER: web.AppKey[MinutesWriter] = web.AppKey("minutes_writer")
RECORDINGS: web.AppKey[RecordingService] = web.AppKey("recordings")

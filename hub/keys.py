"""Every typed key that state hangs off the aiohttp application by: the one registry of app state."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from hub.api import ApiRoutes
    from hub.auth.service import AuthService
    from hub.bus.base import Bus
    from hub.bus.nodes import NodeRegistry
    from hub.calls.service import CallService
    from hub.clock import Clock
    from hub.directory.service import DirectoryService
    from hub.meetings.service import MeetingService
    from hub.metrics import Metrics
    from hub.settings import Settings
    from hub.storage.db import Database
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
SIGNALING: web.AppKey[SignalingHub] = web.AppKey("signaling")
MEETINGS: web.AppKey[MeetingService] = web.AppKey("meetings")
# This node's meeting rooms: participants, lobby, the SFU behind them.
MEETING_ROOMS: web.AppKey[MeetingRooms] = web.AppKey("meeting_rooms")
CALLS: web.AppKey[CallService] = web.AppKey("calls")
# Every domain's REST endpoints, for the router and the OpenAPI document.
API_ROUTES: web.AppKey[list[ApiRoutes]] = web.AppKey("api_routes")
# Open WebSockets, closed with 1001 (going away) on shutdown so a restart is clean.
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")

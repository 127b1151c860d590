"""create_app(settings): the one place that wires CityHub together. Tests, the CLI and benchmarks all use it."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import weakref
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, web
from aiortc import RTCIceServer

from hub import keys, live_metrics
from hub.api import ApiModel, ApiRoutes, json_response, openapi_document
from hub.auth.certificates import ClientCertificates
from hub.auth.changes import access_changes_ctx
from hub.auth.routes import routes as auth_routes
from hub.auth.service import AuthService
from hub.auth.tokens import TokenCodec
from hub.bus import create_bus
from hub.bus.nodes import NodeRegistry
from hub.calls.routes import calls_lifecycle
from hub.calls.routes import routes as calls_routes
from hub.clock import Clock
from hub.directory.importer import load_file
from hub.directory.routes import routes as directory_routes
from hub.directory.service import DirectoryService
from hub.docs.routes import routes as docs_routes
from hub.docs.wiring import docs_ctx, setup_docs
from hub.meetings.conference import Conference
from hub.meetings.routes import routes as meeting_routes
from hub.meetings.service import MeetingService
from hub.metrics import CONTENT_TYPE, Metrics
from hub.middleware import contract_middleware, core_middleware, on_response_prepare, security_headers
from hub.notifications.routes import routes as notification_routes
from hub.notifications.service import NotificationService
from hub.origin import origin_middleware
from hub.recordings.archive import ArchiveJobs
from hub.recordings.routes import routes as recording_routes
from hub.recordings.service import RecordingService
from hub.settings import Settings
from hub.storage.db import Database
from hub.supervision.routes import routes as supervision_routes
from hub.supervision.runtime import supervision_ctx
from hub.ticker import Ticker
from signaling.calls import calls as calls_commands
from signaling.cluster_media import ClusterMediaRouter
from signaling.media_router import LocalMediaRouter
from signaling.meeting_rooms import MeetingRooms
from signaling.meetings import commands as meeting_commands
from signaling.notifications import commands as notification_commands
from signaling.server import setup_signaling
from signaling.sfu import Sfu, SfuConfig
from web.docs_pages import setup_docs_pages
from web.meetings import setup_meeting_pages
from web.notifications import setup_notification_pages
from web.pages import locale_middleware, setup_web
from web.phone import setup_phone
from web.recordings import setup_recording_pages
from web.search import routes as search_routes
from web.search import setup_search_page
from web.supervision import setup_supervision_pages

log = logging.getLogger(__name__)

VERSION = "0.1.0"
DEMO_DIRECTORY = Path(__file__).parent / "directory" / "demo.yaml"


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = Database(app[keys.SETTINGS].database_url, echo=app[keys.SETTINGS].database.echo)
    await db.upgrade()
    app[keys.DB] = db
    yield
    await db.close()


async def _bus(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    node_id = settings.server.node_id or f"{socket.gethostname()}-{os.getpid()}"
    bus = create_bus(settings.redis.url, settings.redis.prefix, node_id)
    await bus.start()
    app[keys.BUS] = bus
    yield
    await bus.stop()


async def _node_registry(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    server = settings.server
    registry = NodeRegistry(
        app[keys.BUS],
        signaling_url=server.internal_url or f"http://{server.host}:{server.port}",
        media_address=server.media_address or server.host,
        load=lambda: _load(app),
        interval=server.heartbeat,
    )
    app[keys.NODES] = registry
    await registry.start()
    yield
    await registry.stop()


def _load(app: web.Application) -> dict[str, float]:
    signaling = app.get(keys.SIGNALING)
    load = {"sessions": float(len(signaling.sessions)) if signaling is not None else 0.0}
    rooms = app.get(keys.MEETING_ROOMS)
    media = rooms.media if rooms is not None else None
    if isinstance(media, ClusterMediaRouter):
        load["media_peers"] = float(sum(len(room.peers) for room in media.local.sfu.rooms.values()))
    return load


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings, db, bus, clock = app[keys.SETTINGS], app[keys.DB], app[keys.BUS], app[keys.CLOCK]
    directory = DirectoryService(db, bus, clock)
    app[keys.DIRECTORY] = directory
    metrics = app[keys.METRICS]
    app[keys.AUTH] = AuthService(
        TokenCodec(settings, clock), directory, db, bus, clock,
        on_refusal=lambda code: metrics.auth_refusals.labels(code).inc(),
        certificates=ClientCertificates(settings.server.client_ca_file, settings.server.client_crl_file),
    )
    app[keys.NOTIFICATIONS] = NotificationService(db, bus, clock)
    app[keys.MEETINGS] = MeetingService(db, bus, directory, clock, app[keys.NOTIFICATIONS])
    app[keys.CONFERENCE] = Conference.of(app[keys.MEETINGS])
    if settings.server.demo and await directory.is_empty():
        report = await directory.import_data(load_file(DEMO_DIRECTORY))
        log.info("demo mode: loaded the demo directory (%d org units, %d people)", report.org_units, report.people)
    yield


async def _recordings(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    options = settings.recordings
    jobs = ArchiveJobs(options.archive_workers, width=options.archive_width, height=options.archive_height,
                       fps=options.archive_fps)
    recordings = RecordingService(app[keys.DB], app[keys.MEETINGS], app[keys.CONFERENCE].attendance, app[keys.CLOCK],
                                  options, settings.recordings_dir, jobs)
    recordings.use_decisions(lambda meeting_id: app[keys.DECISIONS].any_of_meeting(meeting_id))
    app[keys.RECORDINGS] = recordings
    sweeper = Ticker("recordings-sweeper", options.sweep_interval, recordings.sweep)
    sweeper.start()
    yield
    await sweeper.stop()
    await recordings.stop_jobs()


async def _meeting_rooms(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    options = settings.meetings
    config = SfuConfig(
        ice_servers=ice_config(settings.ice.servers),
        negotiation_timeout=options.negotiation_timeout,
        inactivity_timeout=options.inactivity_timeout,
        speaker_interval=options.speaker_interval,
        last_n=options.last_n,
        audio_n=options.audio_n,
        full_rate_tiles=options.full_rate_tiles,
    )
    sfu = Sfu(config)
    local = LocalMediaRouter(sfu)
    cluster: ClusterMediaRouter | None = None
    if settings.redis.url:
        # several nodes may share this Redis: each meeting's media on one owner node, relayed from the others
        cluster = ClusterMediaRouter(
            app[keys.BUS], app[keys.NODES], local, claim_ttl=settings.server.heartbeat * 3,
            rpc_timeout=options.relay_timeout,
        )
    rooms = MeetingRooms(settings, app[keys.MEETINGS], app[keys.CONFERENCE], app[keys.BUS], sfu, cluster or local,
                         app[keys.RECORDINGS])
    sfu.listen(rooms.on_sfu_event)  # routed by room id to the meeting's room
    if cluster is not None:
        cluster.listen(rooms)
    app[keys.MEETING_ROOMS] = rooms
    await sfu.start()
    if cluster is not None:
        await cluster.start()
    await rooms.start()
    meetings = app[keys.MEETINGS]
    idle = timedelta(seconds=options.empty_end_after)
    sweeper = Ticker("meetings-sweeper", options.sweep_interval, lambda: meetings.end_unattended(idle))
    sweeper.start()
    remind = timedelta(seconds=options.remind_before)
    reminders = Ticker("meetings-reminders", options.sweep_interval, lambda: meetings.remind_starting(remind))
    if options.remind_before > 0:
        reminders.start()
    yield
    await reminders.stop()
    await sweeper.stop()
    await rooms.stop()
    if cluster is not None:
        await cluster.stop()
    await sfu.stop()


def app_runner(app: web.Application, **options: Any) -> web.AppRunner:
    """The runner that serves the app: connections slow to send a request head, or idle, are closed after
    `server.idle_timeout` (aiohttp's keep-alive timer, which also runs until the first request is complete)."""
    return web.AppRunner(app, keepalive_timeout=app[keys.SETTINGS].server.idle_timeout, **options)


def server_tls(settings: Settings) -> ssl.SSLContext | None:
    """HTTPS served by the hub itself (server.tls_*), asking browsers for a certificate of the city's CA when
    certificate sign-in is set up (server.client_ca_file); None: plain HTTP behind nginx."""
    server = settings.server
    if not server.tls_cert_file:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server.tls_cert_file, server.tls_key_file)
    if server.client_ca_file:
        # optional: everyone reaches the hub; /signin/certificate asks for one. (A certificate the CA did not
        # issue, or an expired one, fails the handshake here; revocation and the binding are the hub's checks.)
        context.load_verify_locations(server.client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def ice_config(servers: tuple[str, ...]) -> tuple[RTCIceServer, ...]:
    """The SFU's own STUN servers (TURN is for clients; the hub has a routable address)."""
    stun = [url for url in servers if url.startswith("stun:")]
    return (RTCIceServer(urls=stun),) if stun else ()


async def _close_sockets(app: web.Application) -> None:
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[keys.SOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "alive", "version": VERSION})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    database = await app[keys.DB].ping()
    bus = app[keys.BUS].ready
    draining = app[keys.NODES].info.draining
    ready = database and bus and not draining
    return json_response(
        {"ready": ready, "database": "up" if database else "down", "bus": "up" if bus else "down",
         "draining": draining, "node": app[keys.BUS].node_id},
        status=200 if ready else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[keys.METRICS].render(), headers={"Content-Type": CONTENT_TYPE})


# The service's own API endpoints (the OpenAPI document describes itself too).
meta_routes = ApiRoutes("meta")


class OpenApiDocument(ApiModel):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0), as `openapi_document` builds it."""

    openapi: str
    info: dict[str, Any]
    servers: list[dict[str, Any]]
    paths: dict[str, dict[str, Any]]
    components: dict[str, Any]


@meta_routes.get("/api/v1/openapi.json", summary="This OpenAPI document", auth=False, response=OpenApiDocument)
async def openapi(request: web.Request) -> web.Response:
    endpoints = [ep for routes in request.app[keys.API_ROUTES] for ep in routes.endpoints]
    return json_response(
        openapi_document(endpoints, version=VERSION, server_url=request.app[keys.SETTINGS].public_url)
    )


async def drain(app: web.Application, seconds: float) -> None:
    """SIGTERM: stop taking new work, tell clients to reconnect elsewhere, wait for them to go (or the deadline)."""
    log.info("draining: up to %.0f s for clients to leave", seconds)
    await app[keys.NODES].set_draining()
    # Document sockets are told to go (1001 after a final compaction); y-websocket reconnects through the
    # front door to a node that is not draining.
    await app[keys.DOC_ROOMS].stop()
    await app[keys.SIGNALING].drain(seconds)


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """The whole service, ready to run; resources open on startup and close on cleanup."""
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[security_headers, locale_middleware, core_middleware, origin_middleware]
        + ([contract_middleware] if settings.server.check_responses else []),
    )
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or Clock()
    app[keys.METRICS] = Metrics()
    app[keys.SOCKETS] = weakref.WeakSet()
    app[keys.API_ROUTES] = [
        meta_routes, auth_routes, directory_routes, meeting_routes, docs_routes, supervision_routes, calls_routes,
        notification_routes, search_routes, recording_routes,
    ]
    app.cleanup_ctx.extend(
        [_database, _bus, _node_registry, _services, access_changes_ctx, _recordings, _meeting_rooms, docs_ctx,
         supervision_ctx, calls_lifecycle]
    )
    # after the bus and the database: its tickers start once they are up, and stop before they close (a PING
    # after the bus closed its client opened a connection nobody closed)
    live_metrics.install(app)
    app.on_shutdown.append(_close_sockets)
    app.on_response_prepare.append(on_response_prepare)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app[keys.ENDPOINTS] = {}
    for routes in app[keys.API_ROUTES]:
        routes.register(app, app[keys.ENDPOINTS])
    setup_signaling(app, registries=[meeting_commands, calls_commands, notification_commands])
    setup_docs(app)
    setup_web(app)
    setup_meeting_pages(app)
    setup_docs_pages(app)
    setup_supervision_pages(app)
    setup_recording_pages(app)
    setup_phone(app)
    setup_notification_pages(app)
    setup_search_page(app)
    return app

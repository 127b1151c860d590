"""Supervision's resources on the app: services, the webhook sender, the reminder scheduler and the audit anchor."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hub import keys
from hub.supervision.anchor import AuditAnchor
from hub.supervision.checkpoints import CheckpointKeys, checkpoint_file
from hub.supervision.decisions import DecisionService
from hub.supervision.meetings_gate import MeetingsGate
from hub.supervision.reports import Reports
from hub.supervision.scheduler import ReminderScheduler
from hub.supervision.service import SupervisionService
from hub.supervision.webhooks import WebhookSender


async def supervision_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: build supervision on the app's database, bus, clock and directory; stop its tasks on cleanup."""
    settings = app[keys.SETTINGS].supervision
    db, bus, clock, directory = app[keys.DB], app[keys.BUS], app[keys.CLOCK], app[keys.DIRECTORY]
    webhooks = WebhookSender(db, clock, settings)
    service = SupervisionService(db, bus, clock, directory, settings, webhooks, app[keys.SETTINGS].tz,
                                 app[keys.NOTIFICATIONS], app[keys.SETTINGS].server.certificate_actions)
    anchor = AuditAnchor(
        service, CheckpointKeys.for_signing(app[keys.SETTINGS]), settings, checkpoint_file(app[keys.SETTINGS])
    )
    service.anchor = anchor
    app[keys.WEBHOOKS] = webhooks
    app[keys.SUPERVISION] = service
    app[keys.SUPERVISION_REPORTS] = Reports(service)
    # A gate set on the app before start wins (tests); otherwise the meetings domain's own.
    gate = app.get(keys.MEETING_GATE)
    if gate is None and keys.MEETINGS in app:
        gate = MeetingsGate(app[keys.MEETINGS], directory)
    if gate is not None:
        service.meeting_chair = gate.chair_of
    app[keys.DECISIONS] = DecisionService(service, directory, bus, gate, app.get(keys.MINUTES_WRITER))
    scheduler = ReminderScheduler(service, settings)
    app[keys.REMINDERS] = scheduler
    await webhooks.start()
    await scheduler.start()
    await anchor.start()
    try:
        yield
    finally:
        await anchor.stop()
        await scheduler.stop()
        await webhooks.stop()

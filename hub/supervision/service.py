"""The rules of supervision items: who may do what in which state, follow-ups, and what each change tells whom.

Every change, its follow-up entry, its audit event, its notifications and its webhook deliveries are written in
one transaction; bus events go out after the commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth import policy
from hub.auth.principal import Principal
from hub.bus.base import Bus
from hub.clock import Clock
from hub.directory.model import Role
from hub.directory.service import DirectoryService
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.notifications.model import Notification, Subject
from hub.notifications.service import NotificationService
from hub.settings import SupervisionSettings
from hub.signatures import Point, checked, render
from hub.storage.db import Database
from hub.supervision import audit, store
from hub.supervision.model import (
    ALLOWED_FROM,
    NEEDS_TEXT,
    OPEN_STATUSES,
    Action,
    Decision,
    FollowUp,
    Item,
    next_status,
)
from hub.supervision.uploads import Upload, check_uploads
from hub.supervision.webhooks import WebhookSender

if TYPE_CHECKING:
    from hub.supervision.anchor import AuditAnchor

log = logging.getLogger(__name__)

# Bus channel of every item event (dashboards, other nodes); a person's notifications: hub.notifications.
ITEMS_CHANNEL = "supervision.items"
MAX_TEXT = 5000

# Who is notified of each change (besides the bus and webhooks): "unit" = the responsible person and the lead
# unit's members, "supervisors", "chair" = the chair of the item's meeting.
NOTIFY: dict[str, tuple[str, ...]] = {
    "created": ("unit", "chair"),
    "submit": ("supervisors",),
    "request_extension": ("supervisors",),
    "return": ("unit", "chair"),
    "close": ("unit", "chair"),
    "grant_extension": ("unit", "chair"),
    "deny_extension": ("unit",),
    "cancel": ("unit", "chair"),
    "reminder": ("unit",),
    "escalation": ("unit", "supervisors", "chair"),
}
# Kinds that ask the unit to act: once the item is closed or cancelled, nobody's unread ones stand.
ASKING = ("reminder", "escalation")


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@dataclass
class Change:
    """What a committed change still has to announce."""

    event: str
    item: Item
    actor: str | None
    data: dict[str, Any] = field(default_factory=dict)
    # The notifications written with it, announced after the commit.
    sent: list[Notification] = field(default_factory=list)
    # The seq of its audit event, once recorded.
    audit_seq: int = 0


class SupervisionService:
    """Supervision items: their state machine, follow-ups, notifications and the audit chain."""

    def __init__(
        self, db: Database, bus: Bus, clock: Clock, directory: DirectoryService, settings: SupervisionSettings,
        webhooks: WebhookSender, tz: tzinfo, notifications: NotificationService,
        certificate_actions: tuple[str, ...] = (),
    ) -> None:
        self.db = db
        self.certificate_actions = certificate_actions  # server.certificate_actions: "close" needs a certificate
        self.bus = bus
        self.clock = clock
        self.directory = directory
        self.settings = settings
        self.webhooks = webhooks
        self.tz = tz  # the city's (server.timezone): due days end there
        self.notifications = notifications
        # The chair of a meeting, by meeting id (the meetings domain's, set by runtime.py): hears of its items.
        self.meeting_chair: Callable[[str], Awaitable[str | None]] | None = None
        # One writer at a time in this process keeps the audit chain linear (PostgreSQL adds an advisory lock).
        self._write_lock = asyncio.Lock()
        # The chain's signed checkpoints; set by runtime.py (the anchor writes through this service's transactions).
        self.anchor: AuditAnchor | None = None

    # --- time -----------------------------------------------------------------------------------------------------
    def today(self) -> date:
        """The city's calendar day now."""
        return self.clock.now().astimezone(self.tz).date()

    def deadline(self, due: date) -> datetime:
        """The moment an item due on `due` becomes overdue: the end of that day in the city."""
        return datetime.combine(due + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(UTC)

    # --- writing --------------------------------------------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction holding the audit lock: the change and its audit event commit together or not."""
        async with self._write_lock, self.db.begin() as conn:
            await audit.lock(conn)
            yield conn

    async def record(self, conn: AsyncConnection, change: Change, *, audit_data: dict[str, Any]) -> None:
        """The audit event, notifications and webhook deliveries of a change, in its transaction."""
        now = self.clock.now()
        change.audit_seq = await audit.append(
            conn, at=now, actor=change.actor, item_id=change.item.id, action=f"item.{change.event}", data=audit_data
        )
        recipients = await self._recipients(change)
        if recipients:
            change.sent = await self.notifications.write(conn, recipients, Subject.ITEM, change.item.id, change.event,
                                                         {"title": change.item.title, **change.data})
        if change.item.status not in OPEN_STATUSES:
            # closed or cancelled: its reminders and escalations ask nobody for anything any more
            await self.notifications.retire(conn, Subject.ITEM, change.item.id, ASKING)
        await self.webhooks.enqueue(conn, f"item.{change.event}", change.item, change.actor, change.data)

    async def announce(self, change: Change) -> None:
        """After the commit: the bus event, per-person notification events, the webhook sender's wake-up, and a
        checkpoint of the audit chain when one is due."""
        message = {"type": "event", "event": f"item.{change.event}", "item": change.item.to_dict(),
                   "actor": change.actor, "data": change.data}
        await self.bus.publish(ITEMS_CHANNEL, message)
        await self.notifications.announce(change.sent)
        self.webhooks.wake()
        if self.anchor is not None:
            try:
                await self.anchor.appended(change.audit_seq)
            except Exception:  # noqa: BLE001 - the change is committed; the timer signs the checkpoint later
                log.exception("audit checkpoint after event %d failed", change.audit_seq)

    async def _recipients(self, change: Change) -> list[str]:
        who = NOTIFY.get(change.event, ())
        people: set[str] = set()
        if "unit" in who:
            people.add(change.item.responsible_id)
            people.update(p.id for p in await self.directory.members([change.item.lead_unit_id]))
        if "supervisors" in who:
            people.update(await self.supervisors())
        if "chair" in who and self.meeting_chair is not None:
            chair = await self.meeting_chair(change.item.meeting_id)
            if chair:
                people.add(chair)
        people.discard(change.actor or "")
        return sorted(people)

    async def supervisors(self) -> list[str]:
        """Every active supervisor in the directory."""
        units = await self.directory.units()
        members = await self.directory.members([u.id for u in units])
        return [p.id for p in members if Role.SUPERVISOR in p.roles and Role.TERMINAL not in p.roles]

    # --- item actions ---------------------------------------------------------------------------------------------
    async def _load(self, conn: AsyncConnection, item_id: str) -> Item:
        item = await store.get_item(conn, item_id, self.today())
        if item is None:
            raise NotFound("item_not_found", f"no supervision item {item_id!r}")
        return item

    async def _require_view(self, conn: AsyncConnection, principal: Principal, item: Item) -> Decision:
        decision = await store.get_decision(conn, item.decision_id, item.id)
        assert decision is not None
        allowed = policy.can_view_item(
            principal, lead_unit=item.lead_unit_id, coop_units=item.coop_unit_ids, responsible=item.responsible_id,
            recorded_by=decision.recorded_by,
        )
        if not allowed:
            raise Forbidden("item_forbidden", "this item belongs to other departments")
        return decision

    def allowed_actions(self, principal: Principal, item: Item) -> list[str]:
        """The actions this principal may take on the item now (for pages and the API)."""
        return [
            action.value
            for action in Action
            if action is not Action.COMMENT
            and item.status in ALLOWED_FROM[action]
            and policy.can_act_on_item(principal, action.value, lead_unit=item.lead_unit_id)
        ]

    async def act(
        self, principal: Principal, item_id: str, action: Action, *, text: str = "", percent: int | None = None,
        due_date: date | None = None, uploads: list[Upload] | None = None, strokes: list[list[Point]] | None = None,
    ) -> Item:
        """Take an action on an item: 403 for the wrong person, 409 in the wrong state, 400 for bad input. Closing
        may be signed by hand (`strokes`): the signature is kept with the hash of the item as closed."""
        text = text.strip()
        if strokes is not None and action is not Action.CLOSE:
            raise BadRequest("signature_not_expected", "only closing an item is signed by hand", field="strokes")
        drawn = checked(strokes) if strokes is not None else None
        if action is Action.CLOSE:
            policy.require_certificate_for(principal, "close", self.certificate_actions)
        # (drawn off the event loop, which forwards media, and before the audit chain's lock is taken)
        image = await asyncio.to_thread(render, drawn) if drawn else b""
        async with self.transaction() as conn:
            item = await self._load(conn, item_id)
            await self._require_view(conn, principal, item)
            if action is not Action.COMMENT and not policy.can_act_on_item(
                principal, action.value, lead_unit=item.lead_unit_id
            ):
                who = "the lead unit's members" if action.value in policy.SUPERVISION_LEAD_ACTIONS else "supervisors"
                raise Forbidden(
                    "lead_unit_only" if who.startswith("the lead") else "supervisor_only",
                    f"only {who} may {action.value.replace('_', ' ')} this item",
                )
            if item.status not in ALLOWED_FROM[action]:
                raise Conflict(
                    "illegal_transition",
                    f"cannot {action.value.replace('_', ' ')} an item that is {item.status.value}",
                    extra={"status": item.status.value, "action": action.value},
                )
            values, data = self._changes(item, action, text=text, percent=percent, due_date=due_date)
            files = check_uploads(uploads or [], self.settings) if action in (Action.REPORT, Action.SUBMIT) else []
            now = self.clock.now()
            new_status = next_status(action, item.status)
            values.update(status=new_status.value, updated_at=now)
            if not await store.update_item(conn, item.id, item.status, values):
                raise Conflict("item_changed", "the item changed meanwhile; reload it and try again")
            followup_id = await store.insert_followup(
                conn, {"item_id": item.id, "kind": action.value, "author_id": principal.id, "text": text,
                       "percent": values.get("percent") if action in (Action.REPORT, Action.SUBMIT) else None,
                       "data": data, "at": now},
            )
            stored_files = []
            for upload in files:
                attachment_id = new_id("at")
                digest = hashlib.sha256(upload.data).hexdigest()
                await store.insert_attachment(
                    conn, {"id": attachment_id, "item_id": item.id, "followup_id": followup_id,
                           "filename": upload.filename, "content_type": upload.content_type,
                           "size": len(upload.data), "sha256": digest, "content": upload.data},
                )
                stored_files.append({"id": attachment_id, "filename": upload.filename, "sha256": digest,
                                     "size": len(upload.data)})
            updated = await self._load(conn, item.id)
            signature = await self._sign(conn, principal, updated, followup_id, drawn, image, now) if drawn else None
            change = Change(action.value, updated, principal.id, {**data, "status": new_status.value})
            await self.record(
                conn, change, audit_data={"from": item.status.value, "to": new_status.value, "text": text,
                                          **data, "attachments": stored_files,
                                          **({"signature": signature} if signature else {})},
            )
        log.info("supervision item %s: %s by %s (%s -> %s)", item.id, action.value, principal.id, item.status.value,
                 new_status.value)
        await self.announce(change)
        return updated

    async def _sign(self, conn: AsyncConnection, principal: Principal, item: Item, followup_id: int,
                    strokes: list[list[Point]], image: bytes, now: datetime) -> dict[str, Any]:
        """Keep the signature on the item's closing, with the SHA-256 of the item as closed; what the audit says."""
        state = hashlib.sha256(audit.canonical(item.to_dict())).hexdigest()
        signoff_id = new_id("sg")
        await store.insert_signoff(conn, {
            "id": signoff_id, "item_id": item.id, "followup_id": followup_id, "signer_id": principal.id,
            "signer_name": principal.person.name, "signed_at": now,
            "method": principal.signed_in_with, "state_sha256": state,
            "strokes": [[list(point) for point in stroke] for stroke in strokes], "image": image})
        return {"signoff_id": signoff_id, "state_sha256": state, "points": sum(len(s) for s in strokes)}

    def _changes(
        self, item: Item, action: Action, *, text: str, percent: int | None, due_date: date | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The column changes and event data of an action, after checking its input (400 naming the field)."""
        if action in NEEDS_TEXT and not text:
            raise BadRequest("text_required", "write what was done or why", field="text")
        if len(text) > MAX_TEXT:
            raise BadRequest("text_too_long", f"at most {MAX_TEXT} characters", field="text")
        now = self.clock.now()
        values: dict[str, Any] = {}
        data: dict[str, Any] = {}
        if action is Action.REPORT:
            if percent is None or not 0 <= percent <= 100:
                raise BadRequest("invalid_percent", "percent done must be between 0 and 100", field="percent")
            values["percent"] = percent
            data["percent"] = percent
        elif action is Action.SUBMIT:
            values.update(percent=100, submitted_at=now)
        elif action is Action.REQUEST_EXTENSION:
            if due_date is None:
                raise BadRequest("due_date_required", "give the new due date asked for", field="due_date")
            if due_date <= item.due_date or due_date < self.today():
                raise BadRequest("invalid_due_date", "the new due date must be after the current one",
                                 field="due_date")
            values["requested_due_date"] = due_date
            data["requested_due_date"] = due_date.isoformat()
        elif action is Action.GRANT_EXTENSION:
            assert item.requested_due_date is not None
            values.update(due_date=item.requested_due_date, requested_due_date=None)
            data.update(old_due_date=item.due_date.isoformat(), due_date=item.requested_due_date.isoformat())
        elif action is Action.DENY_EXTENSION:
            values["requested_due_date"] = None
        elif action is Action.CLOSE:
            assert item.submitted_at is not None
            on_time = item.submitted_at < self.deadline(item.due_date)
            days = (now - item.created_at).total_seconds() / 86400
            values.update(closed_at=now, on_time=on_time, days_to_close=round(days, 3))
            data.update(on_time=on_time, days_to_close=round(days, 3))
        elif action is Action.CANCEL:
            values["requested_due_date"] = None
        return values, data

    # --- reading --------------------------------------------------------------------------------------------------
    async def item(self, principal: Principal, item_id: str) -> tuple[Item, Decision, list[FollowUp]]:
        """An item the principal may see, its source decision and its timeline."""
        async with self.db.connect() as conn:
            item = await self._load(conn, item_id)
            decision = await self._require_view(conn, principal, item)
            return item, decision, await store.timeline(conn, item.id)

    async def signoffs(self, item_id: str) -> list[dict[str, Any]]:
        """An item's handwritten signatures (the caller has checked the principal may see the item)."""
        async with self.db.connect() as conn:
            return await store.signoffs_of(conn, item_id)

    async def signoff_image(self, principal: Principal, item_id: str, signoff_id: str) -> bytes:
        """A signature as the hub rendered it, for someone who may see its item."""
        async with self.db.connect() as conn:
            await self._require_view(conn, principal, await self._load(conn, item_id))
            image = await store.signoff_image(conn, item_id, signoff_id)
        if image is None:
            raise NotFound("signoff_not_found", f"no signature {signoff_id!r} on this item")
        return image

    async def attachment(self, principal: Principal, attachment_id: str) -> tuple[str, str, bytes]:
        """An attachment's name, type and bytes, for someone who may see its item."""
        async with self.db.connect() as conn:
            found = await store.attachment_content(conn, attachment_id)
            if found is None:
                raise NotFound("attachment_not_found", f"no attachment {attachment_id!r}")
            meta, content = found
            await self._require_view(conn, principal, await self._load(conn, meta.item_id))
        return meta.filename, meta.content_type, content

    async def item_news(self, principal: Principal, *, unread_only: bool = False,
                        limit: int = 50) -> list[Notification]:
        """The principal's notifications about items, newest first."""
        return await self.notifications.listing(principal.id, unread_only=unread_only, subject=Subject.ITEM,
                                                limit=limit)

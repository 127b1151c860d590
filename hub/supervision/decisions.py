"""Meeting decisions: recorded by the chair or secretary, broadcast live, written into the minutes, each one the
source of a supervision item.

The meetings and documents domains plug in through two small interfaces given to the constructor: a MeetingGate
(what supervision needs to know of a meeting and of a person's role in it) and a MinutesWriter (append a decision
to the "Decisions" section of a meeting's minutes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from hub.auth import policy
from hub.auth.principal import Principal
from hub.bus.base import Bus
from hub.directory.model import Role
from hub.directory.service import DirectoryService
from hub.errors import BadRequest, Conflict, Forbidden, NotFound
from hub.supervision import store
from hub.supervision.model import Decision, Item, MeetingInfo, Priority, Status
from hub.supervision.service import Change, SupervisionService, new_id

log = logging.getLogger(__name__)

MAX_DECISION_TEXT = 2000
MAX_COOP_UNITS = 20


class MeetingGate(Protocol):
    """What supervision asks the meetings domain."""

    async def meeting(self, meeting_id: str) -> MeetingInfo | None:
        """The meeting (title, closed for edits, its minutes document), or None when there is no such meeting."""

    async def role_of(self, meeting_id: str, person_id: str) -> str | None:
        """The person's role in the meeting ("chair", "secretary", "participant", ...), or None."""

    async def chair_of(self, meeting_id: str) -> str | None:
        """The person who chairs the meeting, or None when there is no such meeting."""


class MinutesWriter(Protocol):
    """What supervision asks the documents domain."""

    async def append_decision(self, meeting: MeetingInfo, decision: Decision, item: Item, lines: list[str]) -> None:
        """Append the decision to the "Decisions" section of the meeting's minutes (created when missing)."""


@dataclass(frozen=True)
class DecisionInput:
    text: str
    lead_unit: str
    responsible: str
    due_date: date
    coop_units: tuple[str, ...] = ()
    priority: Priority = Priority.NORMAL


def meeting_channel(meeting_id: str) -> str:
    """The bus channel of a meeting; the signaling layer forwards its events to the participants."""
    return f"meeting.{meeting_id}"


class DecisionService:
    """Records decisions of meetings and turns each into a supervision item."""

    def __init__(
        self, items: SupervisionService, directory: DirectoryService, bus: Bus,
        gate: MeetingGate | None, minutes: MinutesWriter | None,
    ) -> None:
        self.items = items
        self.directory = directory
        self.bus = bus
        self.gate = gate
        self.minutes = minutes

    async def _meeting(self, meeting_id: str) -> MeetingInfo:
        # Without the meetings domain plugged in there are no meetings to record decisions of.
        meeting = await self.gate.meeting(meeting_id) if self.gate is not None else None
        if meeting is None:
            raise NotFound("meeting_not_found", f"no meeting {meeting_id!r}")
        return meeting

    async def record(self, principal: Principal, meeting_id: str, data: DecisionInput) -> tuple[Decision, Item]:
        """Record a decision: 403 unless chair/secretary, 409 once closed for edits, 400 naming a bad field."""
        meeting = await self._meeting(meeting_id)
        assert self.gate is not None
        role = await self.gate.role_of(meeting_id, principal.id)
        policy.require(
            policy.can_record_decision(principal, role), "recorder_only",
            "only the meeting's chair or secretary records its decisions",
        )
        if meeting.closed_for_edits:
            raise Conflict("meeting_closed", "the meeting is closed for edits: no more decisions")
        text = data.text.strip()
        await self._check(data, text)
        now = self.items.clock.now()
        decision_id, item_id = new_id("d"), new_id("sv")
        async with self.items.transaction() as conn:
            number = await store.next_decision_number(conn, meeting_id)
            await store.insert_decision(
                conn,
                {"id": decision_id, "meeting_id": meeting_id, "meeting_title": meeting.title[:200],
                 "minutes_doc_id": meeting.minutes_doc_id, "number": number, "text": text,
                 "recorded_by": principal.id, "recorded_at": now},
            )
            coops = [u for u in dict.fromkeys(data.coop_units) if u != data.lead_unit]
            year = now.astimezone(self.items.tz).year
            seq = await store.next_item_number(conn, year)
            await store.insert_item(
                conn,
                {"id": item_id, "decision_id": decision_id, "meeting_id": meeting_id,
                 "title": text.splitlines()[0][:200], "lead_unit_id": data.lead_unit, "coop_unit_ids": coops,
                 "responsible_id": data.responsible, "priority": data.priority.value,
                 "status": Status.ASSIGNED.value, "percent": 0, "due_date": data.due_date,
                 "original_due_date": data.due_date, "created_at": now, "updated_at": now, "number_year": year,
                 "number_seq": seq, "number": store.item_number(self.items.settings.number_prefix, year, seq)},
            )
            item = await store.get_item(conn, item_id, self.items.today())
            decision = await store.get_decision(conn, decision_id, item_id)
            assert item is not None and decision is not None
            await store.insert_followup(
                conn, {"item_id": item_id, "kind": "created", "author_id": principal.id, "text": text,
                       "percent": None, "data": {"meeting_id": meeting_id, "number": number}, "at": now},
            )
            change = Change("created", item, principal.id, {"decision": decision.to_dict()})
            await self.items.record(
                conn, change,
                audit_data={"decision_id": decision_id, "meeting_id": meeting_id, "number": number, "text": text,
                            "lead_unit": data.lead_unit, "coop_units": coops, "responsible": data.responsible,
                            "due_date": data.due_date.isoformat(), "priority": data.priority.value},
            )
        log.info("meeting %s: decision %d recorded by %s -> item %s", meeting_id, number, principal.id, item_id)
        await self.bus.publish(
            meeting_channel(meeting_id),
            # The meeting channel's shape: {"event": ..., **data}; signaling forwards it to the participants.
            {"event": "decision.recorded", "meeting_id": meeting_id,
             "decision": decision.to_dict(), "item": item.to_dict()},
        )
        await self.items.announce(change)
        await self._write_minutes(meeting, decision, item)
        return decision, item

    async def _check(self, data: DecisionInput, text: str) -> None:
        if not text:
            raise BadRequest("text_required", "write the decision", field="text")
        if len(text) > MAX_DECISION_TEXT:
            raise BadRequest("text_too_long", f"at most {MAX_DECISION_TEXT} characters", field="text")
        if data.due_date < self.items.today():
            raise BadRequest("due_date_in_past", "the due date is in the past", field="due_date")
        if len(data.coop_units) > MAX_COOP_UNITS:
            raise BadRequest("too_many_units", f"at most {MAX_COOP_UNITS} co-operating units", field="coop_units")
        known = {unit.id for unit in await self.directory.units()}
        if data.lead_unit not in known:
            raise BadRequest("unknown_unit", f"no org unit {data.lead_unit!r}", field="lead_unit")
        for index, unit_id in enumerate(data.coop_units):
            if unit_id not in known:
                raise BadRequest("unknown_unit", f"no org unit {unit_id!r}", field=f"coop_units[{index}]")
        person = await self.directory.find_person(data.responsible)
        if person is None or not person.active or Role.TERMINAL in person.roles:
            raise BadRequest("unknown_person", f"no active person {data.responsible!r}", field="responsible")
        if person.org_unit_id != data.lead_unit:
            raise BadRequest("not_in_lead_unit", f"{person.name} is not in the lead unit", field="responsible")

    async def _write_minutes(self, meeting: MeetingInfo, decision: Decision, item: Item) -> None:
        if self.minutes is None or meeting.minutes_doc_id is None:
            return
        units = {unit.id: unit.name for unit in await self.directory.units()}
        person = await self.directory.find_person(item.responsible_id)
        due = item.due_date
        # Chinese only, as the minutes are an official paper; the decision's number is the one people cite
        details = [f"牵头单位：{units.get(item.lead_unit_id, item.lead_unit_id)}"]
        if item.coop_unit_ids:
            details.append("协办单位：" + "、".join(units.get(u, u) for u in item.coop_unit_ids))
        details += [f"责任人：{person.name if person else item.responsible_id}",
                    f"办结时限：{due.year}年{due.month}月{due.day}日", f"督办编号：{item.number}"]
        lines = [f"{decision.number}. {decision.text}", "；".join(details) + "。"]
        try:
            await self.minutes.append_decision(meeting, decision, item, lines)
        except Exception:  # noqa: BLE001 - the decision stands even when the minutes cannot be written right now
            log.exception("meeting %s: decision %s not written to minutes %s", meeting.id, decision.id,
                          meeting.minutes_doc_id)

    async def may_record(self, principal: Principal, meeting_id: str) -> bool:
        """Whether the principal may record decisions of this meeting now (for showing the form)."""
        meeting = await self._meeting(meeting_id)
        assert self.gate is not None
        role = await self.gate.role_of(meeting_id, principal.id)
        return policy.can_record_decision(principal, role) and not meeting.closed_for_edits

    async def of_meeting(self, principal: Principal, meeting_id: str) -> list[tuple[Decision, Item]]:
        """The decisions of a meeting, for its decisions panel: for people of the meeting and supervisors."""
        await self._meeting(meeting_id)
        assert self.gate is not None
        role = await self.gate.role_of(meeting_id, principal.id)
        if role is None and not (policy.can_supervise(principal) or policy.can_administer(principal)):
            raise Forbidden("meeting_forbidden", "not a member of this meeting")
        async with self.items.db.connect() as conn:
            return await store.decisions_of_meeting(conn, meeting_id, self.items.today())

    async def any_of_meeting(self, meeting_id: str) -> bool:
        """Whether any decision (and so a supervision item) came from the meeting."""
        async with self.items.db.connect() as conn:
            return await store.meeting_has_decisions(conn, meeting_id)

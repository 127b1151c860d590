"""The video phone's rules: dial, ring every online device, first answer wins, decline, cancel, busy, missed.

State lives in the database (calls, parties, lines) and every transition is a conditional UPDATE, so two
devices or two nodes racing for the same call cannot both win. Ringing and relaying go over the bus
(hub.calls.channels); presence of phone devices is kept on the bus with a TTL. A ring timer per call on the
node that placed it, and a sweep on every node, make sure no call stays "ringing" or "active" forever.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from hub.auth import policy
from hub.auth.principal import Principal
from hub.bus.base import Bus, Message
from hub.calls import store
from hub.calls.channels import device_channel, person_channel, presence_group
from hub.calls.history import CallHistory, person_card
from hub.calls.ice import ice_servers
from hub.calls.keeper import CallKeeper
from hub.calls.lines import Lines
from hub.calls.model import MISSED_FOR_CALLEE, Call, CallState, DeviceKind, Outcome, PartyRole, TargetKind
from hub.calls.refusals import check_ringing, ended_error
from hub.clock import Clock
from hub.directory.model import OrgUnit, Person
from hub.directory.service import DirectoryService
from hub.errors import BadRequest, Conflict, Forbidden, HubError, NotFound
from hub.settings import CallSettings, IceSettings
from hub.storage.db import Database

log = logging.getLogger(__name__)


class CallService:
    """Calls between people, duty lines and extensions; one instance per node, sharing the database and bus."""

    def __init__(
        self, db: Database, bus: Bus, directory: DirectoryService, clock: Clock, settings: CallSettings,
        ice: IceSettings,
    ) -> None:
        self.db = db
        self.bus = bus
        self.directory = directory
        self.clock = clock
        self.settings = settings
        self.ice = ice
        self.history = CallHistory(db, bus, directory, clock)
        self.lines = Lines(db)
        self._timers: dict[str, asyncio.Task[None]] = {}
        self.keeper = CallKeeper(self)
        self.outcomes: collections.Counter[Outcome] = collections.Counter()  # calls ended here, by outcome
        # calls ringing and going on in the whole hub (the database), as this node's sweeper last saw them
        self.live_counts: collections.Counter[CallState] = collections.Counter()

    async def start(self) -> None:
        """Start sweeping for calls left behind (ring time over, party gone)."""
        await self.keeper.start()

    async def stop(self) -> None:
        """Stop the sweeper and the timers (calls keep their state in the database)."""
        await self.keeper.stop()
        tasks = list(self._timers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._timers.clear()

    # -- devices -------------------------------------------------------------------------------------------

    async def device_online(self, person_id: str, device_id: str, kind: DeviceKind, label: str = "") -> None:
        """Say (and keep saying, before the TTL runs out) that a phone device of a person is online."""
        value = {"kind": kind.value, "label": label[:80], "node": self.bus.node_id}
        await self.bus.presence_set(presence_group(person_id), device_id, value, self.settings.presence_ttl)

    async def device_gone(self, person_id: str, device_id: str) -> None:
        """A device went away: its ringing calls are cancelled, its answered calls wait for it to come back."""
        await self.keeper.device_gone(person_id, device_id)

    async def resume(self, principal: Principal, device_id: str, call_id: str) -> Call:
        """Carry on an answered call on a new device (the same person's socket came back)."""
        return await self.keeper.resume(principal, device_id, call_id)

    async def devices(self, person_id: str) -> dict[str, Message]:
        """A person's online phone devices: device id -> {kind, label, node}."""
        return await self.bus.presence_members(presence_group(person_id))

    # -- dialling ------------------------------------------------------------------------------------------

    async def dial(
        self, principal: Principal, device_id: str, *, person: str | None = None, unit: str | None = None,
        extension: str | None = None,
    ) -> Call:
        """Place a call to a person, an org unit's duty line or an extension; rings every online device."""
        target, callees, units = await self._resolve(principal, person=person, unit=unit, extension=extension)
        call_id = uuid.uuid4().hex
        now = self.clock.now()
        if not await self.lines.take(principal.id, call_id, now):
            raise Conflict("already_in_call", "you are in another call: hang up first")
        try:
            rung, outcome = await self._reachable(target, callees, call_id, now)
        except BaseException:
            await self.lines.release(call_id)
            raise
        call = Call(
            id=call_id, caller_id=principal.id, caller_device=device_id,
            target_kind=TargetKind.PERSON if isinstance(target, Person) else TargetKind.UNIT,
            target_id=target.id, extension=extension.strip() if extension else None,
            state=CallState.ENDED if outcome else CallState.RINGING, outcome=outcome, dialled_at=now,
            ring_deadline=now + timedelta(seconds=self.settings.ring_timeout),
            ringing_at=None if outcome else now, ended_at=now if outcome else None,
            callees=tuple(rung or callees),
        )
        async with self.db.begin() as conn:
            await store.insert_call(conn, call)
        if outcome is not None:
            self.outcomes[outcome] += 1
            await self.lines.release(call_id)
            log.info("call %s from %s to %s: %s", call_id, principal.id, target.id, outcome.value)
            await self._announce_missed(call)
            return call
        log.info("call %s from %s to %s %s: ringing %s", call_id, principal.id, call.target_kind.value, target.id,
                 ",".join(rung))
        caller = person_card(principal.person, units)
        duty_line = target.to_dict() if isinstance(target, OrgUnit) else None
        for callee in rung:
            await self.bus.publish(
                person_channel(callee),
                {"event": "call.incoming", "call": call.to_dict(), "caller": caller, "duty_line": duty_line},
            )
        self._timers[call_id] = asyncio.create_task(self._ring_timer(call_id), name=f"call-ring-{call_id}")
        return call

    async def _resolve(
        self, principal: Principal, *, person: str | None = None, unit: str | None = None,
        extension: str | None = None,
    ) -> tuple[Person | OrgUnit, list[str], dict[str, OrgUnit]]:
        """Whom a number reaches and whom it rings, if the principal may call it."""
        if sum(x is not None for x in (person, unit, extension)) != 1:
            raise BadRequest("invalid_target", "give exactly one of person, unit or extension")
        target: Person | OrgUnit
        if extension is not None:
            target = await self.directory.by_extension(extension)
        elif person is not None:
            target = await self.directory.person(person)
        else:
            target = await self.directory.unit(str(unit))
        units = {u.id: u for u in await self.directory.units()}
        if isinstance(target, Person):
            if not target.active:
                raise HubError("callee_inactive", f"{target.name} is no longer in the directory", 410)
            if target.id == principal.id:
                raise BadRequest("cannot_call_yourself", "you cannot call yourself")
            target_unit = target.org_unit_id
            callees = [target.id]
        else:
            target_unit = target.id
            callees = [p.id for p in await self.directory.members([target.id]) if p.id != principal.id]
        policy.require(
            policy.can_call(principal, _chain(units, principal.org_unit.id), _chain(units, target_unit)),
            "call_forbidden", "you may not call this number",
        )
        return target, callees, units

    async def _reachable(
        self, target: Person | OrgUnit, callees: list[str], call_id: str, now: datetime
    ) -> tuple[list[str], Outcome | None]:
        """Whom to ring (and take the line of, for a person), or why the call cannot ring at all."""
        online = [p for p in callees if await self.devices(p)]
        if isinstance(target, Person):
            if not online:
                return [], Outcome.UNAVAILABLE
            if not await self.lines.take(target.id, call_id, now):
                return [], Outcome.BUSY
            return [target.id], None
        async with self.db.connect() as conn:
            busy = await store.lines_of(conn, online)
        free = [p for p in online if p not in busy]
        if not online:
            return [], Outcome.UNAVAILABLE
        if not free:
            return [], Outcome.BUSY
        return free, None

    async def answer(self, principal: Principal, device_id: str, call_id: str) -> Call:
        """Take a ringing call on this device; every other device stops ringing."""
        call, role, declined = await self.as_party(principal, call_id)
        if role is not PartyRole.CALLEE:
            raise Forbidden("not_callee", "only the person called can answer")
        check_ringing(call, device_id)
        if declined:
            raise Conflict("call_declined", "you declined this call")
        now = self.clock.now()
        duty_line = call.target_kind is TargetKind.UNIT
        if duty_line and not await self.lines.take(principal.id, call_id, now):
            raise Conflict("already_in_call", "you are in another call: hang up first")
        async with self.db.begin() as conn:
            won = await store.transition(
                conn, call_id, [CallState.RINGING], state=CallState.ACTIVE, answered_at=now,
                answered_by=principal.id, answered_device=device_id,
            )
            latest = await store.get_call(conn, call_id)
        assert latest is not None
        if not won:
            if duty_line:
                await self.lines.release(call_id, principal.id)
            check_ringing(latest, device_id)
        self._cancel_timer(call_id)
        log.info("call %s answered by %s on %s", call_id, principal.id, device_id)
        stopped = {"event": "call.ringing_stopped", "call_id": call_id, "reason": "answered",
                   "answered_by": principal.id, "answered_device": device_id}
        for callee in latest.callees:
            await self.bus.publish(person_channel(callee), stopped)
        await self.bus.publish(device_channel(latest.caller_device), {"event": "call.answered",
                                                                      "call": latest.to_dict()})
        return latest

    async def decline(self, principal: Principal, device_id: str, call_id: str) -> Call:
        """Refuse a ringing call; a duty line keeps ringing the others until all of them declined."""
        call, role, declined = await self.as_party(principal, call_id)
        if role is not PartyRole.CALLEE:
            raise Forbidden("not_callee", "only the person called can decline")
        check_ringing(call, device_id)
        if declined:
            raise Conflict("call_declined", "you declined this call already")
        async with self.db.begin() as conn:
            await store.set_declined(conn, call_id, principal.id)
            parties = await store.party_roles(conn, call_id)
        everyone = all(d for role, d in parties.values() if role is PartyRole.CALLEE)
        if everyone:
            ended = await self.end(call_id, [CallState.RINGING], Outcome.DECLINED, principal.id)
            if ended is None:
                check_ringing(await self.call(call_id), device_id)
            assert ended is not None
            return ended
        await self.bus.publish(
            person_channel(principal.id), {"event": "call.ringing_stopped", "call_id": call_id, "reason": "declined"}
        )
        return await self.call(call_id)

    async def cancel(self, principal: Principal, call_id: str) -> Call:
        """The caller gives up before anyone answered."""
        call, role, _ = await self.as_party(principal, call_id)
        if role is not PartyRole.CALLER:
            raise Forbidden("not_caller", "only the caller can cancel a call")
        ended = await self.end(call_id, [CallState.RINGING], Outcome.CANCELLED, principal.id)
        if ended is None:
            latest = await self.call(call_id)
            if latest.state is CallState.ACTIVE:
                raise Conflict("already_answered", "the call was answered: hang up instead")
            raise ended_error(latest)
        return ended

    async def hangup(self, principal: Principal, device_id: str, call_id: str) -> Call:
        """End a call: an answered call for both, a ringing one as cancel (caller) or decline (callee)."""
        call, role, _ = await self.as_party(principal, call_id)
        if call.state is CallState.RINGING:
            if role is PartyRole.CALLER:
                return await self.cancel(principal, call_id)
            return await self.decline(principal, device_id, call_id)
        if call.state is CallState.ENDED:
            raise ended_error(call)
        if principal.id not in (call.caller_id, call.answered_by):
            raise Forbidden("not_a_party", "you are not in this call")
        ended = await self.end(call_id, [CallState.ACTIVE], Outcome.ANSWERED, principal.id)
        if ended is None:
            raise ended_error(await self.call(call_id))
        return ended

    async def relay_target(self, principal: Principal, device_id: str, call_id: str) -> str:
        """The device at the other end of an answered call, for media signaling from device_id."""
        call = await self.call(call_id)
        other = call.other_device(device_id)
        if other is None or principal.id not in (call.caller_id, call.answered_by):
            raise Forbidden("not_a_party", "this device is not in that call")
        if call.state is not CallState.ACTIVE:
            raise Conflict("call_not_active", f"the call is {call.state.value}")
        return other

    def ice_servers(self, person_id: str) -> list[dict[str, Any]]:
        """ICE servers for one call's client, with fresh time-limited TURN credentials."""
        return ice_servers(self.ice, person_id, self.clock.timestamp())

    async def meeting_parties(self, principal: Principal, call_id: str, third: str) -> tuple[Call, Person]:
        """Check that an answered call of the principal may become a meeting with a third person; both back."""
        call, _, _ = await self.as_party(principal, call_id)
        if call.state is not CallState.ACTIVE:
            raise ended_error(call) if call.state is CallState.ENDED else Conflict(
                "call_not_active", "only an answered call can become a meeting")
        if principal.id not in (call.caller_id, call.answered_by):
            raise Forbidden("not_a_party", "you are not in this call")
        if third in (call.caller_id, call.answered_by):
            raise BadRequest("already_in_the_call", "that person is in the call already", field="person")
        target, _, _ = await self._resolve(principal, person=third)
        assert isinstance(target, Person)
        return call, target

    async def mark_meeting(self, principal: Principal, call_id: str, meeting_id: str) -> Call:
        """An answered call moved into a meeting: the call ends with that outcome; both devices are told."""
        ended = await self.end(call_id, [CallState.ACTIVE], Outcome.MEETING, principal.id, meeting_id=meeting_id)
        if ended is None:
            raise ended_error(await self.call(call_id))
        return ended

    # -- endings -------------------------------------------------------------------------------------------

    async def end(
        self, call_id: str, from_states: list[CallState], outcome: Outcome, by: str | None, **extra: Any
    ) -> Call | None:
        """Move a call to ended (if it still is in from_states), free its lines and tell everyone."""
        now = self.clock.now()
        async with self.db.begin() as conn:
            if not await store.transition(
                conn, call_id, from_states, state=CallState.ENDED, outcome=outcome, ended_at=now, ended_by=by,
                **extra,
            ):
                return None
            await store.release_lines(conn, call_id)
            call = await store.get_call(conn, call_id)
        assert call is not None
        self.outcomes[outcome] += 1
        self._cancel_timer(call_id)
        log.info("call %s ended: %s (by %s, %.0fs)", call_id, outcome.value, by or "-", call.duration or 0)
        ended = {"event": "call.ended", "call": call.to_dict()}
        for device in {call.caller_device, call.answered_device} - {None}:
            await self.bus.publish(device_channel(str(device)), ended)
        if call.answered_at is None:
            stopped = {"event": "call.ringing_stopped", "call_id": call_id, "reason": outcome.value}
            for callee in call.callees:
                await self.bus.publish(person_channel(callee), stopped)
            await self._announce_missed(call)
        return call

    async def _announce_missed(self, call: Call) -> None:
        if call.outcome not in MISSED_FOR_CALLEE:
            return
        for callee in call.callees:
            count = await self.history.missed_count(callee)
            await self.bus.publish(person_channel(callee), {"event": "call.missed", "count": count,
                                                            "call_id": call.id})

    async def _ring_timer(self, call_id: str) -> None:
        await asyncio.sleep(self.settings.ring_timeout)
        self._timers.pop(call_id, None)
        try:
            await self.end(call_id, [CallState.RINGING], Outcome.MISSED, None)
        except Exception:
            log.exception("call %s: ring timeout failed (the sweep will retry)", call_id)

    def _cancel_timer(self, call_id: str) -> None:
        task = self._timers.pop(call_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # -- reading -------------------------------------------------------------------------------------------

    async def call(self, call_id: str) -> Call:
        async with self.db.connect() as conn:
            call = await store.get_call(conn, call_id)
        if call is None:
            raise NotFound("call_not_found", f"no call {call_id!r}")
        return call

    async def as_party(self, principal: Principal, call_id: str) -> tuple[Call, PartyRole, bool]:
        """The call, the principal's role in it and whether they declined; refused for anyone else."""
        async with self.db.connect() as conn:
            call = await store.get_call(conn, call_id)
            parties = await store.party_roles(conn, call_id) if call else {}
        if call is None:
            raise NotFound("call_not_found", f"no call {call_id!r}")
        if principal.id not in parties:
            raise Forbidden("not_a_party", "you are not in this call")
        role, declined = parties[principal.id]
        return call, role, declined

    async def get(self, principal: Principal, call_id: str) -> Call:
        """One call, for its parties."""
        call, _, _ = await self.as_party(principal, call_id)
        return call

def _chain(units: dict[str, OrgUnit], unit_id: str) -> list[OrgUnit]:
    """An org unit and its ancestors up to the city."""
    chain: list[OrgUnit] = []
    current = units.get(unit_id)
    while current is not None and current not in chain:
        chain.append(current)
        current = units.get(current.parent_id) if current.parent_id else None
    return chain

"""Keeps calls honest when devices or nodes vanish: cancel, a grace to come back, resume, and the sweep.

A socket that closes while its call rings cancels the call at once. A socket that closes during an answered
call (a network drop, a node draining) leaves the call a grace period (`calls.reconnect_grace`): the same
person's new socket may `call.resume` it, and the peer-to-peer media never noticed. Without that the call
ends. A node that dies runs no cleanup at all: its devices' presence runs out, and the sweep on every
node ends their calls (ringing ones as missed: once the ring time is over, or at once when the caller's
device is gone). After Redis comes back, absent presence proves nothing until every device had time to renew it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from hub.auth.principal import Principal
from hub.calls import store
from hub.calls.channels import device_channel, presence_group
from hub.calls.model import Call, CallState, Outcome
from hub.calls.refusals import ended_error
from hub.errors import Conflict, Forbidden

if TYPE_CHECKING:
    from hub.calls.service import CallService

log = logging.getLogger(__name__)


def _orphan_key(call_id: str, device_id: str) -> str:
    # Set while a call waits for a vanished device to come back, so sweeps on other nodes leave it alone.
    return f"calls.orphan.{call_id}.{device_id}"


class CallKeeper:
    """The part of the call service that watches devices and nodes; owns the sweep and the grace timers."""

    def __init__(self, service: CallService) -> None:
        self.service = service
        self.settings = service.settings
        self._sweeper: asyncio.Task[None] | None = None
        self._graces: dict[tuple[str, str], asyncio.Task[None]] = {}
        # Until then a device missing from the presence proves nothing (monotonic time; see _bus_connected).
        self._settled_at = 0.0

    async def start(self) -> None:
        self.service.bus.on_connect(self._bus_connected)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="calls-sweeper")

    async def _bus_connected(self, lost: bool) -> None:
        # Redis may be back without the presence it held (a restart): every live device says it is online again
        # within a third of the TTL, so for one TTL the sweep ends no call for a device it does not find.
        self._settled_at = time.monotonic() + self.settings.presence_ttl

    async def stop(self) -> None:
        tasks = [t for t in [self._sweeper, *self._graces.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._graces.clear()

    async def device_gone(self, person_id: str, device_id: str) -> None:
        """A device closed: offline now; its ringing calls are cancelled, its answered calls get the grace."""
        service = self.service
        async with service.db.connect() as conn:
            mine = [c for c in await store.live_calls(conn) if device_id in (c.caller_device, c.answered_device)]
        grace = self.settings.reconnect_grace
        waiting = [c for c in mine if c.state is CallState.ACTIVE and grace > 0]
        # Mark the calls that wait before the device leaves the presence: a sweep in between must not end them.
        for call in waiting:
            await service.bus.set_key(_orphan_key(call.id, device_id), {"person": person_id},
                                      grace + self.settings.sweep_interval)
        await service.bus.presence_remove(presence_group(person_id), device_id)
        for call in mine:
            if call.state is CallState.RINGING:
                await service.end(call.id, [CallState.RINGING], Outcome.CANCELLED, person_id)
            elif call not in waiting:
                await service.end(call.id, [CallState.ACTIVE], Outcome.ANSWERED, person_id)
            else:
                log.info("call %s: %s's device %s went away, waiting %.0fs for it", call.id, person_id, device_id,
                         grace)
                self._graces[(call.id, device_id)] = asyncio.create_task(
                    self._grace(call.id, device_id, person_id, grace), name=f"call-grace-{call.id}"
                )

    async def _grace(self, call_id: str, device_id: str, person_id: str, grace: float) -> None:
        await asyncio.sleep(grace)
        self._graces.pop((call_id, device_id), None)
        try:
            call = await self.service.call(call_id)
            if call.state is CallState.ACTIVE and device_id in (call.caller_device, call.answered_device):
                await self.service.end(call_id, [CallState.ACTIVE], Outcome.ANSWERED, person_id)
        except Exception:
            log.exception("call %s: ending after the grace failed (the sweep will retry)", call_id)

    async def resume(self, principal: Principal, device_id: str, call_id: str) -> Call:
        """Move the principal's end of an answered call to this device, if their old one is gone."""
        service = self.service
        call, _, _ = await service.as_party(principal, call_id)
        if call.state is CallState.ENDED:
            raise ended_error(call)
        if call.state is not CallState.ACTIVE:
            raise Conflict("call_not_active", "only an answered call can be resumed")
        if principal.id == call.caller_id:
            side, old = "caller_device", call.caller_device
        elif principal.id == call.answered_by:
            side, old = "answered_device", str(call.answered_device)
        else:
            raise Forbidden("not_a_party", "you are not in this call")
        if old == device_id:
            return call
        if old in await service.devices(principal.id):
            raise Conflict("call_on_another_device", "the call goes on on another of your devices")
        async with service.db.begin() as conn:
            moved = await store.move_device(conn, call_id, side, old, device_id)
            latest = await store.get_call(conn, call_id)
        assert latest is not None
        if not moved:
            raise Conflict("call_not_active", f"the call is {latest.state.value}")
        task = self._graces.pop((call_id, old), None)
        if task is not None:
            task.cancel()
        await service.bus.delete_key(_orphan_key(call_id, old))
        other = latest.other_device(device_id)
        if other:
            await service.bus.publish(device_channel(other), {"event": "call.resumed", "call": latest.to_dict()})
        log.info("call %s: %s resumed on %s", call_id, principal.id, device_id)
        return latest

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("calls: sweep failed")

    async def sweep(self) -> None:
        """End calls whose ring time is over, or whose parties' devices vanished without a grace running."""
        service = self.service
        now = service.clock.now()
        async with service.db.connect() as conn:
            live = await store.live_calls(conn)
        service.live_counts = collections.Counter(call.state for call in live)
        # Redis away, or back but maybe without the presence it held (until the reader reconnects, commands may
        # already find it empty): only ring times decide then.
        settled = service.bus.ready and time.monotonic() >= self._settled_at
        for call in live:
            if call.state is CallState.RINGING and call.ring_deadline <= now:
                await service.end(call.id, [CallState.RINGING], Outcome.MISSED, None)
                continue
            if not settled:
                continue
            caller_here = await self._here(call, call.caller_id, call.caller_device)
            if call.state is CallState.RINGING:
                # A caller's device that vanished without its socket's cleanup went with its node (a closing
                # socket cancels at once): nobody gave up, nobody answered, so the call is missed, and early.
                if not caller_here:
                    await service.end(call.id, [CallState.RINGING], Outcome.MISSED, None)
                continue
            assert call.answered_by is not None and call.answered_device is not None
            callee_here = await self._here(call, call.answered_by, call.answered_device)
            if not caller_here or not callee_here:
                gone = call.caller_id if not caller_here else call.answered_by
                await service.end(call.id, [CallState.ACTIVE], Outcome.ANSWERED, gone)

    async def _here(self, call: Call, person_id: str, device_id: str) -> bool:
        """Whether a party's device is online, or is being waited for."""
        if device_id in await self.service.devices(person_id):
            return True
        return await self.service.bus.get_key(_orphan_key(call.id, device_id)) is not None

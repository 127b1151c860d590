"""The video phone over /ws: a thin layer from messages to hub.calls.service, and bus events back to devices.

A tab or terminal becomes a phone device with `call.register` (dialling or answering registers it too): it is
kept online in the bus presence while the socket lives, follows its person's ringing channel and its own
device channel, and its calls end (cancelled, or hung up) when the socket goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub import keys
from hub.auth import policy
from hub.bus.base import Message
from hub.calls.channels import device_channel, person_channel
from hub.calls.model import DeviceKind
from hub.calls.service import CallService
from hub.errors import PayloadTooLarge
from hub.meetings.service import NewMeeting
from signaling.protocol import Commands, Request, Result
from signaling.session import Session

log = logging.getLogger(__name__)

calls = Commands("calls")
STATE = "calls"
# A meeting made from a call is scheduled for this long from now (it ends earlier when the chair ends it).
MEETING_LENGTH = timedelta(hours=2)
ID = Field(min_length=1, max_length=64)


class RegisterRequest(Request):
    device: Literal["browser", "terminal"] = "browser"
    label: str = Field("", max_length=80)


class WatchMissedRequest(Request):
    pass


class DialRequest(Request):
    person: str | None = Field(None, min_length=1, max_length=64)
    unit: str | None = Field(None, min_length=1, max_length=64)
    extension: str | None = Field(None, min_length=1, max_length=20)


class CallRequest(Request):
    call_id: str = ID


class ToMeetingRequest(Request):
    call_id: str = ID
    person: str = Field(min_length=1, max_length=64)


class Description(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["offer", "answer"]
    sdp: str = Field(min_length=1, max_length=262_144)


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    candidate: str = Field(max_length=2048)
    sdpMid: str | None = Field(None, max_length=64)  # noqa: N815 - the browser's RTCIceCandidateInit names
    sdpMLineIndex: int | None = Field(None, ge=0, le=64)  # noqa: N815
    usernameFragment: str | None = Field(None, max_length=256)  # noqa: N815


class SignalRequest(Request):
    call_id: str = ID
    description: Description | None = None
    candidate: Candidate | None = None

    @model_validator(mode="after")
    def _one(self) -> SignalRequest:
        if (self.description is None) == (self.candidate is None):
            raise ValueError("give exactly one of description or candidate")
        return self


class CallEvent(BaseModel):
    call: dict[str, Any]


class IncomingEvent(CallEvent):
    caller: dict[str, Any]
    duty_line: dict[str, Any] | None


class RingingStoppedEvent(BaseModel):
    call_id: str
    reason: str


class MissedEvent(BaseModel):
    count: int


class MeetingInviteEvent(BaseModel):
    meeting_id: str
    title: str
    url: str
    by: dict[str, Any]


class SignalEvent(BaseModel):
    call_id: str
    description: Description | None = None
    candidate: Candidate | None = None


calls.event("call.incoming", IncomingEvent, "A call rings on this device: the call, the caller's card, the duty line")
calls.event("call.ringing_stopped", RingingStoppedEvent,
            "Stop ringing: answered_elsewhere, declined, cancelled, missed")
calls.event("call.answered", CallEvent, "The callee answered this device's call: send the offer now")
calls.event("call.resumed", CallEvent, "The other end's socket came back and the call goes on (nothing to do)")
calls.event("call.ended", CallEvent, "The call this device is in has ended (see call.outcome)")
calls.event("call.signal", SignalEvent, "The other end's offer/answer or ICE candidate")
calls.event("call.meeting_invite", MeetingInviteEvent,
            "A call you were added to became a meeting: join it at url (or ignore)")
calls.event("call.missed", MissedEvent, "The number of missed calls not seen yet changed")


class PhoneDevice:
    """One session as a phone: presence kept fresh, ringing and device channels followed, calls ended on close."""

    def __init__(self, session: Session, service: CallService, kind: DeviceKind, label: str) -> None:
        self.session = session
        self.service = service
        self.kind = kind
        self.label = label
        self._refresh: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self.session.id

    async def start(self) -> None:
        person = self.session.person_id
        # A socket that only watched the missed-calls count (call.watch_missed) now follows everything.
        await self.session.unfollow(person_channel(person))
        await self.session.follow(person_channel(person), self._on_person)
        await self.session.follow(device_channel(self.id), self._on_device)
        await self.service.device_online(person, self.id, self.kind, self.label)
        self._refresh = asyncio.create_task(self._keep_online(), name=f"phone-presence-{self.id}")
        self.session.on_close(self.stop)
        log.info("ws %s: %s online as a %s phone", self.id, person, self.kind.value)

    async def stop(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
        await self.service.device_gone(self.session.person_id, self.id)

    async def _keep_online(self) -> None:
        interval = self.service.settings.presence_ttl / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self.service.device_online(self.session.person_id, self.id, self.kind, self.label)
            except Exception:
                log.warning("ws %s: refreshing phone presence failed", self.id, exc_info=True)

    async def _on_person(self, message: Message) -> None:
        event = message.get("event")
        data = {k: v for k, v in message.items() if k != "event"}
        if event == "call.ringing_stopped" and data.get("reason") == "answered":
            if data.get("answered_device") == self.id:
                return
            data = {"call_id": data["call_id"], "reason": "answered_elsewhere"}
        if isinstance(event, str):
            self.session.send_event(event, data)

    async def _on_device(self, message: Message) -> None:
        event = message.get("event")
        if isinstance(event, str):
            self.session.send_event(event, {k: v for k, v in message.items() if k not in ("event", "to")})


def _service(session: Session) -> CallService:
    return session.app[keys.CALLS]


async def _device(session: Session, kind: DeviceKind = DeviceKind.BROWSER, label: str = "") -> PhoneDevice:
    device = session.state.get(STATE)
    if device is None:
        device = PhoneDevice(session, _service(session), kind, label)
        session.state[STATE] = device
        await device.start()
    assert isinstance(device, PhoneDevice)
    return device


@calls.command("call.register", RegisterRequest, "Be a phone device: ring here, count missed calls")
async def register(session: Session, request: RegisterRequest) -> Result:
    device = await _device(session, DeviceKind(request.device), request.label)
    service = _service(session)
    return {"device_id": device.id, "missed": await service.history.missed_count(session.person_id)}


@calls.command("call.watch_missed", WatchMissedRequest,
               "Follow my missed-calls count on this socket (call.missed) without becoming a phone: nothing rings here")
async def watch_missed(session: Session, request: WatchMissedRequest) -> Result:
    person = session.person_id
    if session.state.get(STATE) is None:  # a phone device follows the person's channel already

        async def forward(message: Message) -> None:
            if message.get("event") == "call.missed":
                session.send_event("call.missed", {k: v for k, v in message.items() if k != "event"})

        await session.follow(person_channel(person), forward)
    return {"missed": await _service(session).history.missed_count(person)}


@calls.command("call.dial", DialRequest, "Call a person, an org unit's duty line or an extension")
async def dial(session: Session, request: DialRequest) -> Result:
    device = await _device(session)
    service = _service(session)
    assert session.principal is not None
    call = await service.dial(
        session.principal, device.id, person=request.person, unit=request.unit, extension=request.extension
    )
    return {"call": call.to_dict(), "callee": await service.history.target_card(call),
            "ice_servers": service.ice_servers(session.person_id)}


@calls.command("call.answer", CallRequest, "Answer a ringing call on this device (the first answer wins)")
async def answer(session: Session, request: CallRequest) -> Result:
    device = await _device(session)
    service = _service(session)
    assert session.principal is not None
    call = await service.answer(session.principal, device.id, request.call_id)
    return {"call": call.to_dict(), "ice_servers": service.ice_servers(session.person_id)}


@calls.command("call.resume", CallRequest, "Carry on an answered call on this (reconnected) socket")
async def resume(session: Session, request: CallRequest) -> Result:
    device = await _device(session)
    service = _service(session)
    assert session.principal is not None
    call = await service.resume(session.principal, device.id, request.call_id)
    return {"call": call.to_dict(), "ice_servers": service.ice_servers(session.person_id)}


@calls.command("call.decline", CallRequest, "Decline a ringing call")
async def decline(session: Session, request: CallRequest) -> Result:
    device = await _device(session)
    assert session.principal is not None
    call = await _service(session).decline(session.principal, device.id, request.call_id)
    return {"call": call.to_dict()}


@calls.command("call.cancel", CallRequest, "The caller hangs up before anyone answered")
async def cancel(session: Session, request: CallRequest) -> Result:
    assert session.principal is not None
    call = await _service(session).cancel(session.principal, request.call_id)
    return {"call": call.to_dict()}


@calls.command("call.hangup", CallRequest, "End a call (cancels or declines one that still rings)")
async def hangup(session: Session, request: CallRequest) -> Result:
    device = await _device(session)
    assert session.principal is not None
    call = await _service(session).hangup(session.principal, device.id, request.call_id)
    return {"call": call.to_dict()}


@calls.command("call.signal", SignalRequest, "Relay an SDP offer/answer or an ICE candidate to the other end")
async def signal(session: Session, request: SignalRequest) -> Result:
    device = await _device(session)
    assert session.principal is not None
    service = _service(session)
    limit = session.app[keys.SETTINGS].signaling.max_sdp_bytes
    if request.description is not None and len(request.description.sdp.encode()) > limit:
        raise PayloadTooLarge("sdp_too_large", f"an SDP may have at most {limit} bytes")
    other = await service.relay_target(session.principal, device.id, request.call_id)
    message: Message = {"event": "call.signal", "call_id": request.call_id}
    if request.description is not None:
        message["description"] = request.description.model_dump()
    if request.candidate is not None:
        message["candidate"] = request.candidate.model_dump()
    await service.bus.publish(device_channel(other), message)
    return {}


@calls.command("call.to_meeting", ToMeetingRequest,
               "Add a third person: the call becomes a meeting on the SFU, both ends move there, the third is invited")
async def to_meeting(session: Session, request: ToMeetingRequest) -> Result:
    await _device(session)
    principal = session.principal
    assert principal is not None
    service, meetings = _service(session), session.app[keys.MEETINGS]
    call, third = await service.meeting_parties(principal, request.call_id, request.person)
    policy.require(policy.can_create_meeting(principal), "meeting_forbidden", "you may not start meetings")
    assert call.answered_by is not None
    names = await service.directory.people([call.caller_id, call.answered_by])
    now = service.clock.now()
    meeting = await meetings.create(principal, NewMeeting(
        title=" · ".join(p.name for p in (names.get(call.caller_id), names.get(call.answered_by), third) if p),
        chair_id=principal.id, starts_at=now, ends_at=now + MEETING_LENGTH,
        invited_people=(call.caller_id, call.answered_by, third.id), lobby=False,
    ))
    ended = await service.mark_meeting(principal, call.id, meeting.id)
    url = f"/meetings/{meeting.id}"
    by = {"id": principal.id, "name": principal.person.name, "unit_name": principal.org_unit.name}
    await service.bus.publish(person_channel(third.id), {"event": "call.meeting_invite", "meeting_id": meeting.id,
                                                         "title": meeting.title, "url": url, "by": by})
    log.info("call %s became meeting %s with %s", call.id, meeting.id, third.id)
    return {"call": ended.to_dict(), "meeting_id": meeting.id, "url": url}

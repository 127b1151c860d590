"""The meeting messages of /ws: join and leave, SDP and ICE, media state, hands, chat, moderation.

Handlers are thin: the schema is checked by the dispatcher, the session's MeetingRoom (found through MeetingRooms)
does the work, HubError refuses.
Every message and event here is documented in docs/signaling.md (generated: `python -m signaling.docgen`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub import keys
from hub.errors import HubError
from signaling.meeting_events import EVENTS
from signaling.meeting_room import not_joined
from signaling.meeting_rooms import MeetingRooms
from signaling.participants import Member, Order
from signaling.protocol import Commands, Request, Result
from signaling.session import Session

commands = Commands("meetings")

MAX_VISIBLE = 25
MeetingId = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
ParticipantId = Field(min_length=1, max_length=64)


class MeetingRequest(Request):
    meeting_id: str = MeetingId


class JoinRequest(MeetingRequest):
    # After a reconnect: the participant id this tab had, so the old one is removed at once (same person only).
    replaces: str | None = Field(None, max_length=64)
    # the microphone and camera as the person comes in (the others see it so from the first moment)
    audio: bool = True
    video: bool = True


class SdpRequest(MeetingRequest):
    sdp: str = Field(min_length=1)


class OfferRequest(SdpRequest):
    # mid or msid track id -> "camera" | "microphone" | "screen"
    sources: dict[str, Literal["camera", "microphone", "screen"]] = Field(default_factory=dict, max_length=16)


class Candidate(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(None, max_length=64)  # noqa: N815 - the browser's RTCIceCandidateInit names
    sdpMLineIndex: int | None = Field(None, ge=0, le=1024)  # noqa: N815
    usernameFragment: str | None = Field(None, max_length=256)  # noqa: N815


class CandidateRequest(MeetingRequest):
    # null: the client finished gathering
    candidate: Candidate | None


class MediaStateRequest(MeetingRequest):
    audio: bool | None = None
    video: bool | None = None


class ViewRequest(MeetingRequest):
    # the participants whose tiles are on screen, most important first: a gallery page holds at most 25
    visible: list[str] = Field(default_factory=list, max_length=MAX_VISIBLE)
    # fewer videos than the hub's meetings.last_n (a phone-sized page)
    last_n: int | None = Field(None, ge=0, le=MAX_VISIBLE)

    @field_validator("visible")
    @classmethod
    def _ids(cls, visible: list[str]) -> list[str]:
        if any(not 1 <= len(p) <= 64 for p in visible):
            raise ValueError("participant ids are 1 to 64 characters")
        if len(set(visible)) != len(visible):
            raise ValueError("a participant is named twice")
        return visible


class ChatRequest(MeetingRequest):
    text: str = Field(min_length=1, max_length=2000)


class TargetRequest(MeetingRequest):
    participant_id: str = ParticipantId


class MuteRequest(TargetRequest):
    kind: Literal["audio", "video"] = "audio"


class MuteAllRequest(MeetingRequest):
    kind: Literal["audio", "video"] = "audio"


class LockRequest(MeetingRequest):
    locked: bool


def rooms(session: Session) -> MeetingRooms:
    return session.app[keys.MEETING_ROOMS]


def joined(session: Session, request: MeetingRequest) -> Member:
    """The session's membership in the request's meeting, or `not_joined`."""
    return rooms(session).joined(session, request.meeting_id)


def _check_sdp(session: Session, sdp: str) -> None:
    limit = session.app[keys.SETTINGS].signaling.max_sdp_bytes
    if len(sdp.encode()) > limit:
        raise HubError("sdp_too_large", f"an SDP may be at most {limit} bytes", 413)


@commands.command("meeting.join", JoinRequest, "Join a meeting; result status `joined` or `lobby`")
async def join(session: Session, request: JoinRequest) -> Result:
    return await rooms(session).join(session, request.meeting_id, request.replaces, audio=request.audio,
                                     video=request.video)


@commands.command("meeting.leave", MeetingRequest, "Leave the meeting (or its lobby)")
async def leave(session: Session, request: MeetingRequest) -> Result:
    member = rooms(session).member_of(session)
    if member is None or member.room.meeting_id != request.meeting_id:
        raise not_joined(request.meeting_id)
    await rooms(session).leave(session, "left")
    return {}


@commands.command("sdp.offer", OfferRequest, "The client's offer (its published tracks); result: the answer SDP")
async def offer(session: Session, request: OfferRequest) -> Result:
    _check_sdp(session, request.sdp)
    member = joined(session, request)
    answer = await member.room.offer(member, request.sdp, request.sources)
    return {"sdp": answer}


@commands.command("sdp.answer", SdpRequest, "The client's answer to a server offer (event sdp.offer)")
async def answer(session: Session, request: SdpRequest) -> Result:
    _check_sdp(session, request.sdp)
    member = joined(session, request)
    await member.room.answer(member, request.sdp)
    return {}


@commands.command("ice.candidate", CandidateRequest, "A trickled ICE candidate of the client (null: gathering done)")
async def candidate(session: Session, request: CandidateRequest) -> Result:
    member = joined(session, request)
    value: dict[str, Any] | None = request.candidate.model_dump() if request.candidate is not None else None
    await member.room.candidate(member, value)
    return {}


@commands.command("media.state", MediaStateRequest, "Say whether the microphone / camera is on (mute, camera off)")
async def media_state(session: Session, request: MediaStateRequest) -> Result:
    changes = {k: v for k, v in (("audio", request.audio), ("video", request.video)) if v is not None}
    member = joined(session, request)
    if "audio" in changes:
        member.called_unmuted = False  # the participant's own choice: a roll call moving on leaves it alone
    return {"participant": await member.room.update_self(member, **changes)}


@commands.command("media.view", ViewRequest,
                  "Say whose tiles are on screen (and perhaps fewer videos): the receive slots follow (media.slots)")
async def media_view(session: Session, request: ViewRequest) -> Result:
    member = joined(session, request)
    await member.room.view(member, request.visible, request.last_n)
    return {}


@commands.command("screen.start", MeetingRequest, "Say a screen share starts (its track comes by renegotiation)")
async def screen_start(session: Session, request: MeetingRequest) -> Result:
    member = joined(session, request)
    return {"participant": await member.room.update_self(member, screen=True)}


@commands.command("screen.stop", MeetingRequest, "Say the screen share stopped")
async def screen_stop(session: Session, request: MeetingRequest) -> Result:
    member = joined(session, request)
    return {"participant": await member.room.update_self(member, screen=False)}


@commands.command("hand.raise", MeetingRequest, "Raise one's hand")
async def hand_raise(session: Session, request: MeetingRequest) -> Result:
    member = joined(session, request)
    return {"participant": await member.room.update_self(member, hand=True)}


@commands.command("hand.lower", MeetingRequest, "Lower one's hand")
async def hand_lower(session: Session, request: MeetingRequest) -> Result:
    member = joined(session, request)
    return {"participant": await member.room.update_self(member, hand=False)}


@commands.command("chat.send", ChatRequest, "Send a chat message to the meeting (stored for late joiners)")
async def chat_send(session: Session, request: ChatRequest) -> Result:
    joined(session, request)
    assert session.principal is not None
    message = await rooms(session).service.chat(session.principal, request.meeting_id, request.text)
    return {"message": message.to_dict()}


@commands.command("moderator.mute", MuteRequest, "Chair: mute a participant's microphone or camera")
async def moderator_mute(session: Session, request: MuteRequest) -> Result:
    member = joined(session, request)
    await member.room.order(member, request.participant_id, Order.MUTE, kind=request.kind)
    return {}


@commands.command("moderator.remove", TargetRequest, "Chair: remove a participant (back only through the lobby)")
async def moderator_remove(session: Session, request: TargetRequest) -> Result:
    member = joined(session, request)
    await member.room.order(member, request.participant_id, Order.REMOVE)
    return {}


@commands.command("moderator.mute_all", MuteAllRequest, "Chair: mute everybody else's microphone (or camera)")
async def moderator_mute_all(session: Session, request: MuteAllRequest) -> Result:
    member = joined(session, request)
    return {"count": await member.room.order_all(member, Order.MUTE, kind=request.kind)}


@commands.command("moderator.unmute_all", MeetingRequest, "Chair: turn everybody else's microphone on")
async def moderator_unmute_all(session: Session, request: MeetingRequest) -> Result:
    member = joined(session, request)
    return {"count": await member.room.order_all(member, Order.UNMUTE)}


@commands.command("floor.request", MeetingRequest, "Ask the chair for the floor (申请发言); once until answered")
async def floor_request(session: Session, request: MeetingRequest) -> Result:
    member = joined(session, request)
    return {"request": await rooms(session).floor.request(request.meeting_id, member.participant.to_json())}


@commands.command("floor.cancel", MeetingRequest, "Take one's request for the floor back")
async def floor_cancel(session: Session, request: MeetingRequest) -> Result:
    member = joined(session, request)
    return {"cancelled": await rooms(session).floor.cancel(request.meeting_id, member.participant_id)}


@commands.command("moderator.grant_floor", TargetRequest,
                  "Chair: give the floor to a request (called on: seen and heard by all, microphone on)")
async def moderator_grant_floor(session: Session, request: TargetRequest) -> Result:
    joined(session, request)
    assert session.principal is not None
    return await rooms(session).floor.grant(session.principal, request.meeting_id, request.participant_id)


@commands.command("moderator.decline_floor", TargetRequest, "Chair: turn a request for the floor down")
async def moderator_decline_floor(session: Session, request: TargetRequest) -> Result:
    joined(session, request)
    assert session.principal is not None
    await rooms(session).floor.decline(session.principal, request.meeting_id, request.participant_id)
    return {}


@commands.command("moderator.admit", TargetRequest, "Chair: let someone in from the lobby")
async def moderator_admit(session: Session, request: TargetRequest) -> Result:
    member = joined(session, request)
    await member.room.order(member, request.participant_id, Order.ADMIT)
    return {}


@commands.command("moderator.deny", TargetRequest, "Chair: turn someone in the lobby away")
async def moderator_deny(session: Session, request: TargetRequest) -> Result:
    member = joined(session, request)
    await member.room.order(member, request.participant_id, Order.DENY)
    return {}


@commands.command("moderator.lock", LockRequest, "Chair: lock (no one new without the chair) or unlock")
async def moderator_lock(session: Session, request: LockRequest) -> Result:
    joined(session, request)
    assert session.principal is not None
    meeting = await rooms(session).service.set_locked(session.principal, request.meeting_id, request.locked)
    return {"meeting": meeting.to_dict()}


@commands.command("moderator.end", MeetingRequest, "Chair: end the meeting for everybody")
async def moderator_end(session: Session, request: MeetingRequest) -> Result:
    joined(session, request)
    assert session.principal is not None
    meeting = await rooms(session).service.end(session.principal, request.meeting_id)
    return {"meeting": meeting.to_dict()}


# --- events (schemas in signaling/meeting_events.py) ------------------------------------------------------

for _name, _schema, _summary in EVENTS:
    commands.event(_name, _schema, _summary)

"""The events of meetings on /ws: their schemas and summaries (docs/signaling.md is generated from them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.meetings.responses import MeetingStageParticipant  # as the REST stage answer gives it
from signaling.participants import Participant


class Track(BaseModel):
    track_id: str = Field(description="the msid track id of the stream the subscriber receives")
    participant_id: str
    kind: Literal["audio", "video"]
    source: Literal["camera", "microphone", "screen"]


class ParticipantEvent(BaseModel):
    participant: Participant


class LeftEvent(BaseModel):
    participant_id: str
    person_id: str
    reason: str = Field(description="left, disconnected, removed, replaced, rejoined, ended, media_failed, "
                                    "node_lost (its node died), ...")


class LobbyLeftEvent(BaseModel):
    participant_id: str
    reason: str


class TrackEvent(BaseModel):
    track: Track


class SpeakerEvent(BaseModel):
    participant_id: str | None
    previous: str | None


class ChatMessageModel(BaseModel):
    id: int
    meeting_id: str
    person_id: str
    name: str
    text: str
    sent_at: str


class ChatEvent(BaseModel):
    message: ChatMessageModel


class MeetingEvent(BaseModel):
    meeting: dict[str, Any]


class EndedEvent(BaseModel):
    meeting_id: str
    reason: Literal["ended", "cancelled", "empty"] = Field(
        description="the chair ended it, the organizer cancelled it, or it ended by itself: nobody was in it after "
                    "its scheduled end, or for meetings.empty_end_after seconds")
    by: str | None = None


class OfferEvent(BaseModel):
    meeting_id: str
    sdp: str


class MutedEvent(BaseModel):
    meeting_id: str
    kind: Literal["audio", "video"]
    by: str | None
    reason: Literal["spotlight_ended"] | None = Field(
        None, description="spotlight_ended: the roll call that had switched your microphone on moved on")


class UnmutedEvent(BaseModel):
    meeting_id: str
    by: str | None
    reason: Literal["spotlight", "unmuted"] = Field(description="the chair called on you, or unmuted everybody")


class StageEvent(BaseModel):
    spotlight: MeetingStageParticipant | None = Field(description="who everybody sees and hears now; null: nobody")
    by: str | None = Field(description="the chair who called or cleared; null: the hub cleared it")
    reason: Literal["left"] | None = Field(None, description="left: the spotlighted participant left the meeting")


class MainVenueEvent(BaseModel):
    main: MeetingStageParticipant | None = Field(
        description="who stands for the main venue (主会场) now, always seen and heard; null: not there or none")


class FloorRequest(MeetingStageParticipant):
    requested_at: float


class FloorRequestedEvent(BaseModel):
    request: FloorRequest


class FloorCancelledEvent(BaseModel):
    participant_id: str
    reason: Literal["cancelled", "left"]


class FloorAnsweredEvent(BaseModel):
    participant_id: str
    by: str


class RemovedEvent(BaseModel):
    meeting_id: str
    by: str


class SelfLeftEvent(BaseModel):
    meeting_id: str
    reason: str = Field(description="replaced, or media_<reason> when the media connection failed: join again")


class DeniedEvent(BaseModel):
    meeting_id: str
    reason: str


class AdmittedEvent(BaseModel):
    status: Literal["joined"]
    participant_id: str
    meeting: dict[str, Any]
    participants: list[Participant]
    tracks: list[Track]
    chat: list[ChatMessageModel]


class Slot(BaseModel):
    slot_id: str = Field(description="the msid (stream and track id) of the slot's m-line: video-0, audio-2, ...")
    mid: str | None
    kind: Literal["audio", "video"]
    track: Track | None = Field(description="the published track the slot carries now; null: nothing")


class SlotsEvent(BaseModel):
    meeting_id: str
    slots: list[Slot]


class PauseEvent(BaseModel):
    meeting_id: str
    track: Track = Field(description="one of your own published videos")
    paused: bool = Field(description="true: nobody receives it, stop sending it; false: send it again")


class RecordingModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    meeting_id: str
    status: Literal["recording", "composing", "ready", "failed", "deleted"]
    started_at: str
    stopped_at: str | None
    stop_reason: str | None = Field(description="chair, meeting_ended, disk_full, write_error, interrupted")
    url: str = Field(description="the playback page")


class RecordingEvent(BaseModel):
    recording: RecordingModel
    by: str | None = Field(None, description="who started or stopped it (null: the meeting's setting, or the hub)")
    reason: str | None = Field(None, description="recording.stopped: why (as stop_reason)")


class ForwardedEvent(BaseModel):
    model_config = ConfigDict(extra="allow")


EVENTS: list[tuple[str, type[BaseModel], str]] = [
    ("participant.joined", ParticipantEvent, "Someone came into the meeting"),
    ("participant.updated", ParticipantEvent, "Mute, camera, screen share or raised hand changed"),
    ("participant.left", LeftEvent, "Someone left (or was removed, or lost the connection)"),
    ("lobby.waiting", ParticipantEvent, "Someone waits in the lobby (the chair admits or denies)"),
    ("lobby.left", LobbyLeftEvent, "Someone left the lobby (admitted, denied or gone)"),
    ("lobby.admitted", AdmittedEvent, "To the waiter: you are in; same fields as the meeting.join result"),
    ("lobby.denied", DeniedEvent, "To the waiter: the chair turned you away"),
    ("track.published", TrackEvent, "A participant's camera, microphone or screen track is forwarded"),
    ("track.unpublished", TrackEvent, "A track stopped"),
    ("speaker.active", SpeakerEvent, "The active speaker changed (from the audio-level header extension)"),
    ("chat.message", ChatEvent, "A chat message"),
    ("meeting.updated", MeetingEvent, "The meeting changed (locked, live, details)"),
    ("meeting.ended", EndedEvent, "The chair ended (or the organizer cancelled) the meeting; everyone is out"),
    ("sdp.offer", OfferEvent, "A server offer (tracks came or went): answer with sdp.answer"),
    ("media.slots", SlotsEvent,
     "What each of your receive slots carries now (meetings.last_n > 0): show a slot's track on that tile"),
    ("media.pause", PauseEvent,
     "Nobody receives one of your videos: stop sending it (encoding inactive) until told to send it again"),
    ("moderator.muted", MutedEvent,
     "To the participant: the chair muted your microphone or camera, or the roll call that called on you moved on"),
    ("moderator.unmuted", UnmutedEvent,
     "To the participant: your microphone is on (the chair called on you, or unmuted everybody)"),
    ("floor.requested", FloorRequestedEvent, "Someone asked for the floor (the queue is in the join result)"),
    ("floor.cancelled", FloorCancelledEvent, "A request for the floor was taken back, or its participant left"),
    ("floor.granted", FloorAnsweredEvent, "The chair gave the floor (the participant is called on: stage.changed)"),
    ("floor.declined", FloorAnsweredEvent, "The chair turned a request for the floor down"),
    ("stage.changed", StageEvent,
     "Roll call: the chair spotlighted someone (shown large, heard by all; POST /api/v1/meetings/{id}/spotlight), "
     "or the spotlight was cleared (by the chair, or because its participant left)"),
    ("stage.main", MainVenueEvent,
     "The main venue is someone else now (its venue came or left, or the chair chose another main unit)"),
    ("recording.started", RecordingEvent,
     "The meeting is being recorded (POST /api/v1/meetings/{id}/recording; the join result's `recording` says so "
     "to those who come later): show it"),
    ("recording.stopped", RecordingEvent,
     "The recording stopped: by the chair, with the meeting, or by itself (disk_full, write_error, interrupted)"),
    ("recording.archived", RecordingEvent, "The recording's archive is ready to play (or failed: status)"),
    ("meeting.removed", RemovedEvent, "To the participant: the chair removed you"),
    ("meeting.left", SelfLeftEvent, "To the participant: you are out of the meeting (replaced, media failed)"),
    ("decision.recorded", ForwardedEvent,
     "Any other event published on the bus channel meeting.{id} (e.g. by supervision) is forwarded as is"),
]

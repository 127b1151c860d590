"""The conference side of live meetings, in one bundle: the stage (roll call and the main venue), requests for
the floor, attendance. Built once per app from the meetings service; live meeting rooms use all three."""

from __future__ import annotations

from dataclasses import dataclass

from hub.meetings.attendance import MeetingAttendance
from hub.meetings.floor import MeetingFloor
from hub.meetings.service import MeetingService
from hub.meetings.stage import MeetingStage


@dataclass(frozen=True)
class Conference:
    stage: MeetingStage
    floor: MeetingFloor
    attendance: MeetingAttendance

    @classmethod
    def of(cls, meetings: MeetingService) -> Conference:
        stage = MeetingStage(meetings)
        return cls(stage=stage, floor=MeetingFloor(meetings, stage), attendance=MeetingAttendance(meetings))

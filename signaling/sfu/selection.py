"""Which published tracks each participant receives when a room forwards through receive slots (docs/sfu.md).

Video, at most the subscriber's number of video slots, in this order: the spotlighted participant, the main
venue, screen shares, the tiles the subscriber says are visible (in its order), the most recent speakers, then
everybody else in the order they published. Audio: the loudest few plus the spotlighted participant and the
main venue. A subscriber never receives its own tracks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from signaling.sfu.events import TrackInfo, TrackSource


@dataclass
class View:
    """What one subscriber asks to see: the participants on its screen, and perhaps fewer videos than slots."""

    visible: tuple[str, ...] = ()
    last_n: int | None = None


@dataclass
class Stage:
    """Who the whole room is shown: the spotlight (roll call, floor granted) and the main venue."""

    spotlight: str | None = None
    main: str | None = None
    speakers: list[str] = field(default_factory=list)  # most recent first

    def spoke(self, participant_id: str, keep: int = 32) -> None:
        """`participant_id` became the active speaker."""
        if participant_id in self.speakers:
            self.speakers.remove(participant_id)
        self.speakers.insert(0, participant_id)
        del self.speakers[keep:]

    def forget(self, participant_id: str) -> None:
        """A participant left the room."""
        if participant_id in self.speakers:
            self.speakers.remove(participant_id)
        if self.spotlight == participant_id:
            self.spotlight = None
        if self.main == participant_id:
            self.main = None


def choose_video(subscriber: str, tracks: Iterable[TrackInfo], stage: Stage, view: View, slots: int) -> list[str]:
    """The video track ids `subscriber` receives, most important first, at most `slots` (or its view's last_n)."""
    limit = slots if view.last_n is None else max(0, min(slots, view.last_n))
    cameras: dict[str, TrackInfo] = {}
    screens: list[TrackInfo] = []
    for track in tracks:
        if track.kind != "video" or track.participant_id == subscriber:
            continue
        if track.source is TrackSource.SCREEN:
            screens.append(track)
        else:
            cameras.setdefault(track.participant_id, track)
    chosen: list[str] = []

    def add(track: TrackInfo | None) -> None:
        if track is not None and track.track_id not in chosen and len(chosen) < limit:
            chosen.append(track.track_id)

    if stage.spotlight is not None:
        add(cameras.get(stage.spotlight))
    if stage.main is not None:
        add(cameras.get(stage.main))
    for screen in screens:
        add(screen)
    for participant_id in view.visible:
        add(cameras.get(participant_id))
    for participant_id in stage.speakers:
        add(cameras.get(participant_id))
    for track in cameras.values():
        add(track)
    return chosen


def choose_audio(subscriber: str, tracks: Iterable[TrackInfo], stage: Stage, loudness: Mapping[str, float],
                 loudest: int) -> list[str]:
    """The audio track ids `subscriber` receives: the spotlight, the main venue and the `loudest` loudest."""
    microphones: dict[str, TrackInfo] = {}
    for track in tracks:
        if track.kind == "audio" and track.participant_id != subscriber:
            microphones.setdefault(track.participant_id, track)
    chosen: list[str] = []
    for participant_id in (stage.spotlight, stage.main):
        staged = microphones.get(participant_id) if participant_id is not None else None
        if staged is not None and staged.track_id not in chosen:
            chosen.append(staged.track_id)
    # ties (everyone silent) keep the most recent speakers, then the order of publishing
    recency = {p: i for i, p in enumerate(stage.speakers)}
    ranked = sorted(microphones.values(), key=lambda t: (-loudness.get(t.participant_id, 0.0),
                                                         recency.get(t.participant_id, len(recency))))
    for track in ranked[:loudest]:
        if track.track_id not in chosen:
            chosen.append(track.track_id)
    return chosen


def assign(slots: list[str | None], wanted: list[str]) -> list[str | None]:
    """New contents of a fixed set of slots: tracks that stay keep their slot, new ones fill the free slots."""
    keep = set(wanted)
    result = [track if track in keep else None for track in slots]
    placed = {track for track in result if track is not None}
    free = (i for i, track in enumerate(result) if track is None)
    for track in wanted:
        if track in placed:
            continue
        index = next(free, None)
        if index is None:
            break
        result[index] = track
        placed.add(track)
    return result

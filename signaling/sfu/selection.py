"""Which published tracks each participant receives when a room forwards through receive slots (docs/sfu.md).

Video, at most the subscriber's number of video slots, in this order: the spotlighted participant, the main
venue, screen shares, the tiles the subscriber says are visible (in its order), the most recent speakers, then
everybody else in the order they published. The stage is sent at its full frame rate, and so are the tiles
when there are few of them; small tiles get only the base temporal layer (Candidates.small). Audio: the
loudest few plus the spotlighted participant and the main venue, of the microphones that are not muted (a muted
microphone is not forwarded at all: its packets are silence, and a muted participant is not heard whatever its
client sends). A subscriber never receives its own tracks.
"""

from __future__ import annotations

import itertools
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
    muted: set[str] = field(default_factory=set)  # participants whose microphone is off (by themselves or the chair)

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
        self.muted.discard(participant_id)


class Candidates:
    """The room's tracks in order of importance, worked out once per selection round for every subscriber: each
    subscriber then takes its first few (never its own), so a round costs the slots, not the room's size."""

    def __init__(self, tracks: Iterable[TrackInfo], stage: Stage, loudness: Mapping[str, float]) -> None:
        self.stage = stage
        self.cameras: dict[str, TrackInfo] = {}  # participant -> its first camera, in publishing order
        self.screens: list[TrackInfo] = []
        microphones: dict[str, TrackInfo] = {}
        for track in tracks:
            if track.kind == "audio":
                if track.participant_id not in stage.muted:
                    microphones.setdefault(track.participant_id, track)
            elif track.source is TrackSource.SCREEN:
                self.screens.append(track)
            else:
                self.cameras.setdefault(track.participant_id, track)
        self.microphones = microphones
        # the stage's videos (spotlight, main venue, screen shares): always large, the same for every subscriber
        self.staged = {self.cameras[p].track_id for p in (stage.spotlight, stage.main) if p in self.cameras}
        self.staged.update(track.track_id for track in self.screens)
        # ties (everyone silent) keep the most recent speakers, then the order of publishing
        recency = {p: i for i, p in enumerate(stage.speakers)}
        self.ranked_microphones = sorted(microphones.values(), key=lambda t: (
            -loudness.get(t.participant_id, 0.0), recency.get(t.participant_id, len(recency))))

    def video(self, subscriber: str, view: View, slots: int) -> list[str]:
        """The video track ids `subscriber` receives, most important first, at most `slots` (or its view's last_n).

        Order: the spotlighted participant, the main venue, screen shares, the tiles the subscriber says are
        visible (in its order), the most recent speakers, then everybody else in the order they published."""
        limit = slots if view.last_n is None else max(0, min(slots, view.last_n))
        chosen: list[str] = []
        if not limit:
            return chosen
        stage, cameras = self.stage, self.cameras

        def people(ids: Iterable[str | None]) -> Iterable[TrackInfo]:
            return (cameras[p] for p in ids if p is not None and p in cameras)

        ordered = itertools.chain(people((stage.spotlight, stage.main)), self.screens, people(view.visible),
                                  people(stage.speakers), cameras.values())
        for track in ordered:
            if track.participant_id != subscriber and track.track_id not in chosen:
                chosen.append(track.track_id)
                if len(chosen) == limit:
                    break
        return chosen

    def small(self, chosen: list[str], view: View, full_rate_tiles: int) -> set[str]:
        """Of the videos chosen for a subscriber, those it shows as small tiles, which get only their publisher's
        base temporal layer. The stage (spotlight, main venue, screen shares) is always shown large. Of the other
        tiles, those the subscriber says are visible are large when there are at most `full_rate_tiles` of them
        (a page of 4); tiles received beyond its view, or all of them without a view when there are more than
        `full_rate_tiles`, are small."""
        tiles = [t for t in chosen if t not in self.staged]
        if view.visible:
            visible = {self.cameras[p].track_id for p in view.visible if p in self.cameras}
            large = visible if len(visible) <= full_rate_tiles else set()
        else:
            large = set(tiles) if len(tiles) <= full_rate_tiles else set()
        return {t for t in tiles if t not in large}

    def audio(self, subscriber: str, loudest: int) -> list[str]:
        """The audio track ids `subscriber` receives: the spotlight's, the main venue's and the `loudest` loudest,
        of the microphones that are not muted."""
        chosen: list[str] = []
        for participant_id in (self.stage.spotlight, self.stage.main):
            staged = self.microphones.get(participant_id) if participant_id is not None else None
            if staged is not None and participant_id != subscriber and staged.track_id not in chosen:
                chosen.append(staged.track_id)
        taken = 0
        for track in self.ranked_microphones:
            if taken == loudest:
                break
            if track.participant_id == subscriber:
                continue
            taken += 1
            if track.track_id not in chosen:
                chosen.append(track.track_id)
        return chosen


def choose_video(subscriber: str, tracks: Iterable[TrackInfo], stage: Stage, view: View, slots: int) -> list[str]:
    """The video track ids `subscriber` receives, most important first (Candidates.video)."""
    return Candidates(tracks, stage, {}).video(subscriber, view, slots)


def choose_audio(subscriber: str, tracks: Iterable[TrackInfo], stage: Stage, loudness: Mapping[str, float],
                 loudest: int) -> list[str]:
    """The audio track ids `subscriber` receives (Candidates.audio)."""
    return Candidates(tracks, stage, loudness).audio(subscriber, loudest)


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

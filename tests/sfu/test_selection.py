"""Who receives what through receive slots: the order of importance, the loudest microphones, stable slots."""

from __future__ import annotations

from signaling.sfu import TrackInfo, TrackSource
from signaling.sfu.selection import Candidates, Stage, View, assign, choose_audio, choose_video


def camera(who: str) -> TrackInfo:
    return TrackInfo(f"{who}-cam", who, "video", TrackSource.CAMERA)


def microphone(who: str) -> TrackInfo:
    return TrackInfo(f"{who}-mic", who, "audio", TrackSource.MICROPHONE)


def screen(who: str) -> TrackInfo:
    return TrackInfo(f"{who}-screen", who, "video", TrackSource.SCREEN)


VENUES = [f"v{i:02d}" for i in range(90)]
TRACKS = [t for v in VENUES for t in (camera(v), microphone(v))]


def test_video_in_order_of_importance_and_never_ones_own() -> None:
    stage = Stage(spotlight="v50", main="v00")
    stage.spoke("v70")
    stage.spoke("v71")  # most recent first
    tracks = [*TRACKS, screen("v30")]
    chosen = choose_video("v05", tracks, stage, View(visible=("v05", "v10", "v11")), slots=9)
    assert chosen[:7] == ["v50-cam", "v00-cam", "v30-screen", "v10-cam", "v11-cam", "v71-cam", "v70-cam"]
    assert len(chosen) == 9 and "v05-cam" not in chosen
    # the spotlight sees the main venue first, not itself
    assert choose_video("v50", tracks, stage, View(), slots=2) == ["v00-cam", "v30-screen"]


def test_a_smaller_view_and_fewer_slots_get_fewer_videos() -> None:
    stage = Stage(main="v00")
    assert choose_video("v01", TRACKS, stage, View(last_n=1), slots=9) == ["v00-cam"]
    assert choose_video("v01", TRACKS, stage, View(last_n=0), slots=9) == []
    assert len(choose_video("v01", TRACKS, stage, View(last_n=25), slots=9)) == 9


def test_audio_is_the_loudest_plus_spotlight_and_main() -> None:
    stage = Stage(spotlight="v50", main="v00")
    loudness = {"v10": 60.0, "v11": 90.0, "v12": 75.0, "v13": 10.0}
    chosen = choose_audio("v01", TRACKS, stage, loudness, loudest=3)
    assert chosen == ["v50-mic", "v00-mic", "v11-mic", "v12-mic", "v10-mic"]
    # in silence the most recent speakers are kept
    stage = Stage()
    stage.spoke("v40")
    assert choose_audio("v01", TRACKS, stage, {}, loudest=1) == ["v40-mic"]
    assert choose_audio("v40", TRACKS, stage, {}, loudest=1) == ["v00-mic"]


def test_a_muted_microphone_is_forwarded_to_nobody() -> None:
    # the chair muted everyone but the main venue (全体静音), then called on v50: only those two are heard,
    # however loud the muted ones' packets say they are
    stage = Stage(spotlight="v50", main="v00")
    stage.muted = {f"v{i:02d}" for i in range(1, 90)} - {"v50"}
    loudness = {"v10": 60.0, "v11": 90.0, "v12": 75.0}
    assert choose_audio("v01", TRACKS, stage, loudness, loudest=3) == ["v50-mic", "v00-mic"]
    stage.muted.add("v50")  # muted again: not even the spotlight is forwarded
    assert choose_audio("v01", TRACKS, stage, loudness, loudest=3) == ["v00-mic"]
    stage.forget("v50")
    assert "v50" not in stage.muted


def test_slots_keep_what_stays_and_fill_what_is_free() -> None:
    assert assign([None, None, None], ["a", "b"]) == ["a", "b", None]
    assert assign(["a", "b", "c"], ["c", "d", "a"]) == ["a", "d", "c"]
    assert assign(["a", None], ["x", "y", "z"]) == ["x", "y"]
    assert assign(["a", "b"], []) == [None, None]


def test_stage_forgets_who_left() -> None:
    stage = Stage(spotlight="v1", main="v2")
    stage.spoke("v1")
    stage.forget("v1")
    stage.forget("v2")
    assert (stage.spotlight, stage.main, stage.speakers) == (None, None, [])
    for i in range(40):
        stage.spoke(f"s{i}")
    assert len(stage.speakers) == 32 and stage.speakers[0] == "s39"


def test_the_stage_is_large_and_many_tiles_are_small() -> None:
    stage = Stage(spotlight="v50", main="v00")
    candidates = Candidates(TRACKS + [screen("v07")], stage, {})
    chosen = candidates.video("v01", View(), slots=9)
    small = candidates.small(chosen, View(), full_rate_tiles=4)
    # the stage (spotlight, main venue, a screen share) at the full frame rate; six more tiles are small
    assert set(chosen) - small == {"v50-cam", "v00-cam", "v07-screen"} and len(small) == 6
    # a page of four visible tiles: those are large, what fills the rest of the slots is small
    view = View(visible=("v20", "v21", "v22", "v23"))
    chosen = candidates.video("v01", view, slots=9)
    small = candidates.small(chosen, view, full_rate_tiles=4)
    assert set(chosen) - small == {"v50-cam", "v00-cam", "v07-screen", "v20-cam", "v21-cam", "v22-cam", "v23-cam"}
    # few videos (a phone, or a small meeting): nothing small
    chosen = candidates.video("v01", View(last_n=4), slots=9)
    assert candidates.small(chosen, View(last_n=4), full_rate_tiles=4) == set()
    # a page of nine: all its tiles small
    view = View(visible=tuple(f"v{i}" for i in range(20, 29)))
    chosen = candidates.video("v01", view, slots=12)
    assert candidates.small(chosen, view, full_rate_tiles=4) == {f"v{i}-cam" for i in range(20, 29)}

"""Conference controls: roll call (spotlight), mute all and unmute all, venues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.notifications.model import Subject
from signaling.client import MeetingClient
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.conftest import create_meeting
from tests.meetings.test_meeting_signaling import refused, until

VENUE = "shinan-office-term"  # 市南区政府办公室视频终端, a meeting-room terminal


async def spotlight(hub: Hub, meeting_id: str, who: str | None, *, by: str = "p-xie") -> Any:
    path = f"/api/v1/meetings/{meeting_id}/spotlight"
    if who is None:
        return await hub.client.delete(path, headers=hub.auth(by))
    return await hub.client.post(path, json={"person": who}, headers=hub.auth(by))


async def test_roll_call_spotlights_a_venue_and_turns_its_microphone_on(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office"])
    chair, member, venue = [await signaling(p) for p in ("p-xie", "pub-util-04", VENUE)]
    for client in (chair, member):
        await client.request("meeting.join", meeting_id=meeting["id"])
    joined = await venue.request("meeting.join", meeting_id=meeting["id"])
    assert joined["stage"] == {"spotlight": None, "main": None}
    shown = await until(chair, "participant.joined", VENUE)
    assert shown["participant"]["venue"] is True and shown["participant"]["org_unit_name"] == "市南区政府办公室"
    await venue.request("media.state", meeting_id=meeting["id"], audio=False)

    response = await spotlight(hub, meeting["id"], VENUE)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["spotlight"]["participant_id"] == joined["participant_id"] and body["spotlight"]["venue"] is True
    for client in (chair, member, venue):
        changed = await client.event("stage.changed")
        assert changed["spotlight"]["person_id"] == VENUE and changed["by"] == "p-xie"
    unmuted = await venue.event("moderator.unmuted")
    assert unmuted["reason"] == "spotlight" and unmuted["by"] == "p-xie"
    present = {p["person_id"]: p for p in await hub.app[keys.MEETINGS].participants(meeting["id"])}
    assert present[VENUE]["audio"] is True
    # the media's room forwards the spotlight to everybody; a late joiner learns it at once
    room = hub.app[keys.MEETING_ROOMS].rooms[meeting["id"]]
    assert room.sfu_room is not None and room.sfu_room.stage.spotlight == joined["participant_id"]
    late = await signaling("pub-util-05")
    assert (await late.request("meeting.join", meeting_id=meeting["id"]))["stage"]["spotlight"]["person_id"] == VENUE

    # the next roll call replaces it, and the venue it had switched on is muted again; one that was speaking
    # anyway when called stays as it was when the roll call moves on; clearing it goes back to everyone's view
    assert (await spotlight(hub, meeting["id"], "pub-util-04")).status == 200
    assert (await chair.event("stage.changed"))["spotlight"]["person_id"] == "pub-util-04"
    muted = await venue.event("moderator.muted")
    assert muted == {"meeting_id": meeting["id"], "kind": "audio", "by": "p-xie", "reason": "spotlight_ended"}
    present = {p["person_id"]: p for p in await hub.app[keys.MEETINGS].participants(meeting["id"])}
    assert present[VENUE]["audio"] is False and present["pub-util-04"]["audio"] is True
    # the media's room forwards no muted microphone
    await until(chair, "participant.updated", VENUE)
    assert joined["participant_id"] in room.sfu_room.stage.muted
    cleared = await spotlight(hub, meeting["id"], None)
    assert cleared.status == 200 and (await cleared.json()) == {"spotlight": None}
    assert (await chair.event("stage.changed"))["spotlight"] is None
    assert room.sfu_room.stage.spotlight is None
    present = {p["person_id"]: p for p in await hub.app[keys.MEETINGS].participants(meeting["id"])}
    assert present["pub-util-04"]["audio"] is True


async def test_a_spotlight_does_not_outlive_the_participant(hub: Hub, signaling: Any) -> None:
    """The called venue leaves: the spotlight is cleared for everybody (no banner naming someone not there), and
    a later joiner learns there is none; a leaver who was not called changes nothing."""
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office"])
    chair, member, venue = [await signaling(p) for p in ("p-xie", "pub-util-04", VENUE)]
    for client in (chair, member, venue):
        await client.request("meeting.join", meeting_id=meeting["id"])
    assert (await spotlight(hub, meeting["id"], VENUE)).status == 200
    assert (await chair.event("stage.changed"))["spotlight"]["person_id"] == VENUE
    await member.request("meeting.leave", meeting_id=meeting["id"])
    await until(chair, "participant.left", "pub-util-04")
    assert (await hub.app[keys.CONFERENCE].stage.spotlighted(meeting["id"]))["person_id"] == VENUE
    await venue.request("meeting.leave", meeting_id=meeting["id"])
    cleared = await chair.event("stage.changed")
    assert cleared == {"spotlight": None, "by": None, "reason": "left"}
    assert await hub.app[keys.CONFERENCE].stage.spotlighted(meeting["id"]) is None
    late = await signaling("pub-util-05")
    assert (await late.request("meeting.join", meeting_id=meeting["id"]))["stage"]["spotlight"] is None


async def test_only_the_chair_calls_on_people_who_are_there(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair, member = await signaling("p-xie"), await signaling("pub-util-04")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    await member.request("meeting.join", meeting_id=meeting["id"])
    cases = [
        (await spotlight(hub, meeting["id"], "p-xie", by="pub-util-04"), 403, "not_chair"),
        (await spotlight(hub, meeting["id"], None, by="pub-util-04"), 403, "not_chair"),
        (await spotlight(hub, meeting["id"], "pub-util-05"), 404, "participant_not_found"),
        (await spotlight(hub, "no-such-meeting", "pub-util-04"), 404, "meeting_not_found"),
        (await hub.client.post(f"/api/v1/meetings/{meeting['id']}/spotlight", json={"person": ""},
                               headers=hub.auth("p-xie")), 400, None),
        (await hub.client.post(f"/api/v1/meetings/{meeting['id']}/spotlight", json={"who": "x"},
                               headers=hub.auth("p-xie")), 400, None),
        (await hub.client.post(f"/api/v1/meetings/{meeting['id']}/spotlight", json={"person": "pub-util-04"}),
         401, None),
    ]
    for response, status, code in cases:
        assert response.status == status, await response.text()
        if code:
            assert (await response.json())["error"]["code"] == code
    assert (await hub.app[keys.CONFERENCE].stage.current(meeting["id"])) == {"spotlight": None, "main": None}
    # a chair of an ended meeting calls on nobody
    await chair.request("moderator.end", meeting_id=meeting["id"])
    over = await spotlight(hub, meeting["id"], "pub-util-04")
    assert over.status == 409 and (await over.json())["error"]["code"] == "meeting_over"


async def test_mute_all_and_unmute_all(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair, *others = [await signaling(p) for p in ("p-xie", "pub-util-04", "pub-util-05")]
    for client in (chair, *others):
        await client.request("meeting.join", meeting_id=meeting["id"])
    assert (await chair.request("moderator.mute_all", meeting_id=meeting["id"])) == {"count": 2}
    for client in others:
        assert (await client.event("moderator.muted"))["kind"] == "audio"
    audio = {p["person_id"]: p["audio"] for p in await hub.app[keys.MEETINGS].participants(meeting["id"])}
    assert audio == {"p-xie": True, "pub-util-04": False, "pub-util-05": False}
    assert (await chair.request("moderator.unmute_all", meeting_id=meeting["id"])) == {"count": 2}
    for client in others:
        assert (await client.event("moderator.unmuted"))["reason"] == "unmuted"
    audio = {p["person_id"]: p["audio"] for p in await hub.app[keys.MEETINGS].participants(meeting["id"])}
    assert all(audio.values())
    assert (await refused(others[0], "moderator.mute_all", meeting_id=meeting["id"])).code == "not_chair"
    assert (await refused(others[0], "moderator.unmute_all", meeting_id=meeting["id"])).code == "not_chair"


async def test_mute_all_spares_the_main_venue(hub: Hub, signaling: Any) -> None:
    """全体静音 quiets the sub-venues: the main venue (主会场) goes on being heard."""
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office"], main_unit="shinan-office")
    chair, member, main = [await signaling(p) for p in ("p-xie", "pub-util-04", VENUE)]
    for client in (chair, member, main):
        await client.request("meeting.join", meeting_id=meeting["id"])
    assert (await chair.request("moderator.mute_all", meeting_id=meeting["id"])) == {"count": 1}
    assert (await member.event("moderator.muted"))["kind"] == "audio"
    audio = {p["person_id"]: p["audio"] for p in await hub.app[keys.MEETINGS].participants(meeting["id"])}
    assert audio == {"p-xie": True, "pub-util-04": False, VENUE: True}
    # cameras off for all is everybody's, the main venue's too
    assert (await chair.request("moderator.mute_all", meeting_id=meeting["id"], kind="video")) == {"count": 2}


@pytest.mark.media
async def test_a_called_venue_is_shown_to_everybody(aiohttp_client: Any, tmp_path: Path,
                                                    meeting_clients: Any) -> None:
    """With one video slot each, everybody's slot moves to the called venue and its video decodes."""
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, meetings={"last_n": 1, "audio_n": 1}))
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office"])
    people = ["p-xie", "pub-util-02", "pub-util-03", VENUE]
    clients: list[MeetingClient] = [meeting_clients(hub, p, meeting["id"], width=160, height=120) for p in people]
    for client in clients:
        await client.join()
    venue = clients[3]
    for client in clients:
        await client.wait(lambda c=client: len(c.slots) == 4, within=20, what="slots")  # type: ignore[misc]
    assert (await spotlight(hub, meeting["id"], VENUE)).status == 200
    for client in clients[:3]:
        await client.wait(lambda c=client: c.slot_of(str(venue.participant_id)) is not None,  # type: ignore[misc]
                          within=10, what="the venue in the slot")
        slot = client.slot_of(str(venue.participant_id))
        assert slot is not None
        frames = client.media.frames()[slot]
        await client.wait(lambda c=client, s=slot, f=frames: c.media.frames()[s] > f + 5,  # type: ignore[misc]
                          within=10, what="the venue's video decoding")
        assert client.stage["spotlight"]["person_id"] == VENUE


async def test_floor_requests_are_queued_granted_and_declined(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub, invited_units=["pub-util", "shinan-office"])
    chair, member, venue = [await signaling(p) for p in ("p-xie", "pub-util-04", VENUE)]
    ids = {}
    for person, client in (("p-xie", chair), ("pub-util-04", member), (VENUE, venue)):
        ids[person] = (await client.request("meeting.join", meeting_id=meeting["id"]))["participant_id"]
    asked = await venue.request("floor.request", meeting_id=meeting["id"])
    assert asked["request"]["person_id"] == VENUE and asked["request"]["venue"] is True
    assert (await chair.event("floor.requested"))["request"]["participant_id"] == ids[VENUE]
    # a flood of the same request: each refused, the queue unchanged, the connection open
    for _ in range(20):
        assert (await refused(venue, "floor.request", meeting_id=meeting["id"])).code == "floor_already_requested"
    await member.request("floor.request", meeting_id=meeting["id"])
    late = await signaling("pub-util-05")
    queue = (await late.request("meeting.join", meeting_id=meeting["id"]))["floor"]
    assert [r["person_id"] for r in queue] == [VENUE, "pub-util-04"]

    assert (await refused(member, "moderator.grant_floor", meeting_id=meeting["id"],
                          participant_id=ids[VENUE])).code == "not_chair"
    granted = await chair.request("moderator.grant_floor", meeting_id=meeting["id"], participant_id=ids[VENUE])
    assert granted["spotlight"]["participant_id"] == ids[VENUE]
    assert (await member.event("floor.granted"))["participant_id"] == ids[VENUE]
    assert (await venue.event("moderator.unmuted"))["reason"] == "spotlight"
    # the venue is told on every page too (a notification), the one declined below is not
    notes = await hub.app[keys.NOTIFICATIONS].listing(VENUE, subject=Subject.MEETING)
    assert [(n.kind, n.subject_id) for n in notes][:1] == [("floor_granted", meeting["id"])]
    await chair.request("moderator.decline_floor", meeting_id=meeting["id"], participant_id=ids["pub-util-04"])
    assert (await member.event("floor.declined"))["by"] == "p-xie"
    member_notes = await hub.app[keys.NOTIFICATIONS].listing("pub-util-04")
    assert "floor_granted" not in [n.kind for n in member_notes]
    assert await hub.app[keys.CONFERENCE].floor.queue(meeting["id"]) == []
    assert (await refused(chair, "moderator.decline_floor", meeting_id=meeting["id"],
                          participant_id=ids["pub-util-04"])).code == "floor_request_not_found"

    # a request goes with its participant; taking back what is not there says so
    await member.request("floor.request", meeting_id=meeting["id"])
    await member.request("meeting.leave", meeting_id=meeting["id"])
    gone = await chair.event("floor.cancelled")
    assert gone == {"participant_id": ids["pub-util-04"], "reason": "left"}
    assert await venue.request("floor.cancel", meeting_id=meeting["id"]) == {"cancelled": False}
    assert (await refused(late, "floor.request", meeting_id="no-such-meeting")).code == "not_joined"

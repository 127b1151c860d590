"""Meeting signaling without media: who gets in, the lobby, moderation, chat, refusals, bus forwarding."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from hub import keys
from hub.meetings.service import channel
from signaling.ws_client import SignalingClient, SignalingError
from tests.conftest import Hub
from tests.meetings.conftest import create_meeting, ws_url


async def until(client: SignalingClient, name: str, person: str) -> dict[str, Any]:
    """The next `name` event about `person` (events about others, e.g. oneself, are skipped)."""
    while True:
        data = await client.event(name)
        about = data.get("participant", data)
        if about.get("person_id") == person:
            return data


async def refused(client: SignalingClient, type_: str, **fields: Any) -> SignalingError:
    with pytest.raises(SignalingError) as caught:
        await client.request(type_, **fields)
    return caught.value


async def test_invited_unit_member_joins_and_everyone_hears(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    joined = await chair.request("meeting.join", meeting_id=meeting["id"])
    assert joined["status"] == "joined" and joined["moderator"] is True and joined["role"] == "chair"
    member = await signaling("pub-util-04")
    result = await member.request("meeting.join", meeting_id=meeting["id"])
    assert result["status"] == "joined" and result["moderator"] is False
    arrived = await until(chair, "participant.joined", "pub-util-04")
    assert arrived["participant"]["name"] == "周淑珍"
    assert arrived["participant"]["org_unit_name"] == "市公用事业局"

    await member.request("hand.raise", meeting_id=meeting["id"])
    updated = await until(chair, "participant.updated", "pub-util-04")
    assert updated["participant"]["hand"] is True
    await member.request("media.state", meeting_id=meeting["id"], audio=False)
    assert (await until(chair, "participant.updated", "pub-util-04"))["participant"]["audio"] is False

    sent = await member.request("chat.send", meeting_id=meeting["id"], text="收到")
    assert (await chair.event("chat.message"))["message"]["id"] == sent["message"]["id"]

    participants = await hub.app[keys.MEETINGS].participants(meeting["id"])
    assert [p["person_id"] for p in participants] == ["p-xie", "pub-util-04"]
    await member.request("meeting.leave", meeting_id=meeting["id"])
    left = await until(chair, "participant.left", "pub-util-04")
    assert left["reason"] == "left"


async def test_uninvited_with_lobby_off_is_refused(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub, lobby=False)
    outsider = await signaling("edu-02")
    error = await refused(outsider, "meeting.join", meeting_id=meeting["id"])
    assert error.code == "not_invited"
    assert await outsider.request("ping") == {}


async def test_lobby_admit_and_deny(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub, lobby=True)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    member = await signaling("pub-util-04")
    await member.request("meeting.join", meeting_id=meeting["id"])
    guest = await signaling("edu-02")
    waiting = await guest.request("meeting.join", meeting_id=meeting["id"])
    assert waiting["status"] == "lobby"
    seen = await chair.event("lobby.waiting")
    assert seen["participant"]["person_id"] == "edu-02"
    # waiting is not being in: media and chat are refused
    assert (await refused(guest, "chat.send", meeting_id=meeting["id"], text="hi")).code == "not_joined"
    await chair.request("moderator.admit", meeting_id=meeting["id"], participant_id=waiting["participant_id"])
    admitted = await guest.event("lobby.admitted")
    assert admitted["status"] == "joined"
    assert {p["person_id"] for p in admitted["participants"]} == {"p-xie", "pub-util-04", "edu-02"}
    # who waits outside is the chair's business: other participants hear of the guest once it is in
    seen_by_member = []
    while not seen_by_member or seen_by_member[-1] != ("participant.joined", "edu-02"):
        item = await asyncio.wait_for(member.events.get(), 5)
        seen_by_member.append((item["event"], item["data"].get("participant", {}).get("person_id")))
    assert not [name for name, _ in seen_by_member if name.startswith("lobby.")]

    other = await signaling("edu-03")
    second = await other.request("meeting.join", meeting_id=meeting["id"])
    assert second["status"] == "lobby"
    await chair.request("moderator.deny", meeting_id=meeting["id"], participant_id=second["participant_id"])
    denied = await other.event("lobby.denied")
    assert denied["reason"] == "denied"
    assert (await refused(other, "chat.send", meeting_id=meeting["id"], text="hi")).code == "not_joined"


async def test_chair_mutes_and_removes_and_the_removed_waits_in_the_lobby(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    member = await signaling("pub-util-05")
    joined = await member.request("meeting.join", meeting_id=meeting["id"])
    target = joined["participant_id"]

    await chair.request("moderator.mute", meeting_id=meeting["id"], participant_id=target, kind="audio")
    muted = await member.event("moderator.muted")
    assert muted["kind"] == "audio" and muted["by"] == "p-xie"
    state = {p["participant_id"]: p for p in await hub.app[keys.MEETINGS].participants(meeting["id"])}
    assert state[target]["audio"] is False

    await chair.request("moderator.remove", meeting_id=meeting["id"], participant_id=target)
    assert (await member.event("meeting.removed"))["by"] == "p-xie"
    left = await until(chair, "participant.left", "pub-util-05")
    assert left["participant_id"] == target and left["reason"] == "removed"
    assert (await refused(member, "chat.send", meeting_id=meeting["id"], text="?")).code == "not_joined"
    # back only through the lobby, even though the unit is invited
    again = await member.request("meeting.join", meeting_id=meeting["id"])
    assert again["status"] == "lobby"


async def test_moderator_actions_by_a_non_chair_are_refused(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    chair_joined = await chair.request("meeting.join", meeting_id=meeting["id"])
    member = await signaling("pub-util-04")
    await member.request("meeting.join", meeting_id=meeting["id"])
    for type_, fields in [
        ("moderator.mute", {"participant_id": chair_joined["participant_id"]}),
        ("moderator.remove", {"participant_id": chair_joined["participant_id"]}),
        ("moderator.lock", {"locked": True}),
        ("moderator.admit", {"participant_id": "x"}),
        ("moderator.deny", {"participant_id": "x"}),
        ("moderator.end", {}),
    ]:
        error = await refused(member, type_, meeting_id=meeting["id"], **fields)
        assert error.code == "not_chair", type_
    # nothing happened to the chair, the meeting goes on
    assert await chair.request("chat.send", meeting_id=meeting["id"], text="继续") != {}
    got = await hub.client.get(f"/api/v1/meetings/{meeting['id']}", headers=hub.auth("p-xie"))
    assert (await got.json())["locked"] is False


async def test_lock_sends_invited_latecomers_to_the_lobby_and_end_closes_for_all(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    member = await signaling("pub-util-04")
    await member.request("meeting.join", meeting_id=meeting["id"])
    locked = await chair.request("moderator.lock", meeting_id=meeting["id"], locked=True)
    assert locked["meeting"]["locked"] is True
    assert (await member.event("meeting.updated"))["meeting"]["locked"] is True
    late = await signaling("pub-util-05")
    assert (await late.request("meeting.join", meeting_id=meeting["id"]))["status"] == "lobby"

    await chair.request("moderator.end", meeting_id=meeting["id"])
    ended = await member.event("meeting.ended")
    assert ended["reason"] == "ended"
    assert (await late.event("meeting.ended"))["reason"] == "ended"
    assert (await refused(member, "meeting.join", meeting_id=meeting["id"])).code == "meeting_over"
    got = await hub.client.get(f"/api/v1/meetings/{meeting['id']}", headers=hub.auth("p-xie"))
    assert (await got.json())["status"] == "ended"


async def test_bad_meeting_messages_get_errors_and_others_are_unaffected(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    member = await signaling("pub-util-04")
    meeting_id = meeting["id"]
    assert (await refused(member, "sdp.offer", meeting_id=meeting_id, sdp="v=0")).code == "not_joined"
    assert (await refused(member, "meeting.join", meeting_id="no-such")).code == "meeting_not_found"
    assert (await refused(member, "meeting.join", meeting_id="../etc")).code == "invalid_message"
    assert (await refused(member, "meeting.join")).code == "invalid_message"
    await member.request("meeting.join", meeting_id=meeting_id)
    huge = "v=0\r\n" + "a=x-filler:" + "x" * 70_000 + "\r\n"
    assert (await refused(member, "sdp.offer", meeting_id=meeting_id, sdp=huge)).code == "sdp_too_large"
    assert (await refused(member, "sdp.offer", meeting_id=meeting_id, sdp="not an sdp")).code == "bad_sdp"
    assert (await refused(member, "sdp.answer", meeting_id=meeting_id, sdp="v=0")).code in {"no_offer_pending",
                                                                                          "bad_sdp"}
    bad_candidate = {"candidate": "candidate:garbage", "sdpMid": "0", "sdpMLineIndex": 0}
    assert (await refused(member, "ice.candidate", meeting_id=meeting_id, candidate=bad_candidate)).code in {
        "bad_request", "no_media_session"}
    assert (await refused(member, "chat.send", meeting_id=meeting_id, text="")).code == "invalid_message"
    assert (await refused(member, "moderator.mute", meeting_id=meeting_id, participant_id="x",
                          kind="smell")).code == "invalid_message"
    other = await create_meeting(hub, organizer="edu-01", chair="edu-01", invited_units=["edu"])
    assert (await refused(member, "chat.send", meeting_id=other["id"], text="hi")).code == "not_joined"
    assert (await refused(member, "meeting.join", meeting_id=other["id"])).code == "already_in_meeting"
    # reused id: the framework refuses it and the socket stays
    await member.send_raw(json.dumps({"id": 1, "type": "hand.raise", "meeting_id": meeting_id}))
    assert (await member.event("raw_result"))["error"]["code"] == "id_reused"
    # still in, still working, and the chair saw none of it
    await member.request("hand.raise", meeting_id=meeting_id)
    assert (await until(chair, "participant.updated", "pub-util-04"))["participant"]["hand"] is True
    assert await chair.request("ping") == {}


async def test_deactivated_person_is_refused_at_join_and_removed_when_in(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    member = await signaling("pub-util-04")
    await member.request("meeting.join", meeting_id=meeting["id"])
    token = hub.token("pub-util-05")
    await hub.app[keys.DIRECTORY].set_active("pub-util-04", False)
    left = await until(chair, "participant.left", "pub-util-04")
    assert left["reason"] == "disconnected"
    await member.closed.wait()
    assert member.close_code == 4003
    assert [p["person_id"] for p in await hub.app[keys.MEETINGS].participants(meeting["id"])] == ["p-xie"]
    # a token issued before the deactivation no longer gets anyone in
    await hub.app[keys.DIRECTORY].set_active("pub-util-05", False)
    late = SignalingClient(ws_url(hub))
    await late.connect()
    try:
        assert (await refused(late, "auth", token=token)).code == "person_inactive"
        assert (await refused(late, "meeting.join", meeting_id=meeting["id"])).code == "auth_required"
    finally:
        await late.close()


async def test_events_on_the_meeting_bus_channel_reach_participants(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    await hub.app[keys.BUS].publish(channel(meeting["id"]), {"event": "decision.recorded", "decision": {"n": 1}})
    assert (await chair.event("decision.recorded"))["decision"] == {"n": 1}


async def test_a_join_that_fails_half_way_leaves_no_trace(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    await hub.app[keys.MEETING_ROOMS].media.sfu.stop()  # type: ignore[attr-defined]
    member = await signaling("pub-util-04")
    assert (await refused(member, "meeting.join", meeting_id=meeting["id"])).code == "closed"
    assert [p["person_id"] for p in await hub.app[keys.MEETINGS].participants(meeting["id"])] == ["p-xie"]
    assert (await refused(member, "chat.send", meeting_id=meeting["id"], text="hi")).code == "not_joined"
    assert await member.request("ping") == {}



async def test_what_happens_while_joining_reaches_the_joiner_after_its_result(
        hub: Hub, signaling: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The join result is a snapshot: no event of the meeting comes before it, and none is lost after it."""
    meeting = await create_meeting(hub)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    attendance = hub.app[keys.MEETING_ROOMS].conference.attendance
    half_way, go_on = asyncio.Event(), asyncio.Event()
    arrived = attendance.arrived

    async def slow_arrival(stay: Any) -> None:
        half_way.set()
        await go_on.wait()
        await arrived(stay)

    monkeypatch.setattr(attendance, "arrived", slow_arrival)
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url(hub)) as member:
        # a raw socket: the frames in the order they came
        await member.send_json({"id": 1, "type": "auth", "token": hub.token("pub-util-04")})
        await member.send_json({"id": 2, "type": "meeting.join", "meeting_id": meeting["id"], "video": False})
        await half_way.wait()
        # the member is in the room's fan-out already, its result not yet taken: the chair mutes and writes
        await chair.request("media.state", meeting_id=meeting["id"], audio=False)
        await until(chair, "participant.updated", "p-xie")
        sent = (await chair.request("chat.send", meeting_id=meeting["id"], text="开始"))["message"]
        await chair.event("chat.message")
        go_on.set()
        before: list[str] = []
        while (frame := await member.receive_json(timeout=10)).get("id") != 2:
            if frame["type"] == "event" and frame["event"] not in ("hello", "notifications.unread"):
                before.append(frame["event"])
        assert before == [], "events reached the joiner before its join result"
        result = frame["result"]
        after = [(await member.receive_json(timeout=10))["data"] for _ in range(3)]
    # the member came in with its camera off, as it said: the others never see it on
    assert (await until(chair, "participant.joined", "pub-util-04"))["participant"]["video"] is False
    assert [m["id"] for m in result["chat"]] == [sent["id"]]
    people = {p["person_id"]: p for p in result["participants"]}
    for event in after:  # applied on the snapshot as they come
        if "participant" in event:
            people[event["participant"]["person_id"]] = event["participant"]
    assert people["p-xie"]["audio"] is False
    assert (people["pub-util-04"]["audio"], people["pub-util-04"]["video"]) == (True, False)
    assert [e["message"]["id"] for e in after if "message" in e] == [sent["id"]]

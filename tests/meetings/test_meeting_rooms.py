"""MeetingRoom: one room per live meeting on a node, opened by the first member and closed after the last."""

from __future__ import annotations

import asyncio
from typing import Any

from hub import keys
from hub.meetings.service import channel
from signaling.meeting_room import MeetingRoom
from signaling.participants import Order, OrderMessage, direct_channel
from tests.conftest import Hub
from tests.meetings.conftest import create_meeting
from tests.meetings.test_meeting_signaling import refused, until

MEMBERS = ("pub-util-04", "pub-util-05")


async def settled(predicate: Any, what: str, seconds: float = 10) -> None:
    """Until predicate() holds; the room cleans up after itself in the background."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


async def test_a_room_opens_with_the_first_member_and_closes_after_the_last(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    rooms, bus = hub.app[keys.MEETING_ROOMS], hub.app[keys.BUS]
    assert meeting["id"] not in rooms.rooms
    chair = await signaling("p-xie")
    ids = [(await chair.request("meeting.join", meeting_id=meeting["id"]))["participant_id"]]
    room = rooms.rooms[meeting["id"]]
    assert isinstance(room, MeetingRoom) and room.sfu_room is not None  # the media is hosted on this node
    clients = [await signaling(person) for person in MEMBERS]
    for client in clients:
        ids.append((await client.request("meeting.join", meeting_id=meeting["id"]))["participant_id"])
    assert rooms.rooms[meeting["id"]] is room and set(room.members) == set(ids)
    # one follower of the meeting's channel on this node fans events out to everyone in it
    assert bus.local_subscribers(channel(meeting["id"])) == 1
    sent = await clients[0].request("chat.send", meeting_id=meeting["id"], text="收到")
    for client in (chair, clients[1]):
        assert (await client.event("chat.message"))["message"]["id"] == sent["message"]["id"]

    for client in clients:
        await client.request("meeting.leave", meeting_id=meeting["id"])
    assert set(room.members) == {ids[0]} and not room.stopped
    await chair.request("meeting.leave", meeting_id=meeting["id"])
    await settled(lambda: room.stopped and meeting["id"] not in rooms.rooms, "the empty room closed")
    assert bus.local_subscribers(channel(meeting["id"])) == 0
    assert bus.local_subscribers(direct_channel(meeting["id"], ids[0])) == 0
    assert meeting["id"] not in hub.app[keys.MEETING_ROOMS].sfu.rooms

    # the next join opens a fresh room
    again = await chair.request("meeting.join", meeting_id=meeting["id"])
    assert again["status"] == "joined" and rooms.rooms[meeting["id"]] is not room


async def test_rooms_of_two_meetings_keep_their_events_apart(hub: Hub, signaling: Any) -> None:
    first, second = await create_meeting(hub), await create_meeting(hub, title="第二个会")
    chair, member = await signaling("p-xie"), await signaling("pub-util-04")
    await chair.request("meeting.join", meeting_id=first["id"])
    await member.request("meeting.join", meeting_id=second["id"])
    rooms = hub.app[keys.MEETING_ROOMS].rooms
    assert rooms[first["id"]] is not rooms[second["id"]]
    await member.request("chat.send", meeting_id=second["id"], text="只在第二个会")
    assert (await member.event("chat.message"))["message"]["text"] == "只在第二个会"
    await chair.request("chat.send", meeting_id=first["id"], text="第一个会")
    # the chair's next chat message is its own: the second meeting's never reached it
    assert (await chair.event("chat.message"))["message"]["text"] == "第一个会"


async def test_a_session_in_a_meeting_cannot_join_another(hub: Hub, signaling: Any) -> None:
    first, second = await create_meeting(hub), await create_meeting(hub)
    chair = await signaling("p-xie")
    await chair.request("meeting.join", meeting_id=first["id"])
    assert (await refused(chair, "meeting.join", meeting_id=second["id"])).code == "already_in_meeting"
    assert second["id"] not in hub.app[keys.MEETING_ROOMS].rooms
    assert (await refused(chair, "meeting.leave", meeting_id=second["id"])).code == "not_joined"


async def test_unreadable_orders_are_ignored_and_a_forged_one_needs_no_chair(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair, member = await signaling("p-xie"), await signaling("pub-util-04")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    joined = await member.request("meeting.join", meeting_id=meeting["id"])
    target = direct_channel(meeting["id"], joined["participant_id"])
    bus = hub.app[keys.BUS]
    for junk in ({"order": "explode"}, {"order": None}, {"nothing": 1}, {"order": ["remove"]}):
        await bus.publish(target, junk)
    # orders are obeyed in the order they come: the mute after the junk arrives, the member is still in
    await bus.publish(target, OrderMessage(Order.MUTE, by="p-xie", kind="video").to_bus())
    muted = await member.event("moderator.muted")
    assert muted["kind"] == "video"
    room = hub.app[keys.MEETING_ROOMS].rooms[meeting["id"]]
    assert joined["participant_id"] in room.members
    # a participant who is not the chair gets a refusal, and nothing changes
    chair_id = next(iter(room.members))
    assert (await refused(member, "moderator.remove", meeting_id=meeting["id"],
                          participant_id=chair_id)).code == "not_chair"
    assert set(room.members) == {chair_id, joined["participant_id"]}


async def test_a_meeting_ended_by_the_chair_closes_the_room(hub: Hub, signaling: Any) -> None:
    meeting = await create_meeting(hub)
    chair, member = await signaling("p-xie"), await signaling("pub-util-04")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    await member.request("meeting.join", meeting_id=meeting["id"])
    room = hub.app[keys.MEETING_ROOMS].rooms[meeting["id"]]
    await chair.request("moderator.end", meeting_id=meeting["id"])
    assert (await member.event("meeting.ended"))["reason"] == "ended"
    await settled(lambda: room.stopped, "the ended meeting's room closed")
    assert meeting["id"] not in hub.app[keys.MEETING_ROOMS].rooms
    assert (await refused(member, "chat.send", meeting_id=meeting["id"], text="?")).code == "not_joined"
    assert await hub.app[keys.MEETINGS].participants(meeting["id"]) == []


async def test_a_dropped_connection_leaves_the_meeting(hub: Hub, signaling: Any) -> None:
    """The session's cleanup runs to its end even when the server cancels the connection's handler."""
    meeting = await create_meeting(hub)
    chair, member = await signaling("p-xie"), await signaling("pub-util-04")
    await chair.request("meeting.join", meeting_id=meeting["id"])
    await member.request("meeting.join", meeting_id=meeting["id"])
    await member.close()
    left = await until(chair, "participant.left", "pub-util-04")
    assert left["reason"] == "disconnected"
    assert [p["person_id"] for p in await hub.app[keys.MEETINGS].participants(meeting["id"])] == ["p-xie"]


async def test_everyone_leaving_at_once_leaves_whole(hub: Hub, signaling: Any) -> None:
    """The room is not empty (and does not stop) while a member's leave is still cleaning up."""
    meeting = await create_meeting(hub)
    clients = [await signaling(person) for person in ("p-xie", *MEMBERS)]
    ids = [(await c.request("meeting.join", meeting_id=meeting["id"]))["participant_id"] for c in clients]
    bus = hub.app[keys.BUS]
    for participant_id in ids:  # as when the node holding the meeting's media dies
        await bus.publish(direct_channel(meeting["id"], participant_id),
                          OrderMessage(Order.MEDIA_LOST, reason="node_lost").to_bus())
    for client in clients:
        assert (await client.event("meeting.left"))["reason"] == "media_node_lost"
    assert await hub.app[keys.MEETINGS].participants(meeting["id"]) == []
    await settled(lambda: meeting["id"] not in hub.app[keys.MEETING_ROOMS].rooms, "the room closed")

"""A node that dies or stalls while another node holds the meeting's media (two real `cityhub serve` processes)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis.asyncio as aioredis

from signaling.client import MeetingClient
from signaling.media_client import MediaClient
from signaling.ws_client import SignalingClient, SignalingError
from tests.cluster.nodes import Cluster, Node
from tests.cluster.test_meetings_across_nodes import owner_of

pytestmark = pytest.mark.media


async def holds_peers(cluster: Cluster, node: str, count: int, within: float) -> None:
    """Wait until a node says (its load in the node registry) that its SFU holds `count` peers."""
    client = aioredis.Redis.from_url(cluster.redis_url, decode_responses=True)
    deadline = time.monotonic() + within
    try:
        while True:
            raw = await client.hget(f"{cluster.prefix}:presence:nodes:values", node)
            peers = json.loads(raw)["load"].get("media_peers") if raw is not None else None
            if peers == count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{node} holds {peers} peers, not {count}")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def test_participants_of_a_dead_node_leave_the_meeting_its_owner_holds(cluster: Cluster) -> None:
    # their presence alone would keep them listed for a minute, with no participant.left ever
    cluster.settings["CITYHUB_MEETINGS_PRESENCE_TTL"] = "60"
    nodes = {"node-a": await cluster.start("node-a"), "node-b": await cluster.start("node-b")}
    meeting = await cluster.create_meeting(nodes["node-a"], "p-xie")
    first = MeetingClient(nodes["node-a"].ws, cluster.token("p-xie"), meeting["id"], MediaClient("p-xie", audio=False))
    lost: MeetingClient | None = None
    try:
        assert (await first.join())["status"] == "joined"
        owner = await owner_of(cluster, meeting["id"])
        assert owner is not None
        doomed = next(node for name, node in nodes.items() if name != owner)
        # `first` is re-made on the owner, and the one whose socket will die goes through the other node
        if doomed.name == "node-a":
            await first.close()
            first = MeetingClient(nodes[owner].ws, cluster.token("p-xie"), meeting["id"],
                                  MediaClient("p-xie", audio=False))
            assert (await first.join())["status"] == "joined"
        lost = MeetingClient(doomed.ws, cluster.token("pub-util-02"), meeting["id"],
                             MediaClient("pub-util-02", audio=False))
        assert (await lost.join())["status"] == "joined"
        await first.wait(lambda: first.publishers() == {lost.participant_id}, within=20, what="decoding the other")
        await holds_peers(cluster, owner, 2, within=10)

        doomed.kill()
        killed = time.monotonic()
        # the client's media still reaches the owner (its socket was on the dead node, not its media)
        await first.wait(lambda: lost.participant_id not in first.participants, within=8,
                         what="participant.left of the dead node's participant")
        left = next(e["data"] for e in first.events
                    if e["event"] == "participant.left" and e["data"]["participant_id"] == lost.participant_id)
        assert left == {"participant_id": lost.participant_id, "person_id": "pub-util-02", "reason": "node_lost"}
        assert time.monotonic() - killed < 8
        # its peer on the owner is gone: its track is unpublished and the owner holds one peer
        await first.wait(lambda: all(t["participant_id"] != lost.participant_id for t in first.tracks.values()),
                         within=5, what="the dead node's participant's tracks unpublished")
        await holds_peers(cluster, owner, 1, within=5)
        # and a newcomer does not find it among the participants
        late = SignalingClient(nodes[owner].ws, token=cluster.token("pub-util-03"))
        await late.connect()
        try:
            joined = await late.request("meeting.join", meeting_id=meeting["id"])
            assert {p["participant_id"] for p in joined["participants"]} >= {first.participant_id}
            assert lost.participant_id not in {p["participant_id"] for p in joined["participants"]}
        finally:
            await late.close()
    finally:
        await first.close()
        if lost is not None:
            await lost.close()


async def test_a_request_to_a_silent_owner_fails_with_media_node_unreachable(cluster: Cluster) -> None:
    cluster.heartbeat = 5.0  # the stalled owner stays in the registry throughout: silent, not gone
    cluster.settings["CITYHUB_MEETINGS_RELAY_TIMEOUT"] = "1.5"
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    meeting = await cluster.create_meeting(a, "p-xie")
    on_a = SignalingClient(a.ws, token=cluster.token("p-xie"))
    on_b = SignalingClient(b.ws, token=cluster.token("pub-util-02"))
    newcomer = SignalingClient(b.ws, token=cluster.token("pub-util-03"))
    for client in (on_a, on_b, newcomer):
        await client.connect()
    silent: Node | None = None
    try:
        assert (await on_a.request("meeting.join", meeting_id=meeting["id"]))["status"] == "joined"
        owner = await owner_of(cluster, meeting["id"])
        assert owner in ("node-a", "node-b")
        relayed, silent = (on_b, a) if owner == "node-a" else (on_a, b)
        other: Node = b if silent is a else a
        if relayed is on_a:  # the meeting landed on node-b: the newcomer must come through node-a
            await newcomer.close()
            newcomer = SignalingClient(a.ws, token=cluster.token("pub-util-03"))
            await newcomer.connect()
        assert (await relayed.request("meeting.join", meeting_id=meeting["id"]))["status"] == "joined"

        silent.pause()
        for request in (lambda: relayed.request("sdp.offer", meeting_id=meeting["id"], sdp="v=0\r\n", sources={}),
                        lambda: newcomer.request("meeting.join", meeting_id=meeting["id"])):
            started = time.monotonic()
            with pytest.raises(SignalingError) as refused:
                await request()
            assert refused.value.code == "media_node_unreachable"
            assert silent.name in refused.value.message
            assert 1.4 < time.monotonic() - started < 5  # meetings.relay_timeout, not a hard-coded 10 s
        log = other.log.read_text()
        assert f"node {silent.name} did not answer offer" in log and f"node {silent.name} did not answer join" in log
        # the relaying node keeps serving: chat still goes round
        await relayed.request("chat.send", meeting_id=meeting["id"], text="还在")
        assert (await relayed.event("chat.message"))["message"]["text"] == "还在"
    finally:
        if silent is not None:
            silent.resume()
        for client in (on_a, on_b, newcomer):
            await client.close()

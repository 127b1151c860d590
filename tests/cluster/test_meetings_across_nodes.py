"""Two real `cityhub serve` processes on one PostgreSQL and one Redis: a meeting's media on one owner node."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis.asyncio as aioredis

from signaling.client import MeetingClient
from signaling.media_client import MediaClient
from signaling.ws_client import SignalingError
from tests.cluster.nodes import Cluster

pytestmark = pytest.mark.media


async def owner_of(cluster: Cluster, meeting_id: str) -> str | None:
    client = aioredis.Redis.from_url(cluster.redis_url, decode_responses=True)
    try:
        raw = await client.get(f"{cluster.prefix}:key:room.{meeting_id}")
    finally:
        await client.aclose()
    return None if raw is None else str(json.loads(raw)["node"])


async def test_clients_on_two_nodes_decode_each_other(cluster: Cluster) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    meeting = await cluster.create_meeting(a, "p-xie")
    on_a = MeetingClient(a.ws, cluster.token("p-xie"), meeting["id"], MediaClient("p-xie"),
                         headers={"X-Request-ID": "socket-on-a"})
    on_b = MeetingClient(b.ws, cluster.token("pub-util-02"), meeting["id"], MediaClient("pub-util-02"),
                         headers={"X-Request-ID": "socket-on-b"})
    try:
        assert (await on_a.join())["status"] == "joined"
        owner = await owner_of(cluster, meeting["id"])
        assert owner in ("node-a", "node-b")
        joined_b = await on_b.join()
        assert joined_b["status"] == "joined"
        # the second sees the first as a participant, whichever node its socket is on
        assert on_a.participant_id in {p["participant_id"] for p in joined_b["participants"]}
        for client in (on_a, on_b):
            await client.wait(lambda c=client: len(c.decoded("video")) == 1  # type: ignore[misc]
                              and min(c.decoded().values(), default=0) >= 10, within=20, what="decoding the other")
        assert on_a.publishers() == {on_b.participant_id}
        assert on_b.publishers() == {on_a.participant_id}
        # receive slots: told to each client wherever its socket is, and a page's view relayed to the owner
        for client, other in ((on_a, on_b), (on_b, on_a)):
            assert client.slot_of(str(other.participant_id)) is not None
            await client.request("media.view", visible=[other.participant_id], last_n=0)
            await client.wait(lambda c=client: all(  # type: ignore[misc]
                t is None for s, t in c.slots.items() if s.startswith("video")), what="no video wanted")
            await client.request("media.view", visible=[other.participant_id])
            await client.wait(lambda c=client, o=other: c.slot_of(str(o.participant_id)) is not None,  # type: ignore[misc]
                              what="the video back")
        # one room, one owner: the claim did not move
        assert await owner_of(cluster, meeting["id"]) == owner
        # one id follows a socket to the node that hosts its media: the owner's lines about the participant whose
        # socket is on the other node carry that socket's request id (the bus carries it)
        host, remote, rid = (a, on_b, "socket-on-b") if owner == "node-a" else (b, on_a, "socket-on-a")
        lines = [line for line in host.log.read_text().splitlines() if f"{remote.participant_id} published" in line]
        assert len(lines) == 2 and all(f"[{rid}]" in line for line in lines), lines
    finally:
        await on_a.close()
        await on_b.close()


async def test_a_meeting_is_placed_once_even_when_both_nodes_join_at_once(cluster: Cluster) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    meeting = await cluster.create_meeting(a, "p-xie")
    clients = [
        MeetingClient(node.ws, cluster.token(person), meeting["id"], MediaClient(person, video=False))
        for node, person in ((a, "p-xie"), (b, "pub-util-02"), (b, "pub-util-03"))
    ]
    try:
        results = await asyncio.gather(*(c.join(negotiate=False) for c in clients))
        assert [r["status"] for r in results] == ["joined"] * 3
        owner = await owner_of(cluster, meeting["id"])
        assert owner in ("node-a", "node-b")
        # a client that never joined cannot send media requests to the owner through its node
        stranger = MeetingClient(b.ws, cluster.token("pub-util-04"), meeting["id"], MediaClient("x", video=False))
        await stranger.connect()
        try:
            with pytest.raises(SignalingError) as refused:
                await stranger.request("sdp.offer", sdp="v=0", sources={})
            assert refused.value.code == "not_joined"
        finally:
            await stranger.close()
    finally:
        for client in clients:
            await client.close()


async def test_killing_the_owner_node_puts_its_meeting_back_on_the_other_within_ten_seconds(cluster: Cluster) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    meeting = await cluster.create_meeting(a, "p-xie")

    def media(person: str) -> MediaClient:
        return MediaClient(person, audio=False)

    on_b = [MeetingClient(b.ws, cluster.token(p), meeting["id"], media(p), rejoin_with=lambda p=p: media(p))
            for p in ("p-xie", "pub-util-02")]
    on_a = MeetingClient(a.ws, cluster.token("pub-util-03"), meeting["id"], media("pub-util-03"))
    moved: MeetingClient | None = None
    try:
        for client in (*on_b, on_a):
            await client.connect()
        await asyncio.sleep(4 * cluster.heartbeat)  # the registry knows node-b holds more sessions
        for client in (*on_b, on_a):
            assert (await client.join())["status"] == "joined"
        assert await owner_of(cluster, meeting["id"]) == "node-a"
        for client in on_b:
            await client.wait(lambda c=client: len(c.decoded("video")) == 2  # type: ignore[misc]
                              and min(c.decoded().values()) >= 5, within=20, what="decoding both others")

        a.kill()
        killed = time.monotonic()
        # the client whose socket was on node-a comes back through the front door, which sends it to node-b
        moved = MeetingClient(b.ws, cluster.token("pub-util-03"), meeting["id"], media("pub-util-03"))

        # (once node-b's clients are back, as a browser's reconnect backoff would have it)
        await on_b[0].wait(lambda: on_b[0].rejoins == 1, within=8, what="rejoined after the owner died")
        assert (await moved.join())["status"] == "joined"
        everyone = [*on_b, moved]

        def decoding_again(c: MeetingClient) -> bool:
            return len(c.decoded("video")) == 2 and min(c.decoded().values()) >= 3

        for client in everyone:
            remaining = 10 - (time.monotonic() - killed)
            await client.wait(lambda c=client: decoding_again(c), within=max(remaining, 0.1),  # type: ignore[misc]
                              what="decoding both others again on node-b")
        assert time.monotonic() - killed < 10
        assert await owner_of(cluster, meeting["id"]) == "node-b"
        assert all(client.rejoins == 1 for client in on_b)
        ids = {c.participant_id for c in everyone}
        # (the dead node's own participant entries expire with their presence TTL; no left event is sent for them)
        assert ids <= set(on_b[0].participants)
    finally:
        for client in (*on_b, on_a, *([moved] if moved else [])):
            await client.close()

"""Two real `cityhub serve` processes on one PostgreSQL and one Redis: a meeting's media on one owner node."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from signaling.client import MeetingClient
from signaling.media_client import MediaClient
from signaling.ws_client import SignalingError
from tests.cluster.nodes import Cluster
from tests.services import REDIS_URL, create_pg_database, drop_pg_database, redis_available

pytestmark = pytest.mark.media


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    redis_available()
    url = create_pg_database()
    made = Cluster(tmp_path, url, REDIS_URL)
    try:
        yield made
    finally:
        await made.stop()
        drop_pg_database(url)


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
    on_a = MeetingClient(a.ws, cluster.token("p-xie"), meeting["id"], MediaClient("p-xie"))
    on_b = MeetingClient(b.ws, cluster.token("pub-util-02"), meeting["id"], MediaClient("pub-util-02"))
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
        # one room, one owner: the claim did not move
        assert await owner_of(cluster, meeting["id"]) == owner
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

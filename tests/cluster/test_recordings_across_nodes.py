"""Recording on a cluster: the meeting's media node records it, whichever node the chair asked; its archive plays
through the other node (one shared volume); and a media node killed with kill -9 mid-recording leaves a recording
that another node archives from what was written, playable after the dead node comes back."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import aiohttp
import av
import pytest

from signaling.client import MeetingClient
from signaling.media_client import MediaClient
from tests.cluster.api import api
from tests.cluster.nodes import Cluster, Node
from tests.cluster.test_meetings_across_nodes import owner_of

pytestmark = pytest.mark.media

CHAIR = "p-xie"


async def ready(cluster: Cluster, node: Node, recording_id: str, within: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        body = await api(cluster, node, "GET", f"/api/v1/recordings/{recording_id}", CHAIR)
        if body["status"] == "ready":
            return dict(body)
        assert body["status"] != "failed", body
        assert time.monotonic() < deadline, f"recording {recording_id} still {body['status']}"
        await asyncio.sleep(0.5)


async def played(cluster: Cluster, node: Node, recording_id: str) -> float:
    """The archive fetched through `node`, decoded: the time of its last video frame."""
    async with aiohttp.ClientSession() as http, http.get(
        f"{node.url}/api/v1/recordings/{recording_id}/media",
        headers={"Authorization": f"Bearer {cluster.token(CHAIR)}"},
    ) as response:
        assert response.status == 200, await response.text()
        data = await response.read()
    with av.open(io.BytesIO(data)) as container:
        assert [s.codec_context.name for s in container.streams] == ["vp8", "opus"]
        return max((f.time or 0.0) for f in container.decode(video=0))


async def test_recorded_on_the_media_node_and_played_anywhere_even_after_a_kill(cluster: Cluster) -> None:
    cluster.settings.update({
        "CITYHUB_RECORDINGS_HEARTBEAT": "1", "CITYHUB_RECORDINGS_SWEEP_INTERVAL": "1",
        "CITYHUB_RECORDINGS_ARCHIVE_WIDTH": "320", "CITYHUB_RECORDINGS_ARCHIVE_HEIGHT": "180",
    })
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    meeting = await cluster.create_meeting(a, CHAIR)
    meeting_id = meeting["id"]
    clients = [MeetingClient(a.ws, cluster.token(p), meeting_id, MediaClient(p)) for p in (CHAIR, "pub-util-02")]
    try:
        for client in clients:
            await client.connect()
            assert (await client.join())["status"] == "joined"
        await clients[0].wait(lambda: len(clients[0].decoded("video")) == 1
                              and min(clients[0].decoded().values()) >= 5, within=20, what="media flowing")
        assert await owner_of(cluster, meeting_id) == "node-a"

        # asked on node-b, recorded on node-a (which holds the media), played through node-b
        first = await api(cluster, b, "POST", f"/api/v1/meetings/{meeting_id}/recording", CHAIR, expect=201)
        await clients[1].wait(lambda: "recording.started" in clients[1].event_names(), within=5, what="told")
        await asyncio.sleep(4)
        await api(cluster, b, "DELETE", f"/api/v1/meetings/{meeting_id}/recording", CHAIR)
        done = await ready(cluster, b, first["id"])
        assert {t["kind"] for t in done["tracks"]} == {"audio", "video"}
        assert abs(await played(cluster, b, first["id"]) - done["duration"]) <= 1.0

        # kill -9 of the media node mid-recording: node-b archives what node-a wrote
        second = await api(cluster, a, "POST", f"/api/v1/meetings/{meeting_id}/recording", CHAIR, expect=201)
        await asyncio.sleep(5)
        a.kill()
        killed_after = time.monotonic()
        interrupted = await ready(cluster, b, second["id"])
        assert interrupted["stop_reason"] == "interrupted"
        assert 3.0 <= interrupted["duration"] <= 7.0
        assert time.monotonic() - killed_after < 30
        # node-a back: the part recorded before the kill plays through it too
        a = await cluster.start("node-a")
        seconds = await played(cluster, a, second["id"])
        assert seconds >= 3.0 and abs(seconds - interrupted["duration"]) <= 1.5
    finally:
        for client in clients:
            await client.close()

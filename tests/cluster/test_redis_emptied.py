"""Redis restarted empty under two nodes: a join right after it comes back goes to the meeting's owner.

(A throwaway redis-server of this test, never the shared one: the fixtures of test_redis_restart.py.)
"""

from __future__ import annotations

import pytest

from signaling.client import MeetingClient
from signaling.media_client import MediaClient
from tests.cluster.nodes import Cluster
from tests.cluster.test_meetings_across_nodes import owner_of
from tests.cluster.test_node_loss import holds_peers
from tests.cluster.test_redis_restart import own_cluster, ready, redis_server, until  # noqa: F401 - fixtures
from tests.services import ThrowawayRedis

pytestmark = pytest.mark.media


async def test_a_join_right_after_redis_came_back_empty_does_not_place_the_meeting_again(
    own_cluster: Cluster, redis_server: ThrowawayRedis,  # noqa: F811 - fixtures
) -> None:
    cluster = own_cluster
    # a claim is refreshed every heartbeat: without a re-claim on reconnect it would be missing for up to 3 s
    cluster.heartbeat = 3.0
    nodes = {name: await cluster.start(name) for name in ("node-a", "node-b")}
    meeting = await cluster.create_meeting(nodes["node-a"], "p-xie")

    def client(node: str, person: str) -> MeetingClient:
        return MeetingClient(nodes[node].ws, cluster.token(person), meeting["id"], MediaClient(person, audio=False))

    first = client("node-a", "p-xie")
    joiner: MeetingClient | None = None
    try:
        assert (await first.join())["status"] == "joined"
        owner = await owner_of(cluster, meeting["id"])
        assert owner in nodes
        other = next(name for name in nodes if name != owner)
        if owner != "node-a":  # the first participant sits on the owner, the joiner comes through the other
            await first.close()
            first = client(owner, "p-xie")
            assert (await first.join())["status"] == "joined"
        joiner = client(other, "pub-util-02")
        await joiner.connect()

        redis_server.stop()

        async def both_down() -> bool:
            return not await ready(nodes["node-a"]) and not await ready(nodes["node-b"])

        await until(both_down, 10, "both nodes not ready without Redis")
        redis_server.start()  # empty: no persistence
        # at once, before any heartbeat: the other node must not place the meeting itself
        assert (await joiner.join())["status"] == "joined"
        assert await owner_of(cluster, meeting["id"]) == owner
        for one, two in ((first, joiner), (joiner, first)):
            await one.wait(lambda o=one, t=two: o.publishers() == {t.participant_id},  # type: ignore[misc]
                           within=20, what="decoding the other in the one meeting")
        await holds_peers(cluster, owner, 2, within=10)
        await holds_peers(cluster, other, 0, within=10)
        assert "Redis came back empty" in (cluster.tmp / f"{other}.log").read_text()
    finally:
        await first.close()
        if joiner is not None:
            await joiner.close()

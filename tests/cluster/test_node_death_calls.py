"""kill -9 of a node while a call it carries rings: the call ends as missed, within a bound, on the node left."""

from __future__ import annotations

import asyncio

import pytest

from tests.calls.terminals import InProcessTerminal, next_line
from tests.cluster.api import call_log
from tests.cluster.nodes import Cluster, Node

pytestmark = pytest.mark.media

OFFICE, OFFICE_EXTENSION = "shinan-office-term", "6119"
# As in production, a device's presence runs out well before the ring time does.
RING, PRESENCE, SWEEP = 20.0, 2.0, 0.5


@pytest.fixture
def dying(cluster: Cluster) -> Cluster:
    cluster.settings.update({"CITYHUB_CALLS_RING_TIMEOUT": str(RING), "CITYHUB_CALLS_PRESENCE_TTL": str(PRESENCE),
                             "CITYHUB_CALLS_SWEEP_INTERVAL": str(SWEEP)})
    return cluster


async def ring_across(cluster: Cluster) -> tuple[Node, Node, InProcessTerminal, InProcessTerminal]:
    """Nodes A and B; the office terminal on B, and a caller on A dialling it."""
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    office = await InProcessTerminal(b.url, cluster.token(OFFICE)).start()
    caller = await InProcessTerminal(a.url, cluster.token("drc-01"), dial=OFFICE_EXTENSION).start()
    return a, b, office, caller


async def ringing_on_both(office: InProcessTerminal, caller: InProcessTerminal) -> dict[str, str]:
    """The office's "ringing" line, once the caller says it is dialling that call."""
    ringing = await next_line(office.sink.lines, "ringing", caller="drc-01")
    await next_line(caller.sink.lines, "dialling", call=ringing["call"])
    return ringing


async def test_the_callers_node_dies_while_it_rings_on_the_other_node(dying: Cluster) -> None:
    cluster = dying
    a, b, office, caller = await ring_across(cluster)
    try:
        ringing = await ringing_on_both(office, caller)
        a.kill()
        killed = asyncio.get_running_loop().time()
        # node-b's sweep finds the caller's device gone (its presence ran out, nobody cleaned up after it)
        stopped = await next_line(office.sink.lines, "stopped", within=PRESENCE + SWEEP + 6, call=ringing["call"])
        assert stopped["reason"] == "missed"
        assert asyncio.get_running_loop().time() - killed < RING  # not the ring time: the node's death ended it
        assert int((await next_line(office.sink.lines, "missed"))["count"]) == 1
        [logged] = await call_log(cluster, b, OFFICE)
        assert (logged["id"], logged["outcome"], logged["missed"]) == (ringing["call"], "missed", True)
        assert logged["answered_at"] is None and logged["ended_by"] is None
        [theirs] = await call_log(cluster, b, "drc-01")
        assert (theirs["outcome"], theirs["direction"], theirs["missed"]) == ("missed", "outgoing", False)
        # the caller's terminal, still trying to reach its dead node, stops cleanly (Ctrl-C)
        await caller.stop()
        assert [name for name, _ in caller.sink.seen][-2:] == ["reconnecting", "bye"]
        # the lines are free again: the caller, back through the node that is left, gets through
        again = await InProcessTerminal(b.url, cluster.token("drc-01"), dial=OFFICE_EXTENSION).start()
        try:
            assert (await next_line(office.sink.lines, "ringing", caller="drc-01"))["call"] != ringing["call"]
        finally:
            await again.stop()
    finally:
        await caller.stop()
        await office.stop()


async def test_the_callees_node_dies_while_it_rings(dying: Cluster) -> None:
    cluster = dying
    cluster.settings["CITYHUB_CALLS_RING_TIMEOUT"] = "5"
    a, b, office, caller = await ring_across(cluster)
    try:
        ringing = await ringing_on_both(office, caller)
        b.kill()
        ended = await next_line(caller.sink.lines, "ended", within=5 + 4)
        assert (ended["call"], ended["outcome"]) == (ringing["call"], "missed")
        [logged] = await call_log(cluster, a, OFFICE)
        assert (logged["outcome"], logged["missed"], logged["seen"]) == ("missed", True, False)
    finally:
        await caller.stop()
        await office.stop()

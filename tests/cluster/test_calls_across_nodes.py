"""Calls between two real `cityhub serve` processes: a terminal on node B answers a caller on node A."""

from __future__ import annotations

import pytest

from tests.calls.terminals import InProcessTerminal, media_flowing, next_line
from tests.cluster.nodes import Cluster

pytestmark = pytest.mark.media


async def test_a_call_from_node_a_to_a_terminal_on_node_b_connects_with_video_both_ways(cluster: Cluster) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    office = await InProcessTerminal(b.url, cluster.token("shinan-office-term"), auto_answer=True).start()
    city = await InProcessTerminal(a.url, cluster.token("drc-01"), dial="6119").start()
    try:
        ringing = await next_line(office.sink.lines, "ringing")
        assert ringing["name"] == "彭淑珍"
        await next_line(city.sink.lines, "answered")
        for end in (office, city):
            report = await media_flowing(end.sink.lines)
            assert report["state"] == "connected" and int(report["video_frames"]) > 0
    finally:
        assert await city.stop() == 0
    ended = await next_line(office.sink.lines, "ended")
    assert ended["outcome"] == "answered" and int(ended["video_frames"]) > 0
    await office.stop()


async def test_an_unanswered_call_to_another_node_is_missed(cluster: Cluster) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    office = await InProcessTerminal(b.url, cluster.token("shinan-office-term")).start()
    city = await InProcessTerminal(a.url, cluster.token("drc-01"), dial="6119").start()
    try:
        await next_line(office.sink.lines, "ringing")
        ended = await next_line(city.sink.lines, "ended", within=60)
        assert ended["outcome"] == "missed", ended
        assert (await next_line(office.sink.lines, "stopped"))["reason"] == "missed"
        assert int((await next_line(office.sink.lines, "missed"))["count"]) == 1
    finally:
        await city.stop()
        await office.stop()

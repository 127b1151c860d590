"""A browser signed in on node A calls an office terminal connected to node B (two `cityhub serve` processes)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.calls.browser import dial_extension, wait_frames
from tests.calls.terminals import InProcessTerminal, media_flowing, next_line
from tests.cluster.api import call_log
from tests.cluster.nodes import Cluster
from tests.cluster.phones import NodePhones, remote_video_playing

pytestmark = [pytest.mark.browser, pytest.mark.media]

OFFICE, OFFICE_EXTENSION = "shinan-office-term", "6119"


async def test_a_browser_on_node_a_calls_a_terminal_on_node_b_with_video_both_ways(
    cluster: Cluster, phones: NodePhones,
) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    office = await InProcessTerminal(b.url, cluster.token(OFFICE)).start()
    try:
        page = await phones.phone(a, "p-xie")
        await dial_extension(page, OFFICE_EXTENSION)
        ringing = await next_line(office.sink.lines, "ringing")
        assert ringing["caller"] == "p-xie" and ringing["name"] == "谢继成"
        await expect(page.locator("[data-test=call-state]")).to_have_text("对方振铃中…")
        await office.terminal.command("answer")
        await expect(page.locator("[data-test=call-state]")).to_have_text("通话中", timeout=20_000)
        # the browser on node A plays the terminal's video: frames decoded and shown, and they keep coming
        await wait_frames(page)
        await remote_video_playing(page)
        # the terminal on node B decodes the browser's (fake camera) video, and keeps decoding it
        first = await media_flowing(office.sink.lines)
        assert first["state"] == "connected" and int(first["video_frames"]) > 0
        later = await next_line(office.sink.lines, "media")
        assert int(later["video_frames"]) > int(first["video_frames"])
        # the terminal hangs up on node B: the browser on node A is told, and both logs say answered
        await office.terminal.command("hangup")
        ended = await next_line(office.sink.lines, "ended")
        assert int(ended["video_frames"]) > 0
        await expect(page.locator("[data-test=in-call]")).to_have_attribute("data-outcome", "answered")
        await expect(page.locator("[data-test=in-call]")).to_be_hidden(timeout=5_000)
        entry = page.locator("[data-test=call-log] .log-entry").first
        await expect(entry.locator("[data-test=log-outcome]")).to_contain_text("已接通")
        for node, person in ((a, OFFICE), (b, "p-xie")):
            [logged] = await call_log(cluster, node, person)
            assert logged["outcome"] == "answered" and logged["answered_by"] == OFFICE
            assert logged["duration"] > 0 and logged["ended_by"] == OFFICE
    finally:
        assert await office.stop() == 0


async def test_decline_busy_and_cancel_between_a_browser_on_node_a_and_a_terminal_on_node_b(
    cluster: Cluster, phones: NodePhones,
) -> None:
    a = await cluster.start("node-a")
    b = await cluster.start("node-b")
    office = await InProcessTerminal(b.url, cluster.token(OFFICE)).start()
    other = await InProcessTerminal(a.url, cluster.token("drc-01")).start()
    try:
        page = await phones.phone(a, "p-xie")
        state = page.locator("[data-test=call-state]")
        view = page.locator("[data-test=in-call]")
        # decline on node B: the browser on node A shows it
        await dial_extension(page, OFFICE_EXTENSION)
        await next_line(office.sink.lines, "ringing", caller="p-xie")
        await office.terminal.command("decline")
        await expect(state).to_have_text("对方已拒接")
        await expect(view).to_be_hidden(timeout=5_000)

        # busy: the terminal on node B is in a call placed from node A; the browser's call is refused as busy
        assert await other.terminal.dial(OFFICE_EXTENSION)
        await next_line(office.sink.lines, "ringing", caller="drc-01")
        await office.terminal.command("answer")
        await next_line(other.sink.lines, "answered")
        await dial_extension(page, OFFICE_EXTENSION)
        await expect(view).to_have_attribute("data-state", "busy")
        await expect(state).to_have_text("对方忙线，请稍后再拨。")
        await other.terminal.command("hangup")
        assert (await next_line(office.sink.lines, "ended"))["outcome"] == "answered"
        await expect(view).to_be_hidden(timeout=6_000)

        # the caller on node A gives up while node B rings: the terminal stops ringing and counts a missed call
        await dial_extension(page, OFFICE_EXTENSION)
        ringing = await next_line(office.sink.lines, "ringing", caller="p-xie")
        await expect(state).to_have_text("对方振铃中…")
        await page.click("[data-test=hangup]")
        stopped = await next_line(office.sink.lines, "stopped", call=ringing["call"])
        assert stopped["reason"] == "cancelled"
        missed = int((await next_line(office.sink.lines, "missed"))["count"])

        log = await call_log(cluster, b, OFFICE)
        assert [(e["caller"], e["outcome"], e["missed"]) for e in log] == [
            ("p-xie", "cancelled", True), ("p-xie", "busy", True), ("drc-01", "answered", False),
            ("p-xie", "declined", False),
        ]
        assert missed == 2  # the busy call and the cancelled one, neither seen yet
    finally:
        await other.stop()
        await office.stop()

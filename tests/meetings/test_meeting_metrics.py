"""/metrics during a meeting of two browsers, with a call and an edit of the minutes: the live node's families
(meetings, SFU, sockets, documents, calls, bus, the event loop) in the text format Prometheus reads, checked by
Prometheus's own promtool."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser
from prometheus_client.parser import text_string_to_metric_families

from signaling.ws_client import SignalingClient
from tests.conftest import Hub
from tests.docs.test_documents_ws import join as join_doc
from tests.meetings.browser import People, join, people_on, remote_videos_playing
from tests.meetings.conftest import create_meeting, ws_url
from tests.services import missing

pytestmark = [pytest.mark.browser, pytest.mark.media]

ROOT = Path(__file__).resolve().parents[2]


async def scrape(hub: Hub) -> tuple[str, dict[str, float]]:
    """The exposition text and its samples by name, a label's value after the name (`name{value}`)."""
    response = await hub.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()
    samples = {s.name + "".join(f"{{{v}}}" for v in s.labels.values()): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    return text, samples


@pytest.fixture
async def people(chromium: Browser, media_hub: Hub) -> AsyncIterator[People]:
    async with people_on(chromium, media_hub) as crowd:
        yield crowd


async def test_a_meeting_moves_the_live_families_and_promtool_accepts_them(media_hub: Hub, people: People) -> None:
    _, idle = await scrape(media_hub)
    assert idle["cityhub_meetings_live"] == 0 and idle["cityhub_sfu_packets_forwarded_total"] == 0
    meeting = await create_meeting(media_hub)
    # a call, declined
    caller, callee = (SignalingClient(ws_url(media_hub), token=media_hub.token(p)) for p in ("p-xie", "gov-office-03"))
    for phone in (caller, callee):
        await phone.connect()
        await phone.request("call.register", device="browser")
    placed = await caller.request("call.dial", person="gov-office-03")
    await callee.request("call.decline", call_id=placed["call"]["id"])
    await caller.close()
    await callee.close()
    # two browsers in the meeting
    pages = [await people.page(person, f"/meetings/{meeting['id']}") for person in ("p-xie", "pub-util-04")]
    for page in pages:
        await join(page)
    for page in pages:
        await remote_videos_playing(page, 1)
    # an edit of its minutes over the document socket
    minutes = await join_doc(media_hub, meeting["minutes_doc_id"], "p-xie")
    await minutes.edit(lambda text: text.insert(0, "会议纪要"))
    await minutes.wait_saved()
    text, live = await scrape(media_hub)
    await minutes.close()
    assert live["cityhub_meetings_live"] == 1 and live["cityhub_meeting_participants"] == 2
    assert live["cityhub_ws_sessions"] == 2 and live["cityhub_sfu_peers"] == 2 and live["cityhub_sfu_tracks"] == 4
    assert live["cityhub_sfu_packets_received_total"] > 0 and live["cityhub_sfu_received_payload_bytes_total"] > 1000
    assert live["cityhub_sfu_packets_forwarded_total"] > 0 and live["cityhub_sfu_forwarded_bytes_total"] > 1000
    assert live["cityhub_sfu_keyframe_requests_sent_total"] >= 1  # a subscriber's first frame is a key frame
    assert live["cityhub_sfu_keyframe_wait_seconds_count"] >= 2  # each video leg waited for one
    assert live["cityhub_socket_send_queue_overflows_total{ws}"] == 0
    assert live["cityhub_doc_rooms_open"] == 1 and live["cityhub_doc_updates_stored_total"] >= 2
    assert live["cityhub_doc_store_seconds_count"] >= 2 and live["cityhub_doc_store_seconds_sum"] > 0
    assert live["cityhub_doc_compactions_total"] >= 1  # the minutes' first content, folded when it was created
    assert live["cityhub_calls_live{active}"] == 0
    assert live["cityhub_calls_ended_total{declined}"] == 1 and live["cityhub_calls_ended_total{missed}"] == 0
    assert live["cityhub_webhook_attempts_total{delivered}"] == 0  # no webhook configured here
    assert live["cityhub_bus_up"] == 1 and live["cityhub_bus_connects_total"] == 1
    assert live["cityhub_event_loop_lag_seconds_count"] > 0
    for page in pages:
        await page.close()
    _, after = await scrape(media_hub)
    # counters never go back when a meeting ends; the gauges do
    assert after["cityhub_sfu_packets_forwarded_total"] >= live["cityhub_sfu_packets_forwarded_total"]
    # the Grafana dashboard in deploy/ asks only for families a node exports
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/cityhub.json").read_text())
    asked = {re.sub(r"_(bucket|sum|count)$", "", name) for panel in dashboard["panels"]
             for target in panel["targets"] for name in re.findall(r"cityhub_\w+", target["expr"])}
    exported = {family.name for family in text_string_to_metric_families(text)}
    exported |= {f"{family.name}_total" for family in text_string_to_metric_families(text) if family.type == "counter"}
    assert len(asked) >= 20 and asked <= exported, asked - exported
    promtool = shutil.which("promtool")
    if promtool is None:
        missing("promtool", FileNotFoundError("Debian's prometheus package is not installed"))
    assert promtool is not None
    checker = await asyncio.create_subprocess_exec(promtool, "check", "metrics", stdin=asyncio.subprocess.PIPE,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    said, _ = await asyncio.wait_for(checker.communicate(text.encode()), 30)
    assert checker.returncode == 0, said.decode()
    config = await asyncio.create_subprocess_exec(promtool, "check", "config", str(ROOT / "deploy/prometheus.yml"),
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    said, _ = await asyncio.wait_for(config.communicate(), 30)
    assert config.returncode == 0, said.decode()

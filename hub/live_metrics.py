"""What a /metrics scrape reads off the live node: meetings, the SFU, sockets, documents, calls, the bus and
the event loop.

Counts and totals the live objects already keep are read when Prometheus scrapes (a collector), so the media
path pays nothing per packet for them; measured in the background are only the event loop's lag (every 0.5 s)
and the bus's round trip to Redis (every 5 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from hub import keys
from hub.calls.model import CallState, Outcome
from hub.ticker import Ticker

LAG_INTERVAL = 0.5  # seconds between two looks at the event loop
ROUND_TRIP_INTERVAL = 5.0  # seconds between two PINGs to the bus's Redis
# The SFU's forwarding totals (signaling.sfu.forwarding.ForwardingStats), as counters: field -> (name, help).
SFU_COUNTERS = {
    "packets_received": ("cityhub_sfu_packets_received", "RTP packets received from publishers"),
    "payload_bytes_received": ("cityhub_sfu_received_payload_bytes",
                               "RTP payload bytes received from publishers (headers and SRTP tags left out)"),
    "packets_forwarded": ("cityhub_sfu_packets_forwarded", "RTP packets sent to subscribers"),
    "bytes_forwarded": ("cityhub_sfu_forwarded_bytes", "Bytes of RTP sent to subscribers"),
    "packets_dropped": ("cityhub_sfu_packets_dropped",
                        "Packets not sent to a subscriber: waiting for a key frame, stragglers, no route"),
    "packets_thinned": ("cityhub_sfu_packets_thinned", "Upper temporal layer packets left out for small tiles"),
    "nacks_received": ("cityhub_sfu_nacks_received", "NACKs received from subscribers"),
    "retransmissions": ("cityhub_sfu_retransmissions", "Packets resent for subscribers' NACKs"),
    "keyframe_requests_sent": ("cityhub_sfu_keyframe_requests_sent", "PLIs sent to publishers"),
    "keyframe_requests_received": ("cityhub_sfu_keyframe_requests_received", "PLIs and FIRs from subscribers"),
}


class LiveCollector(Collector):
    """Reads the node's live objects at scrape time; a part the node does not run reports nothing."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        app = self._app
        signaling = app.get(keys.SIGNALING)
        overflows = CounterMetricFamily("cityhub_socket_send_queue_overflows",
                                        "Sockets closed because they did not read what was sent (a full send queue)",
                                        labels=["socket"])
        if signaling is not None:
            yield _gauge("cityhub_ws_sessions", "Signaling sockets (/ws) open on this node", len(signaling.sessions))
            overflows.add_metric(["ws"], signaling.slow_consumers)
        rooms = app.get(keys.MEETING_ROOMS)
        if rooms is not None:
            live = list(rooms.rooms.values())
            yield _gauge("cityhub_meetings_live", "Meetings with a room open on this node", len(live))
            yield _gauge("cityhub_meeting_participants", "Participants joined through this node's sockets",
                         sum(1 for room in live for m in room.members.values() if m.joined and not m.left))
            sfu = rooms.sfu
            yield _gauge("cityhub_sfu_rooms", "Meetings whose media this node forwards", len(sfu.rooms))
            yield _gauge("cityhub_sfu_peers", "Media connections on this node",
                         sum(len(room.peers) for room in sfu.rooms.values()))
            yield _gauge("cityhub_sfu_tracks", "Published tracks this node forwards",
                         sum(len(room.forwarders) for room in sfu.rooms.values()))
            stats = sfu.stats()
            for field, (name, text) in SFU_COUNTERS.items():
                yield CounterMetricFamily(name, text, value=getattr(stats, field))
            yield SummaryMetricFamily("cityhub_sfu_keyframe_wait_seconds",
                                      "A video leg (re)starting on a track waits for its first key frame",
                                      count_value=stats.keyframe_waits, sum_value=stats.keyframe_wait_seconds)
        doc_rooms = app.get(keys.DOC_ROOMS)
        if doc_rooms is not None:
            docs = doc_rooms.stats
            yield _gauge("cityhub_doc_rooms_open", "Shared documents open for editing on this node",
                         doc_rooms.open_count)
            yield CounterMetricFamily("cityhub_doc_updates_stored", "Document updates stored",
                                      value=docs.updates_stored)
            yield SummaryMetricFamily("cityhub_doc_store_seconds", "Transactions that stored document updates",
                                      count_value=docs.store_batches, sum_value=docs.store_seconds)
            yield CounterMetricFamily("cityhub_doc_compactions", "Update logs folded into a snapshot",
                                      value=docs.compactions)
            overflows.add_metric(["doc"], docs.slow_clients)
        yield overflows
        calls = app.get(keys.CALLS)
        if calls is not None:
            live_calls = GaugeMetricFamily("cityhub_calls_live", "Calls ringing and going on in the whole hub (the "
                                           "database, as this node's sweeper last read it)", labels=["state"])
            for state in (CallState.RINGING, CallState.ACTIVE):
                live_calls.add_metric([state.value], calls.live_counts[state])
            yield live_calls
            ended = CounterMetricFamily("cityhub_calls_ended", "Calls ended on this node, by outcome",
                                        labels=["outcome"])
            for outcome in Outcome:
                ended.add_metric([outcome.value], calls.outcomes[outcome])
            yield ended
        webhooks = app.get(keys.WEBHOOKS)
        if webhooks is not None:
            attempts = CounterMetricFamily("cityhub_webhook_attempts", "Webhook delivery attempts, by result",
                                           labels=["result"])
            for result in ("delivered", "retried", "failed"):
                attempts.add_metric([result], webhooks.attempts[result])
            yield attempts
        bus = app.get(keys.BUS)
        if bus is not None:
            yield _gauge("cityhub_bus_up", "Whether the bus reaches every node (1) or not (0)", int(bus.ready))
            yield CounterMetricFamily("cityhub_bus_connects", "Times this node (re)connected to the bus",
                                      value=bus.connects)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=value)


def install(app: web.Application) -> None:
    """Register the live collector, and measure the loop's lag and the bus's round trip while the app runs."""
    metrics = app[keys.METRICS]
    metrics.registry.register(LiveCollector(app))

    async def lag() -> None:
        # how late the loop runs a timer that is due: every socket, packet and request of the node waits that long
        loop = asyncio.get_running_loop()
        due = loop.time() + LAG_INTERVAL
        await asyncio.sleep(LAG_INTERVAL)
        metrics.event_loop_lag.observe(max(loop.time() - due, 0.0))

    async def ping() -> None:
        bus = app.get(keys.BUS)
        took = await bus.round_trip() if bus is not None else None
        if took is not None:
            metrics.bus_round_trip.observe(took)

    tickers = [Ticker("event-loop-lag", 0.0, lag), Ticker("bus-round-trip", ROUND_TRIP_INTERVAL, ping)]

    async def run(_: Any) -> Any:
        for ticker in tickers:
            ticker.start()
        yield
        for ticker in tickers:
            await ticker.stop()

    app.cleanup_ctx.append(run)

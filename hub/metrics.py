"""Prometheus metrics of one hub (its own registry: no process globals, several apps per process in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

# The classic text format, with its version: every Prometheus (2 and 3) and every other scraper reads it. Our
# names are all of the classic kind, so what generate_latest writes is that format.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class Metrics:
    """The metrics measured as things happen (HTTP, refused authentications, the loop's lag, the bus's round
    trip); what the live objects count themselves is read at scrape time (hub/live_metrics.py)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "cityhub_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.http_seconds = Histogram(
            "cityhub_http_request_seconds", "HTTP request duration", ["route"], registry=self.registry
        )
        self.auth_refusals = Counter(
            "cityhub_auth_refusals", "Refused authentications by code", ["code"], registry=self.registry
        )
        self.event_loop_lag = Histogram(
            "cityhub_event_loop_lag_seconds", "How late the event loop ran a timer that was due",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=self.registry,
        )
        self.bus_round_trip = Histogram(
            "cityhub_bus_round_trip_seconds", "A PING to the bus's Redis, there and back (every 5 s)",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0), registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)

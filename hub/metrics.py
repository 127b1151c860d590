"""Prometheus metrics of one hub (its own registry: no process globals, several apps per process in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The counters every part of the hub reports to; domain packages add theirs through `counter`/`gauge`."""

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
        self._extra: dict[str, Counter | Gauge] = {}

    def counter(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        """A counter registered once by name."""
        if name not in self._extra:
            self._extra[name] = Counter(name, doc, list(labels), registry=self.registry)
        metric = self._extra[name]
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        """A gauge registered once by name."""
        if name not in self._extra:
            self._extra[name] = Gauge(name, doc, list(labels), registry=self.registry)
        metric = self._extra[name]
        assert isinstance(metric, Gauge)
        return metric

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)

"""Health, readiness, metrics, the error shape for every API failure, request ids, security headers."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from aiohttp import web

from hub import keys
from hub.app import create_app
from hub.bus import RedisBus
from tests.conftest import Hub, make_settings
from tests.services import REDIS_URL, redis_available


async def test_healthz_and_readyz(hub: Hub) -> None:
    alive = await hub.client.get("/healthz")
    assert alive.status == 200
    assert (await alive.json())["status"] == "alive"
    ready = await hub.client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200, body
    assert body["database"] == "up" and body["bus"] == "up"


async def test_unknown_api_path_is_json_404(hub: Hub) -> None:
    response = await hub.client.get("/api/v1/nothing-here")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


async def test_wrong_method_is_json_405(hub: Hub) -> None:
    response = await hub.client.delete("/api/v1/me")
    assert response.status == 405
    assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_malformed_json_body_is_400(hub: Hub) -> None:
    response = await hub.client.post(
        "/api/v1/auth/session", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_json"


async def test_oversized_body_is_413_and_service_goes_on(hub: Hub) -> None:
    big = io.BytesIO(b'{"token": "' + b"x" * 2_000_000 + b'"}')
    response = await hub.client.post("/api/v1/auth/session", data=big, headers={"Content-Type": "application/json"})
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"
    assert (await hub.client.get("/healthz")).status == 200


async def test_request_id_echoed_and_generated(hub: Hub) -> None:
    mine = await hub.client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert mine.headers["X-Request-ID"] == "abc123"
    fresh = await hub.client.get("/healthz")
    assert len(fresh.headers["X-Request-ID"]) == 16


async def test_pages_have_a_strict_csp(hub: Hub) -> None:
    response = await hub.client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


async def test_metrics_count_requests(hub: Hub) -> None:
    await hub.client.get("/healthz")
    response = await hub.client.get("/metrics")
    text = await response.text()
    assert response.status == 200
    assert 'cityhub_http_requests_total{method="GET",route="/healthz",status="200"}' in text


async def test_metrics_time_the_bus_round_trip_to_redis(hub: Hub) -> None:
    # the first PING goes out as the hub starts; the in-process bus has no Redis to time
    expected = 1.0 if isinstance(hub.app[keys.BUS], RedisBus) else 0.0
    for _ in range(50):
        text = await (await hub.client.get("/metrics")).text()
        count = next(float(line.split()[-1]) for line in text.splitlines()
                     if line.startswith("cityhub_bus_round_trip_seconds_count"))
        if count >= expected:
            break
        await asyncio.sleep(0.1)
    assert count == expected


async def test_unknown_page_is_an_html_error_page(hub: Hub) -> None:
    response = await hub.client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert response.status == 404
    assert "text/html" in response.headers["Content-Type"]
    assert "Page not found" in await response.text()


async def test_the_bus_round_trip_stops_before_the_bus_closes(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PING in flight as the hub stops finishes on an open bus: after the bus had closed its client, a PING
    opened a connection to Redis nobody closed (a ResourceWarning in a later test)."""
    redis_available()
    seen: list[bool] = []
    real = RedisBus.round_trip

    async def slow_round_trip(bus: RedisBus) -> float | None:
        await asyncio.sleep(0.3)  # the hub begins to stop meanwhile
        seen.append(bus._stopping)
        return await real(bus)

    monkeypatch.setattr(RedisBus, "round_trip", slow_round_trip)
    runner = web.AppRunner(create_app(make_settings(tmp_path, pg_url, REDIS_URL)))
    await runner.setup()  # the first PING goes out at once, and the hub stops while it is on its way
    await runner.cleanup()
    assert seen == [False]

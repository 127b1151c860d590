"""Webhooks: item events reach a local receiver, signed; a failed delivery is retried; the log tells."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from hub import keys
from hub.clock import ManualClock
from hub.settings import Settings
from hub.supervision.webhooks import WebhookSender
from tests.conftest import _truncate
from tests.supervision.conftest import LEAD, START, SUPERVISOR, Meetings, Minutes, SvHub, start_sv

SECRET = "a-test-webhook-secret-of-some-length"


class Receiver:
    """A local HTTP endpoint that fails its first `failures` requests, then records what it gets."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.received: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        body = await request.read()
        if self.calls <= self.failures:
            return web.Response(status=500, text="not now")
        self.received.append({"headers": dict(request.headers), "body": body})
        self.arrived.set()
        return web.Response(status=204)


@pytest.fixture
async def cleanup() -> AsyncIterator[list[SvHub]]:
    """Hubs made in a test; their PostgreSQL tables are emptied afterwards (the database is shared)."""
    made: list[SvHub] = []
    yield made
    for sv in made[-1:]:
        if sv.app[keys.DB].dialect == "postgresql":
            await _truncate(sv.app)


async def _hub(aiohttp_client: Any, aiohttp_server: Any, settings: Settings, receiver: Receiver,
               made: list[SvHub], **extra: Any) -> tuple[SvHub, str]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app, host="127.0.0.1", port=0)
    url = str(server.make_url("/hook"))
    settings = settings.replace(supervision={"webhook_urls": (url,), "webhook_secret": SECRET,
                                             "webhook_backoff": 0.05, **extra})
    clock, meetings, minutes = ManualClock(START), Meetings(), Minutes()
    meetings.add("m1")
    hub = await start_sv(aiohttp_client, settings, clock, meetings, minutes)
    made.append(SvHub(hub, clock, meetings, minutes))
    return made[-1], url


async def _deliveries(sv: SvHub) -> list[dict[str, Any]]:
    response = await sv.client.get("/api/v1/supervision/webhooks/deliveries", headers=sv.auth(SUPERVISOR))
    assert response.status == 200
    return list((await response.json())["deliveries"])


async def _wait_for(predicate: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_signed_delivery_with_a_retry(aiohttp_client: Any, aiohttp_server: Any, settings: Settings,
                                     cleanup: list[SvHub]) -> None:
    receiver = Receiver(failures=1)
    sv, url = await _hub(aiohttp_client, aiohttp_server, settings, receiver, cleanup)
    item_id = (await sv.decide())["item"]["id"]
    await asyncio.wait_for(receiver.arrived.wait(), 10)
    got = receiver.received[0]
    assert receiver.calls == 2
    timestamp = got["headers"]["X-CityHub-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + got["body"], hashlib.sha256).hexdigest()
    assert got["headers"]["X-CityHub-Signature"] == f"sha256={expected}"
    assert got["headers"]["X-CityHub-Event"] == "item.created"
    payload = json.loads(got["body"])
    assert payload["event"] == "item.created" and payload["item"]["id"] == item_id
    assert payload["item"]["status"] == "assigned" and payload["data"]["decision"]["meeting_id"] == "m1"

    async def delivered() -> bool:
        log = await _deliveries(sv)
        return bool(log) and log[0]["status"] == "delivered"

    await _wait_for(delivered)
    log = await _deliveries(sv)
    assert log[0]["attempts"] == 2 and log[0]["last_status"] == 204 and log[0]["url"] == url
    assert sv.hub.app[keys.WEBHOOKS].attempts == {"retried": 1, "delivered": 1}  # /metrics reads these

    receiver.arrived.clear()
    await sv.act(item_id, LEAD, "accept")
    await asyncio.wait_for(receiver.arrived.wait(), 10)
    assert json.loads(receiver.received[-1]["body"])["event"] == "item.accept"
    # A tampered body no longer matches the signature the receiver got.
    forged = hmac.new(SECRET.encode(), timestamp.encode() + b"." + got["body"] + b" ", hashlib.sha256).hexdigest()
    assert got["headers"]["X-CityHub-Signature"] != f"sha256={forged}"


async def test_a_receiver_that_keeps_failing_is_given_up_on(aiohttp_client: Any, aiohttp_server: Any,
                                                           settings: Settings, cleanup: list[SvHub]) -> None:
    receiver = Receiver(failures=100)
    sv, _ = await _hub(aiohttp_client, aiohttp_server, settings, receiver, cleanup, webhook_attempts=3)
    await sv.decide()

    async def failed() -> bool:
        log = await _deliveries(sv)
        return bool(log) and log[0]["status"] == "failed"

    await _wait_for(failed)
    log = await _deliveries(sv)
    assert log[0]["attempts"] == 3 and log[0]["last_status"] == 500 and receiver.calls == 3
    assert sv.hub.app[keys.WEBHOOKS].attempts == {"retried": 2, "failed": 1}
    assert receiver.received == []
    # The hub goes on: changes are still accepted while the receiver is down.
    assert (await sv.client.get("/healthz")).status == 200


async def test_pending_deliveries_are_sent_after_a_restart(aiohttp_client: Any, aiohttp_server: Any,
                                                          settings: Settings, cleanup: list[SvHub]) -> None:
    receiver = Receiver(failures=0)
    sv, url = await _hub(aiohttp_client, aiohttp_server, settings, receiver, cleanup)
    # The sender is stopped (as in a crash right after the commit): the delivery waits in the outbox.
    await sv.app[keys.WEBHOOKS].stop()
    await sv.decide()
    assert (await _deliveries(sv))[0]["status"] == "pending"
    await sv.client.close()
    restarted = await start_sv(aiohttp_client, sv.app[keys.SETTINGS], sv.clock, sv.meetings, sv.minutes)
    sv2 = SvHub(restarted, sv.clock, sv.meetings, sv.minutes)
    cleanup.append(sv2)
    await asyncio.wait_for(receiver.arrived.wait(), 10)
    assert json.loads(receiver.received[0]["body"])["event"] == "item.created"

    async def delivered() -> bool:
        return (await _deliveries(sv2))[0]["status"] == "delivered"

    await _wait_for(delivered)


async def test_delivery_log_is_for_supervisors(sv: SvHub) -> None:
    response = await sv.client.get("/api/v1/supervision/webhooks/deliveries", headers=sv.auth(LEAD))
    assert response.status == 403


async def test_two_nodes_send_each_delivery_once(aiohttp_client: Any, aiohttp_server: Any, settings: Settings,
                                                 cleanup: list[SvHub]) -> None:
    receiver = Receiver(failures=0)
    sv, _ = await _hub(aiohttp_client, aiohttp_server, settings, receiver, cleanup)
    # A second node's sender on the same database, woken for the same deliveries.
    other = WebhookSender(sv.app[keys.DB], sv.clock, sv.app[keys.SETTINGS].supervision)
    await other.start()
    try:
        item_id = (await sv.decide())["item"]["id"]
        for action in ("accept", "comment"):
            await sv.act(item_id, LEAD, action, text="意见")
            other.wake()

        async def all_delivered() -> bool:
            log = await _deliveries(sv)
            return len(log) == 3 and all(d["status"] == "delivered" for d in log)

        await _wait_for(all_delivered)
        await asyncio.sleep(0.2)
    finally:
        await other.stop()
    events = sorted(json.loads(r["body"])["event"] for r in receiver.received)
    assert events == ["item.accept", "item.comment", "item.created"]

"""A client that does not read what the hub sends is disconnected (4009), counted for /metrics, and the hub
goes on serving everyone else."""

from __future__ import annotations

import asyncio

from hub import keys
from signaling.socket import CloseCode
from signaling.ws_client import SignalingClient
from tests.conftest import Hub


async def test_a_client_whose_send_queue_fills_up_is_disconnected_and_counted(hub: Hub) -> None:
    slow = SignalingClient(str(hub.client.make_url("/ws")), token=hub.token("p-xie"))
    other = SignalingClient(str(hub.client.make_url("/ws")), token=hub.token("pub-util-02"))
    await slow.connect()
    await other.connect()
    signaling = hub.app[keys.SIGNALING]
    session = signaling.sessions_of("p-xie")[0]
    queue = hub.app[keys.SETTINGS].signaling.send_queue
    # more events than the queue holds, with no chance for the writer to drain it in between
    for n in range(queue + 1):
        session.send_event("test.flood", {"n": n})
    assert signaling.slow_consumers == 1
    scrape = await (await hub.client.get("/metrics")).text()
    assert 'cityhub_socket_send_queue_overflows_total{socket="ws"} 1.0' in scrape
    await asyncio.wait_for(slow.closed.wait(), 10)
    assert slow.close_code == CloseCode.SLOW_CONSUMER
    assert (await other.request("ping")) is not None  # everyone else is served
    await other.close()
    await slow.close()

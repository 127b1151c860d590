"""Bus semantics, the same on the in-process bus and on Redis: ordering, unsubscribe, presence, keys."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.bus import RedisBus
from hub.bus.base import Bus, Subscription
from hub.logs import request_id
from tests.bus.conftest import prefix
from tests.services import REDIS_URL, redis_available


async def receive(subscription: Subscription) -> Any:
    return await asyncio.wait_for(subscription.get(), 10)


async def test_messages_arrive_in_order(bus: Bus) -> None:
    subscription = await bus.subscribe("meeting.m1")
    for n in range(50):
        await bus.publish("meeting.m1", {"n": n, "text": "会议开始"})
    got = [await receive(subscription) for _ in range(50)]
    assert got == [{"n": n, "text": "会议开始"} for n in range(50)]
    subscription.close()


async def test_every_subscriber_gets_every_message(bus: Bus) -> None:
    first, second = await bus.subscribe("c"), await bus.subscribe("c")
    await bus.publish("c", {"x": 1})
    assert await receive(first) == {"x": 1} and await receive(second) == {"x": 1}
    first.close()
    second.close()


async def test_messages_before_subscribing_and_on_other_channels_are_not_received(bus: Bus) -> None:
    await bus.publish("c", {"early": True})
    subscription = await bus.subscribe("c")
    await bus.publish("other", {"elsewhere": True})
    await bus.publish("c", {"late": True})
    assert await receive(subscription) == {"late": True}
    subscription.close()


async def test_a_message_is_a_copy(bus: Bus) -> None:
    subscription = await bus.subscribe("c")
    message = {"list": [1, 2]}
    await bus.publish("c", message)
    message["list"].append(3)
    assert await receive(subscription) == {"list": [1, 2]}
    subscription.close()


async def test_unsubscribe_ends_iteration_and_leaves_others(bus: Bus) -> None:
    leaving, staying = await bus.subscribe("c"), await bus.subscribe("c")
    received: list[dict[str, object]] = []

    async def consume() -> None:
        async for message in leaving:
            received.append(message)

    consumer = asyncio.create_task(consume())
    await bus.publish("c", {"n": 1})
    assert await receive(staying) == {"n": 1}
    leaving.close()
    await asyncio.wait_for(consumer, 10)
    assert received == [{"n": 1}]
    await bus.publish("c", {"n": 2})
    assert await receive(staying) == {"n": 2}
    assert await leaving.get() is None
    staying.close()
    # The channel can be subscribed again after everyone left.
    again = await bus.subscribe("c")
    await bus.publish("c", {"n": 3})
    assert await receive(again) == {"n": 3}
    again.close()


async def test_stop_closes_subscriptions(bus: Bus) -> None:
    subscription = await bus.subscribe("c")
    await bus.stop()
    assert subscription.closed and await subscription.get() is None


async def test_presence_members_values_and_removal(bus: Bus) -> None:
    group = f"room-{uuid.uuid4().hex[:6]}"
    await bus.presence_set(group, "p-xie", {"name": "谢继成", "node": "n1"}, ttl=30)
    await bus.presence_set(group, "p-kong", {"name": "孔刚"}, ttl=30)
    assert await bus.presence_members(group) == {"p-xie": {"name": "谢继成", "node": "n1"}, "p-kong": {"name": "孔刚"}}
    await bus.presence_set(group, "p-xie", {"name": "谢继成", "node": "n2"}, ttl=30)
    assert (await bus.presence_members(group))["p-xie"]["node"] == "n2"
    await bus.presence_remove(group, "p-kong")
    assert set(await bus.presence_members(group)) == {"p-xie"}
    await bus.presence_remove(group, "p-nobody")
    assert await bus.presence_members("empty-group") == {}


async def test_presence_expires_after_its_ttl(bus: Bus) -> None:
    group = f"room-{uuid.uuid4().hex[:6]}"
    await bus.presence_set(group, "short", {}, ttl=0.2)
    await bus.presence_set(group, "long", {}, ttl=60)
    assert set(await bus.presence_members(group)) == {"short", "long"}
    await asyncio.sleep(0.3)
    assert set(await bus.presence_members(group)) == {"long"}
    # Refreshing before the TTL runs out keeps a member.
    await bus.presence_set(group, "refreshed", {}, ttl=0.3)
    await asyncio.sleep(0.1)
    await bus.presence_set(group, "refreshed", {}, ttl=60)
    await asyncio.sleep(0.3)
    assert set(await bus.presence_members(group)) == {"long", "refreshed"}


async def test_keys_only_new_get_delete_and_ttl(bus: Bus) -> None:
    key = f"lock-{uuid.uuid4().hex[:6]}"
    assert await bus.get_key(key) is None
    assert await bus.set_key(key, {"owner": "n1"}, ttl=30, only_new=True) is True
    assert await bus.set_key(key, {"owner": "n2"}, ttl=30, only_new=True) is False
    assert await bus.get_key(key) == {"owner": "n1"}
    assert await bus.set_key(key, {"owner": "n3"}, ttl=30) is True
    assert await bus.get_key(key) == {"owner": "n3"}
    await bus.delete_key(key)
    assert await bus.get_key(key) is None
    assert await bus.set_key(key, {"owner": "n4"}, ttl=30, only_new=True) is True
    await bus.delete_key("never-set")
    short = f"short-{uuid.uuid4().hex[:6]}"
    await bus.set_key(short, {"v": 1}, ttl=0.2)
    await asyncio.sleep(0.3)
    assert await bus.get_key(short) is None
    assert await bus.set_key(short, {"v": 2}, ttl=30, only_new=True) is True


@pytest.fixture
async def two_nodes() -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    redis_available()
    shared = prefix()
    a = RedisBus(REDIS_URL, prefix=shared, node_id="node-a")
    b = RedisBus(REDIS_URL, prefix=shared, node_id="node-b")
    await a.start()
    await b.start()
    yield a, b
    await a.stop()
    await b.stop()


async def test_two_nodes_see_each_others_messages_once(two_nodes: tuple[RedisBus, RedisBus]) -> None:
    a, b = two_nodes
    on_a, on_b = await a.subscribe("c"), await b.subscribe("c")
    await a.publish("c", {"from": "a", "n": 1})
    await b.publish("c", {"from": "b", "n": 2})
    await a.publish("c", {"from": "a", "n": 3})
    got_a = [await receive(on_a) for _ in range(3)]
    got_b = [await receive(on_b) for _ in range(3)]
    # Each node's own messages come once (locally), the other's through Redis; a node's own stay in order.
    for got in (got_a, got_b):
        assert sorted(m["n"] for m in got) == [1, 2, 3]
        assert [m["n"] for m in got if m["from"] == "a"] == [1, 3]
    # Nothing extra is queued: the next message each sees is a fresh one.
    await b.publish("c", {"from": "b", "n": 4})
    assert await receive(on_a) == {"from": "b", "n": 4}
    assert await receive(on_b) == {"from": "b", "n": 4}
    # Presence and keys are shared.
    await a.presence_set("room", "p-xie", {"node": "node-a"}, ttl=30)
    assert await b.presence_members("room") == {"p-xie": {"node": "node-a"}}
    assert await a.set_key("owner", {"node": "a"}, ttl=30, only_new=True)
    assert not await b.set_key("owner", {"node": "b"}, ttl=30, only_new=True)


async def next_under(subscription: Subscription) -> tuple[Any, str]:
    """The next message and the request id its consumer logs under now (read in this task, as consumers do)."""
    async with asyncio.timeout(10):
        message = await subscription.get()
    return message, request_id.get()


async def test_a_message_carries_the_request_id_it_was_published_under(bus: Bus) -> None:
    own = request_id.set("consumer-1")
    subscription = await bus.subscribe("c")
    try:
        token = request_id.set("req-4711")
        await bus.publish("c", {"n": 1})
        request_id.reset(token)
        await bus.publish("c", {"n": 2})  # published outside any request: the consumer's own id
        assert await next_under(subscription) == ({"n": 1}, "req-4711")
        assert await next_under(subscription) == ({"n": 2}, "consumer-1")
    finally:
        subscription.close()
        request_id.reset(own)


async def test_the_request_id_crosses_to_the_other_node(two_nodes: tuple[RedisBus, RedisBus]) -> None:
    a, b = two_nodes
    on_b = await b.subscribe("c")
    token = request_id.set("conn-on-a")
    try:
        await a.publish("c", {"op": "join"})
    finally:
        request_id.reset(token)
    assert await next_under(on_b) == ({"op": "join"}, "conn-on-a")
    on_b.close()


async def test_prefixes_keep_hubs_apart() -> None:
    redis_available()
    mine, theirs = RedisBus(REDIS_URL, prefix=prefix(), node_id="x"), RedisBus(REDIS_URL, prefix=prefix(), node_id="y")
    await mine.start()
    await theirs.start()
    try:
        subscription = await mine.subscribe("c")
        await theirs.publish("c", {"theirs": True})
        await theirs.set_key("k", {"theirs": True}, ttl=30)
        await mine.publish("c", {"mine": True})
        assert await receive(subscription) == {"mine": True}
        assert await mine.get_key("k") is None
    finally:
        await mine.stop()
        await theirs.stop()

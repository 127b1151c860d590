"""The Redis bus (redis.asyncio): pub/sub between nodes, presence and keys with TTL, reconnecting with backoff.

Local subscribers get a node's own messages directly, so a node keeps working for the people connected to it
while Redis is away; other nodes get them through Redis (messages carry the sender's node id to skip echoes).

An epoch marker key tells whether Redis still holds what the nodes wrote: the first node to find it missing
writes a new random value, and a node that finds a value other than the one it knew sees that Redis came back
empty (restarted without persistence, flushed). Its connect hooks then run before it reports ready again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hub.bus.base import Bus, Message
from hub.errors import Unavailable
from hub.logs import NO_REQUEST, request_id

log = logging.getLogger(__name__)

# KEYS[1] key; ARGV: expected JSON, new JSON, TTL in ms. Set only if the stored JSON is the expected one.
_CAS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""

_DOWN = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)

# The longest wait between two reconnection attempts (the backoff doubles from 0.1 s up to this).
RECONNECT_MAX_BACKOFF = 5.0
# The epoch marker outlives any running cluster: every connected node renews it hourly.
EPOCH_TTL = 86400
EPOCH_RENEW = 3600.0


class RedisBus(Bus):
    """A bus shared by every node through one Redis."""

    def __init__(self, url: str, *, prefix: str = "cityhub", node_id: str = "local") -> None:
        super().__init__(node_id)
        self.url = url
        self.prefix = prefix
        self._client: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = False
        self._stopping = False
        self._connected = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        self._epoch_renewed = 0.0
        self.reconnects = 0

    def _channel(self, channel: str) -> str:
        return f"{self.prefix}:ch:{channel}"

    async def start(self) -> None:
        self._client = aioredis.Redis.from_url(
            self.url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10,
            # A pooled connection from before Redis restarted fails once: connect again at once, and only for that.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")
        # Start even when Redis is down (the node serves locally and reports not ready); give it a moment to connect.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 3)

    async def stop(self) -> None:
        self._stopping = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._close_subscriptions()
        if self._client is not None:
            await self._client.aclose()
        self._ready = False

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def client(self) -> aioredis.Redis:
        """The Redis client, for components that need more than the bus offers (node registry)."""
        if self._client is None:
            raise RuntimeError("the Redis bus is not started")
        return self._client

    async def _read_forever(self) -> None:
        backoff = 0.1
        while not self._stopping:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                # A control channel keeps the connection subscribed (and so readable) when nothing else is.
                await pubsub.subscribe(self._channel("_control"), *map(self._channel, self._subscriptions))
                await self.client.ping()
                self._pubsub = pubsub
                await self._synced()
                if not self._ready:
                    log.info("redis bus connected to %s (node %s)", self.url, self.node_id)
                    self.connects += 1
                self._ready = True
                self._connected.set()
                backoff = 0.1
                while True:
                    raw = await pubsub.get_message(timeout=1.0)
                    if raw is not None:
                        self._on_raw(raw)
                    if not self._ready or time.monotonic() - self._epoch_renewed > EPOCH_RENEW:
                        # a command failed meanwhile (or an hour went by) while this connection stayed up;
                        # the hooks only run if something may have been missed
                        await self._synced(renewal=self._ready)
                        self._ready = True
            except asyncio.CancelledError:
                raise
            except _DOWN as exc:
                if self._ready:
                    log.warning("redis bus lost its connection: %s; reconnecting", exc)
                self._ready = False
                self._pubsub = None
                self.reconnects += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_BACKOFF)
            finally:
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _synced(self, *, renewal: bool = False) -> bool:
        """Read (or write) the epoch marker, then run the connect hooks; returns whether Redis lost its data.

        A `renewal` (the connection stayed up, the marker's TTL is due) runs the hooks only if the data was lost.
        """
        async with self._sync_lock:
            key = f"{self.prefix}:epoch"
            if await self.client.expire(key, EPOCH_TTL):
                current = str(await self.client.get(key))
            else:  # missing: the first node to see it writes a new one, every node reads the winner's
                await self.client.set(key, uuid.uuid4().hex, ex=EPOCH_TTL, nx=True)
                current = str(await self.client.get(key))
            self._epoch_renewed = time.monotonic()
            lost = self.epoch is not None and current != self.epoch
            if lost:
                log.warning("redis bus: Redis came back without its data (epoch %s, was %s)", current, self.epoch)
            self.epoch = current
            if renewal and not lost:
                return False
            for hook in self._connect_hooks:
                try:
                    await hook(lost)
                except Exception:
                    log.exception("redis bus: a connect hook failed")
            return lost

    async def resync(self) -> bool:
        current = await self._call("epoch", self.client.get(f"{self.prefix}:epoch"))
        if current is not None and current == self.epoch:
            return False
        try:
            return await self._synced()
        except (RedisError, OSError) as exc:
            raise Unavailable("bus_unavailable", "the coordination service is unavailable (epoch)") from exc

    def _on_raw(self, raw: dict[str, Any]) -> None:
        if raw.get("type") != "message":
            return
        channel = str(raw["channel"])[len(self.prefix) + 4 :]
        try:
            envelope = json.loads(raw["data"])
            origin, message = envelope["o"], envelope["m"]
            rid = str(envelope.get("r", NO_REQUEST))[:64]  # a node of an older release sends none
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("redis bus: unreadable message on %s dropped", channel)
            return
        if origin != self.node_id:
            self._deliver_local(channel, message, rid)

    async def _channel_added(self, channel: str) -> None:
        if self._pubsub is not None:
            try:
                await self._pubsub.subscribe(self._channel(channel))
            except _DOWN:
                # The reader resubscribes every channel when it reconnects.
                log.warning("redis bus: subscribe to %s deferred until Redis is back", channel)

    def _channel_removed(self, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is not None:
            task = asyncio.get_running_loop().create_task(self._unsubscribe_remote(pubsub, channel))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _unsubscribe_remote(self, pubsub: Any, channel: str) -> None:
        if channel in self._subscriptions:
            return  # followed again meanwhile (a participant joining again at once): keep it subscribed
        with contextlib.suppress(*_DOWN):
            await pubsub.unsubscribe(self._channel(channel))

    async def publish(self, channel: str, message: Message) -> None:
        rid = request_id.get()
        data = json.dumps({"o": self.node_id, "r": rid, "m": message}, separators=(",", ":"), ensure_ascii=False)
        self._deliver_local(channel, json.loads(data)["m"], rid)
        try:
            await self.client.publish(self._channel(channel), data)
        except _DOWN as exc:
            self._ready = False
            log.warning("redis bus: message on %s reached this node only (%s)", channel, exc)

    async def round_trip(self) -> float | None:
        """A PING's time there and back; None while Redis does not answer (or the bus is stopping)."""
        if self._stopping or self._client is None:
            return None
        started = time.perf_counter()
        try:
            await self.client.ping()
        except (RedisError, OSError):
            return None
        return time.perf_counter() - started

    async def _call(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except (RedisError, OSError) as exc:
            self._ready = False
            raise Unavailable("bus_unavailable", f"the coordination service is unavailable ({what})") from exc

    async def presence_set(self, group: str, member: str, value: Message, ttl: float) -> None:
        key = f"{self.prefix}:presence:{group}"
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(key, {member: time.time() + ttl})
        pipe.hset(f"{key}:values", member, json.dumps(value, ensure_ascii=False))
        pipe.expire(key, int(ttl * 2) + 1)
        pipe.expire(f"{key}:values", int(ttl * 2) + 1)
        await self._call("presence", pipe.execute())

    async def presence_remove(self, group: str, member: str) -> None:
        key = f"{self.prefix}:presence:{group}"
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(key, member)
        pipe.hdel(f"{key}:values", member)
        await self._call("presence", pipe.execute())

    async def presence_members(self, group: str) -> dict[str, Message]:
        key = f"{self.prefix}:presence:{group}"
        now = time.time()
        expired = await self._call("presence", self.client.zrangebyscore(key, "-inf", now))
        if expired:
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(key, *expired)
            pipe.hdel(f"{key}:values", *expired)
            await self._call("presence", pipe.execute())
        members = await self._call("presence", self.client.zrangebyscore(key, now, "+inf"))
        if not members:
            return {}
        values = await self._call("presence", self.client.hmget(f"{key}:values", members))
        return {m: json.loads(v) for m, v in zip(members, values, strict=True) if v is not None}

    async def set_key(self, key: str, value: Message, ttl: float, *, only_new: bool = False) -> bool:
        data = json.dumps(value, ensure_ascii=False)
        result = await self._call(
            "key", self.client.set(f"{self.prefix}:key:{key}", data, px=max(1, int(ttl * 1000)), nx=only_new)
        )
        return bool(result)

    async def compare_and_set(self, key: str, expected: Message, value: Message, ttl: float) -> bool:
        # get_key's value dumped again is byte for byte what set_key stored (same dumps, key order kept).
        old, new = json.dumps(expected, ensure_ascii=False), json.dumps(value, ensure_ascii=False)
        result = await self._call("key", self.client.eval(
            _CAS, 1, f"{self.prefix}:key:{key}", old, new, str(max(1, int(ttl * 1000)))
        ))
        return bool(result)

    async def get_key(self, key: str) -> Message | None:
        data = await self._call("key", self.client.get(f"{self.prefix}:key:{key}"))
        return None if data is None else json.loads(data)

    async def delete_key(self, key: str) -> None:
        await self._call("key", self.client.delete(f"{self.prefix}:key:{key}"))

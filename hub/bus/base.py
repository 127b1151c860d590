"""The bus interface: publish/subscribe on channels, presence with TTL, and small shared keys with TTL."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from hub.logs import NO_REQUEST, request_id

log = logging.getLogger(__name__)

Message = dict[str, Any]
# Called with `lost` each time a bus (re)connects: True when Redis came back without the data it held.
ConnectHook = Callable[[bool], Awaitable[None]]


class Subscription:
    """Messages of one channel, in order, for one consumer: `async for message in subscription`.

    Each message comes with the request or connection id it was published under, on whichever node: the consumer's
    log lines while it handles the message carry that id (hub.logs.request_id), so one id follows a request from
    the node whose socket it came in on to the node that acts on it.
    """

    def __init__(self, channel: str, on_close: Callable[[Subscription], None], maxsize: int = 1000) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[tuple[str, Message] | None] = asyncio.Queue(maxsize)
        self._on_close = on_close
        self._own_id: str | None = None  # the consumer's own id (at its first get): for messages of no request
        self.closed = False
        self.dropped = 0

    def deliver(self, message: Message, rid: str = NO_REQUEST) -> None:
        """Queue a message (published under `rid`); a consumer that falls 1000 messages behind loses the oldest,
        not the bus."""
        if self.closed:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            log.warning("bus subscriber of %s is slow: dropped a message (%d so far)", self.channel, self.dropped)
        self._queue.put_nowait((rid, message))

    async def get(self) -> Message | None:
        """The next message, or None once closed; the caller's request id is now the one it was published under."""
        if self.closed and self._queue.empty():
            return None
        if self._own_id is None:
            self._own_id = request_id.get()
        item = await self._queue.get()
        if item is None:
            return None
        rid, message = item
        request_id.set(rid if rid != NO_REQUEST else self._own_id)
        return message

    def close(self) -> None:
        """Stop receiving; a consumer waiting in `get` gets None."""
        if self.closed:
            return
        self.closed = True
        self._on_close(self)
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            message = await self.get()
            if message is None:
                return
            yield message

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus(ABC):
    """What every node shares: events on channels, who is online (presence), and small keys with TTL."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._subscriptions: dict[str, set[Subscription]] = {}
        # Which life of the shared data this node last saw (Redis: a marker key; a restart without persistence
        # empties it and a new one is written). None: never connected.
        self.epoch: str | None = None
        self._connect_hooks: list[ConnectHook] = []
        self.connects = 0  # times this node (re)connected to the shared bus (the first one included)

    def on_connect(self, hook: ConnectHook) -> None:
        """Run `hook(lost)` after every reconnection, before the bus reports ready again (in registration order)."""
        self._connect_hooks.append(hook)

    async def resync(self) -> bool:
        """Whether the shared data was lost since this node last saw it; if so, the connect hooks run first."""
        return False

    @abstractmethod
    async def start(self) -> None:
        """Connect; the bus is usable afterwards."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect and close every subscription."""

    @property
    @abstractmethod
    def ready(self) -> bool:
        """Whether the bus reaches every node right now (for /readyz)."""

    @abstractmethod
    async def publish(self, channel: str, message: Message) -> None:
        """Send a JSON-able message to every subscriber of the channel on every node, this one included."""

    async def subscribe(self, channel: str) -> Subscription:
        """Receive the messages published on a channel from the moment this returns."""
        subscription = Subscription(channel, self._unsubscribe)
        first = channel not in self._subscriptions
        self._subscriptions.setdefault(channel, set()).add(subscription)
        if first:
            await self._channel_added(channel)
        return subscription

    async def round_trip(self) -> float | None:
        """Seconds a command to the shared store takes there and back; None: no such store, or no answer."""
        return None

    def local_subscribers(self, channel: str) -> int:
        """How many consumers on this node follow a channel (each one costs a queue and a task)."""
        return len(self._subscriptions.get(channel, ()))

    def _unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.channel)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscriptions[subscription.channel]
            self._channel_removed(subscription.channel)

    def _deliver_local(self, channel: str, message: Message, rid: str) -> None:
        for subscription in list(self._subscriptions.get(channel, ())):
            subscription.deliver(message, rid)

    def _close_subscriptions(self) -> None:
        for subscribers in list(self._subscriptions.values()):
            for subscription in list(subscribers):
                subscription.close()

    async def _channel_added(self, channel: str) -> None:  # noqa: B027 - a hook, empty unless a bus needs it
        """A first local subscriber for a channel (Redis subscribes)."""

    def _channel_removed(self, channel: str) -> None:  # noqa: B027 - a hook, empty unless a bus needs it
        """The last local subscriber left a channel (Redis unsubscribes)."""

    @abstractmethod
    async def presence_set(self, group: str, member: str, value: Message, ttl: float) -> None:
        """Say that `member` of `group` is online for `ttl` seconds (refresh before it runs out)."""

    @abstractmethod
    async def presence_remove(self, group: str, member: str) -> None:
        """Say that a member left."""

    @abstractmethod
    async def presence_members(self, group: str) -> dict[str, Message]:
        """The members online now, with their values."""

    @abstractmethod
    async def set_key(self, key: str, value: Message, ttl: float, *, only_new: bool = False) -> bool:
        """Store a value for `ttl` seconds; with only_new, only if the key is absent. Returns whether it was set."""

    @abstractmethod
    async def compare_and_set(self, key: str, expected: Message, value: Message, ttl: float) -> bool:
        """Replace a key's value only if it still is `expected` (as read by get_key), atomically across nodes."""

    @abstractmethod
    async def get_key(self, key: str) -> Message | None:
        """The value of a key, or None when absent or expired."""

    @abstractmethod
    async def delete_key(self, key: str) -> None:
        """Remove a key."""

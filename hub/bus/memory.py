"""The in-process bus: one node, no Redis. Same semantics as the Redis bus, TTLs included."""

from __future__ import annotations

import asyncio
import copy
import json
import time

from hub.bus.base import Bus, Message
from hub.logs import request_id


class MemoryBus(Bus):
    """Everything in this process's memory; messages go through JSON so they behave as they would over Redis."""

    def __init__(self, node_id: str = "local") -> None:
        super().__init__(node_id)
        self._presence: dict[str, dict[str, tuple[float, Message]]] = {}
        self._keys: dict[str, tuple[float, Message]] = {}

    async def start(self) -> None:
        self.connects += 1

    async def stop(self) -> None:
        self._close_subscriptions()

    @property
    def ready(self) -> bool:
        return True

    async def publish(self, channel: str, message: Message) -> None:
        self._deliver_local(channel, json.loads(json.dumps(message)), request_id.get())
        await asyncio.sleep(0)

    async def presence_set(self, group: str, member: str, value: Message, ttl: float) -> None:
        self._presence.setdefault(group, {})[member] = (time.monotonic() + ttl, copy.deepcopy(value))

    async def presence_remove(self, group: str, member: str) -> None:
        members = self._presence.get(group, {})
        members.pop(member, None)
        if not members:
            self._presence.pop(group, None)

    async def presence_members(self, group: str) -> dict[str, Message]:
        now = time.monotonic()
        members = self._presence.get(group, {})
        for member in [m for m, (expires, _) in members.items() if expires <= now]:
            del members[member]
        return {member: copy.deepcopy(value) for member, (_, value) in members.items()}

    async def set_key(self, key: str, value: Message, ttl: float, *, only_new: bool = False) -> bool:
        if only_new and await self.get_key(key) is not None:
            return False
        self._keys[key] = (time.monotonic() + ttl, copy.deepcopy(value))
        return True

    async def compare_and_set(self, key: str, expected: Message, value: Message, ttl: float) -> bool:
        if await self.get_key(key) != expected:
            return False
        self._keys[key] = (time.monotonic() + ttl, copy.deepcopy(value))
        return True

    async def get_key(self, key: str) -> Message | None:
        entry = self._keys.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._keys[key]
            return None
        return copy.deepcopy(entry[1])

    async def delete_key(self, key: str) -> None:
        self._keys.pop(key, None)

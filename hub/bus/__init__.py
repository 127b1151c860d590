"""The cross-instance event bus: in-process by default, Redis (redis.asyncio) for several nodes."""

from hub.bus.base import Bus, Subscription
from hub.bus.memory import MemoryBus
from hub.bus.redis import RedisBus

__all__ = ["Bus", "MemoryBus", "RedisBus", "Subscription", "create_bus"]


def create_bus(redis_url: str, prefix: str, node_id: str) -> Bus:
    """The bus the settings ask for: Redis when a URL is set, in-process otherwise."""
    if redis_url:
        return RedisBus(redis_url, prefix=prefix, node_id=node_id)
    return MemoryBus(node_id=node_id)

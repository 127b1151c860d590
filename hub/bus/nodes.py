"""The node registry: every hub node announces itself on the bus (presence group "nodes") with a TTL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.bus.base import Bus
from hub.errors import HubError

log = logging.getLogger(__name__)

GROUP = "nodes"


@dataclass(frozen=True)
class NodeInfo:
    id: str
    # Where other nodes and nginx reach this node's HTTP/WebSocket server.
    signaling_url: str
    # The address browsers send media to (its host candidates).
    media_address: str
    started_at: float
    draining: bool = False
    load: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape on the bus and in `cityhub nodes`."""
        return {
            "id": self.id,
            "signaling_url": self.signaling_url,
            "media_address": self.media_address,
            "started_at": self.started_at,
            "draining": self.draining,
            "load": dict(self.load),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeInfo:
        return cls(
            id=str(data["id"]),
            signaling_url=str(data.get("signaling_url", "")),
            media_address=str(data.get("media_address", "")),
            started_at=float(data.get("started_at", 0)),
            draining=bool(data.get("draining", False)),
            load={k: float(v) for k, v in dict(data.get("load", {})).items()},
        )


class NodeRegistry:
    """Announces this node every `interval` seconds (TTL three intervals) and lists the live ones."""

    def __init__(
        self, bus: Bus, *, signaling_url: str, media_address: str, interval: float = 5.0,
        load: Callable[[], dict[str, float]] | None = None,
    ) -> None:
        self.bus = bus
        self.interval = interval
        self._load = load or (lambda: {})
        self.info = NodeInfo(
            id=bus.node_id, signaling_url=signaling_url, media_address=media_address, started_at=time.time()
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Announce now and keep announcing."""
        await self._announce()
        self._task = asyncio.create_task(self._run(), name="node-registry")

    async def stop(self) -> None:
        """Stop announcing and leave the registry."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(HubError):
            await self.bus.presence_remove(GROUP, self.info.id)

    async def set_draining(self) -> None:
        """Tell every node this one takes no new work."""
        self.info = NodeInfo(**{**self.info.__dict__, "draining": True})
        await self._announce()

    async def _announce(self) -> None:
        info = NodeInfo(**{**self.info.__dict__, "load": self._load()})
        self.info = info
        try:
            await self.bus.presence_set(GROUP, info.id, info.to_dict(), ttl=self.interval * 3)
        except HubError as exc:
            # Redis away: keep serving locally; the next announcement re-registers this node.
            log.warning("node %s: announcement failed (%s)", info.id, exc.message)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._announce()

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes, oldest first."""
        members = await self.bus.presence_members(GROUP)
        return sorted((NodeInfo.from_dict(v) for v in members.values()), key=lambda n: (n.started_at, n.id))

"""The node registry: every hub node announces itself on the bus (presence group "nodes") with a TTL.

After Redis came back empty (see hub.bus.redis, the epoch), a node first re-writes what others must find (its
room claims: `first_on_reconnect`), then announces itself with the new epoch. Until every node it knew before
has done so (or `settle` seconds have passed), `settling` is true: nobody may place a meeting or declare a
node dead on the strength of a registry and claims that are still being rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
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
    # The bus epoch under which this node last re-wrote its claims (see the module doc).
    epoch: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape on the bus and in `cityhub nodes`."""
        return {
            "id": self.id,
            "signaling_url": self.signaling_url,
            "media_address": self.media_address,
            "started_at": self.started_at,
            "draining": self.draining,
            "load": dict(self.load),
            "epoch": self.epoch,
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
            epoch=str(data.get("epoch", "")),
        )


class NodeRegistry:
    """Announces this node every `interval` seconds (TTL three intervals) and lists the live ones."""

    def __init__(
        self, bus: Bus, *, signaling_url: str, media_address: str, interval: float = 5.0,
        load: Callable[[], dict[str, float]] | None = None, settle: float | None = None,
    ) -> None:
        self.bus = bus
        self.interval = interval
        # Longer than a claim's TTL plus the bus's longest reconnection wait: every live node is back by then.
        self.settle = settle if settle is not None else 3 * interval + 5.0
        self._load = load or (lambda: {})
        self.info = NodeInfo(
            id=bus.node_id, signaling_url=signaling_url, media_address=media_address, started_at=time.time()
        )
        self._task: asyncio.Task[None] | None = None
        self._reconnect_hooks: list[Callable[[], Awaitable[None]]] = []
        self._seen: set[str] = set()  # the live nodes at the last listing while the bus was sound
        self._awaited: set[str] = set()  # nodes known before Redis came back empty, not announced again yet
        self._settle_until = 0.0

    def first_on_reconnect(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Work done after a reconnection before this node announces itself again (e.g. re-writing claims)."""
        self._reconnect_hooks.append(hook)

    async def start(self) -> None:
        """Announce now and keep announcing (at once again after every reconnection of the bus)."""
        self.info = replace(self.info, epoch=self.bus.epoch or "")
        self.bus.on_connect(self._reconnected)
        await self._announce()
        with contextlib.suppress(HubError):
            await self.nodes()
        self._task = asyncio.create_task(self._run(), name="node-registry")

    async def _reconnected(self, lost: bool) -> None:
        if lost:
            self._awaited = self._seen - {self.info.id}
            self._settle_until = time.monotonic() + self.settle
            log.warning("node %s: Redis came back empty; no meeting is placed or moved for up to %.1f s, until "
                        "these nodes announce themselves again: %s", self.info.id, self.settle,
                        ", ".join(sorted(self._awaited)) or "none")
        for hook in self._reconnect_hooks:
            await hook()
        self.info = replace(self.info, epoch=self.bus.epoch or "")
        await self._announce()

    @property
    def settling(self) -> bool:
        """Whether Redis came back empty a moment ago and the nodes known before are not all back yet."""
        return time.monotonic() < self._settle_until

    async def settled(self) -> None:
        """Wait while settling: until every node known before re-announced under the new epoch, or the grace ends."""
        while self.settling:
            members = await self.bus.presence_members(GROUP)
            back = {m for m, v in members.items() if v.get("epoch") == self.bus.epoch}
            self._awaited -= back
            if not self._awaited:
                self._settle_until = 0.0
                log.info("node %s: every node is back after Redis came back empty", self.info.id)
                return
            await asyncio.sleep(min(self.interval / 5, max(self._settle_until - time.monotonic(), 0.0)))
        if self._awaited:
            log.warning("node %s: gave up waiting for %s after Redis came back empty", self.info.id,
                        ", ".join(sorted(self._awaited)))
            self._awaited = set()

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
        self.info = replace(self.info, draining=True)
        await self._announce()

    async def _announce(self) -> None:
        info = replace(self.info, load=self._load())
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
            with contextlib.suppress(HubError):
                await self.nodes()  # who is live, should Redis come back empty: see `settling`

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes, oldest first."""
        members = await self.bus.presence_members(GROUP)
        if self.bus.ready and not self.settling:
            self._seen = set(members)
        return sorted((NodeInfo.from_dict(v) for v in members.values()), key=lambda n: (n.started_at, n.id))

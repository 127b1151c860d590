"""Meetings over several nodes: each meeting's media lives on one owner node; other nodes relay to it over the bus.

Placement (as LiveKit does it): the first join of a meeting claims the Redis key `room.{meeting_id}` for the
least-loaded live node that is not draining (SET NX with a TTL the owner refreshes). A claim whose node is gone
from the node registry is taken over atomically (compare-and-set), so the next join after an owner died places
the meeting again. A participant whose WebSocket is on another node keeps it there: its join, offer, answer,
candidates and leave travel as requests on `node.{owner}.rpc` and the owner's replies (and its SFU's own offers)
come back on `node.{origin}.reply`. The SDP answer is the owner's, so its ICE candidates carry the owner's media
address and the media goes straight to the owner (relay of signaling, not redirect: see docs/deploy.md).

Nodes that die: a node whose registry entry expired is gone. Participants of this node whose media was on it are
told to join again (`NodeLossListener.media_lost`); peers in this node's SFU whose socket was on it are taken out
of the SFU and out of the meeting (`NodeLossListener.node_lost`). Right after Redis came back empty, no node is
gone and no meeting is placed until the registry has settled (hub.bus.nodes); owners re-write their claims before
they re-announce.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from hub.bus.base import Bus, Message
from hub.bus.nodes import NodeInfo, NodeRegistry
from hub.errors import Conflict, HubError, Unavailable
from signaling.media_router import LocalMediaRouter, OfferSink
from signaling.sfu import Sfu, TrackInfo, TrackSource

log = logging.getLogger(__name__)

Key = tuple[str, str]


class NodeLossListener(Protocol):
    """Who hears of participants cut off by a node that died (the meeting rooms)."""

    async def media_lost(self, meeting_id: str, participant_id: str) -> None:
        """A participant of this node whose media was on the dead node: it must join again."""

    async def node_lost(self, meeting_id: str, participant_id: str) -> None:
        """A peer in this node's SFU whose socket was on the dead node (already out of the SFU)."""


def room_key(meeting_id: str) -> str:
    """The Redis key naming a meeting's owner node."""
    return f"room.{meeting_id}"


def rpc_channel(node_id: str) -> str:
    return f"node.{node_id}.rpc"


def reply_channel(node_id: str) -> str:
    return f"node.{node_id}.reply"


def load_score(node: NodeInfo) -> tuple[float, float, str]:
    """Fewer media peers first, then fewer sessions; the id breaks ties so every node ranks alike."""
    return node.load.get("media_peers", 0.0), node.load.get("sessions", 0.0), node.id


class ClusterMediaRouter:
    """A MediaRouter for several nodes: local rooms in this node's SFU, the others' through their owner."""

    def __init__(self, bus: Bus, registry: NodeRegistry, local: LocalMediaRouter, *, claim_ttl: float = 15.0,
                 rpc_timeout: float = 10.0) -> None:
        self.bus = bus
        self.registry = registry
        self.local = local
        self.claim_ttl = claim_ttl
        self.rpc_timeout = rpc_timeout
        self._listener: NodeLossListener | None = None
        self.node_id = bus.node_id
        self.owners: dict[Key, str] = {}  # participants on this node -> the node holding their media
        self.remote_peers: dict[Key, str] = {}  # peers in this node's SFU -> the node their socket is on
        self._sinks: dict[Key, OfferSink] = {}
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._locks: dict[Key, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []

    def listen(self, listener: NodeLossListener) -> None:
        """Tell `listener` of the participants a dead node cut off."""
        self._listener = listener

    @property
    def sfu(self) -> Sfu:
        """This node's SFU (the rooms this node owns)."""
        return self.local.sfu

    async def start(self) -> None:
        """Answer other nodes' requests, read replies, keep this node's claims alive."""
        rpc = await self.bus.subscribe(rpc_channel(self.node_id))
        replies = await self.bus.subscribe(reply_channel(self.node_id))
        # After a reconnection (Redis perhaps emptied) this node's claims are back before the node itself is.
        self.registry.first_on_reconnect(self.claim_rooms)
        self._loops = [
            asyncio.create_task(self._serve(rpc), name="media-rpc"),
            asyncio.create_task(self._read_replies(replies), name="media-replies"),
            asyncio.create_task(self._maintain(), name="media-claims"),
        ]

    async def stop(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        for future in self._pending.values():
            future.cancel()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- placement -----------------------------------------------------------------------------------------

    async def place(self, meeting_id: str) -> str:
        """The node that holds the meeting's media: the live claim's, or the least-loaded live node's (claimed)."""
        try:
            if await self.bus.resync() or self.registry.settling:
                # Redis came back empty: the owner of this meeting may not have re-written its claim yet
                await self.registry.settled()
            nodes = {n.id: n for n in await self.registry.nodes()}
            for _ in range(3):
                claim = await self.bus.get_key(room_key(meeting_id))
                owner = str(claim.get("node", "")) if claim else ""
                if owner == self.node_id or owner in nodes:
                    return owner
                candidates = sorted((n for n in nodes.values() if not n.draining), key=load_score)
                chosen = candidates[0].id if candidates else self.node_id
                new = {"node": chosen}
                if claim is None:
                    taken = await self.bus.set_key(room_key(meeting_id), new, self.claim_ttl, only_new=True)
                else:
                    taken = await self.bus.compare_and_set(room_key(meeting_id), claim, new, self.claim_ttl)
                    if taken:
                        log.info("meeting %s: owner %s is gone, placed again on %s", meeting_id, owner, chosen)
                if taken:
                    log.info("meeting %s: media placed on node %s", meeting_id, chosen)
                    return chosen
        except HubError as exc:
            # Redis away: whoever joins here is served here (the claim is written again once Redis is back).
            log.warning("meeting %s: placement unavailable (%s), media stays on this node", meeting_id, exc.message)
            return self.node_id
        raise Unavailable("placement_contended", "the meeting could not be placed: try again")

    async def claim_rooms(self) -> None:
        """Write (or refresh) the claims of the rooms in this node's SFU."""
        for meeting_id in list(self.local.sfu.rooms):
            await self.bus.set_key(room_key(meeting_id), {"node": self.node_id}, self.claim_ttl)

    async def _maintain(self) -> None:
        """Refresh this node's claims; let go of the participants that a node gone from the registry held."""
        while True:
            await asyncio.sleep(self.claim_ttl / 3)
            try:
                await self.claim_rooms()
                if not self.bus.ready or self.registry.settling:
                    continue  # the registry is being rebuilt: a node missing from it now is not dead
                live = {n.id for n in await self.registry.nodes()}
            except HubError as exc:
                log.warning("node %s: claims not refreshed (%s)", self.node_id, exc.message)
                continue
            gone = {*self.owners.values(), *self.remote_peers.values()} - live - {self.node_id}
            if gone:
                await self._forget(gone)

    async def _forget(self, gone: set[str]) -> None:
        for key, owner in list(self.owners.items()):
            if owner in gone:
                log.info("meeting %s: owner node %s is gone; %s must join again", key[0], owner, key[1])
                self.owners.pop(key, None)
                self._sinks.pop(key, None)
                if self._listener is not None:
                    await self._listener.media_lost(*key)
        for key, origin in list(self.remote_peers.items()):
            if origin in gone:
                log.info("meeting %s: node %s of participant %s is gone; its peer leaves", key[0], origin, key[1])
                self.remote_peers.pop(key, None)
                self._locks.pop(key, None)
                await self.local.leave(*key)
                if self._listener is not None:
                    await self._listener.node_lost(*key)

    # --- the MediaRouter interface -------------------------------------------------------------------------

    def _owner_of(self, meeting_id: str, participant_id: str) -> str:
        owner = self.owners.get((meeting_id, participant_id))
        if owner is None:
            raise Conflict("no_media_session", "the media connection is gone: join the meeting again")
        return owner

    async def join(self, meeting_id: str, participant_id: str, on_offer: OfferSink) -> None:
        owner = await self.place(meeting_id)
        key = (meeting_id, participant_id)
        if owner == self.node_id:
            await self.local.join(meeting_id, participant_id, on_offer)
        else:
            self._sinks[key] = on_offer
            try:
                await self._request(owner, "join", meeting_id, participant_id)
            except HubError:
                self._sinks.pop(key, None)
                raise
        self.owners[key] = owner

    async def leave(self, meeting_id: str, participant_id: str) -> None:
        key = (meeting_id, participant_id)
        owner = self.owners.pop(key, None)
        self._sinks.pop(key, None)
        if owner is None or owner == self.node_id:
            await self.local.leave(meeting_id, participant_id)
            return
        try:
            await self._request(owner, "leave", meeting_id, participant_id)
        except HubError as exc:
            log.info("meeting %s: leave of %s not relayed to %s (%s)", meeting_id, participant_id, owner, exc.message)

    async def offer(self, meeting_id: str, participant_id: str, sdp: str, sources: Mapping[str, str]) -> str:
        owner = self._owner_of(meeting_id, participant_id)
        if owner == self.node_id:
            return await self.local.offer(meeting_id, participant_id, sdp, sources)
        result = await self._request(owner, "offer", meeting_id, participant_id, sdp=sdp, sources=dict(sources))
        return str(result["sdp"])

    async def answer(self, meeting_id: str, participant_id: str, sdp: str) -> None:
        owner = self._owner_of(meeting_id, participant_id)
        if owner == self.node_id:
            await self.local.answer(meeting_id, participant_id, sdp)
        else:
            await self._request(owner, "answer", meeting_id, participant_id, sdp=sdp)

    async def candidate(self, meeting_id: str, participant_id: str, candidate: Mapping[str, Any] | None) -> None:
        owner = self._owner_of(meeting_id, participant_id)
        if owner == self.node_id:
            await self.local.candidate(meeting_id, participant_id, candidate)
        else:
            value = dict(candidate) if candidate is not None else None
            await self._request(owner, "candidate", meeting_id, participant_id, candidate=value)

    async def view(self, meeting_id: str, participant_id: str, visible: list[str], last_n: int | None) -> None:
        owner = self._owner_of(meeting_id, participant_id)
        if owner == self.node_id:
            await self.local.view(meeting_id, participant_id, visible, last_n)
        else:
            await self._request(owner, "view", meeting_id, participant_id, visible=visible, last_n=last_n)

    async def tracks(self, meeting_id: str) -> list[TrackInfo]:
        try:
            claim = await self.bus.get_key(room_key(meeting_id))
        except HubError:
            claim = None
        owner = str(claim.get("node", "")) if claim else self.node_id
        if owner == self.node_id:
            return await self.local.tracks(meeting_id)
        try:
            result = await self._request(owner, "tracks", meeting_id, "")
        except HubError as exc:
            log.info("meeting %s: tracks of owner %s unknown (%s)", meeting_id, owner, exc.message)
            return []
        return [TrackInfo(track_id=t["track_id"], participant_id=t["participant_id"], kind=t["kind"],
                          source=TrackSource(t["source"])) for t in result["tracks"]]

    def remote_participant(self, meeting_id: str, participant_id: str) -> str | None:
        """The node whose socket a peer of this SFU belongs to, when it is not this node."""
        return self.remote_peers.get((meeting_id, participant_id))

    # --- requests to other nodes ---------------------------------------------------------------------------

    async def _request(self, node: str, op: str, meeting_id: str, participant_id: str, **fields: Any) -> Message:
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self.bus.publish(rpc_channel(node), {
                "id": request_id, "from": self.node_id, "op": op, "meeting_id": meeting_id,
                "participant_id": participant_id, **fields,
            })
            reply = await asyncio.wait_for(future, self.rpc_timeout)
        except TimeoutError:
            log.warning("meeting %s: node %s did not answer %s for %s within %.1f s (meetings.relay_timeout)",
                        meeting_id, node, op, participant_id or "-", self.rpc_timeout)
            raise Unavailable("media_node_unreachable",
                              f"the node holding this meeting's media ({node}) does not answer") from None
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise HubError(str(error.get("code", "media_error")), str(error.get("message", "media request failed")),
                           int(error.get("status", 502)))
        return dict(reply.get("result") or {})

    async def _read_replies(self, replies: Any) -> None:
        async for message in replies:
            if message.get("kind") == "offer":
                sink = self._sinks.get((str(message.get("meeting_id")), str(message.get("participant_id"))))
                if sink is not None:
                    self._spawn(sink(str(message.get("sdp", ""))))
                continue
            future = self._pending.get(str(message.get("id")))
            if future is not None and not future.done():
                future.set_result(message)

    # --- serving other nodes' requests ---------------------------------------------------------------------

    async def _serve(self, requests: Any) -> None:
        async for message in requests:
            key = (str(message.get("meeting_id", "")), str(message.get("participant_id", "")))
            lock = self._locks.setdefault(key, asyncio.Lock())
            # one task per request, in order per participant (asyncio.Lock wakes waiters first come first served)
            self._spawn(self._handle(lock, message))

    async def _handle(self, lock: asyncio.Lock, message: Message) -> None:
        origin = str(message.get("from", ""))
        reply: Message = {"kind": "reply", "id": message.get("id")}
        async with lock:
            try:
                reply.update(ok=True, result=await self._perform(origin, message))
            except HubError as exc:
                reply.update(ok=False, error={"code": exc.code, "message": exc.message, "status": exc.status})
            except Exception:
                log.exception("media request %s from %s failed", message.get("op"), origin)
                reply.update(ok=False, error={"code": "media_error", "message": "the media node failed", "status": 500})
        with contextlib.suppress(HubError):
            await self.bus.publish(reply_channel(origin), reply)

    async def _perform(self, origin: str, message: Message) -> Message:
        op = message.get("op")
        meeting_id, participant_id = str(message["meeting_id"]), str(message["participant_id"])
        key = (meeting_id, participant_id)
        if op == "join":
            async def on_offer(sdp: str) -> None:
                await self.bus.publish(reply_channel(origin), {
                    "kind": "offer", "meeting_id": meeting_id, "participant_id": participant_id, "sdp": sdp,
                })

            await self.local.join(meeting_id, participant_id, on_offer)
            self.remote_peers[key] = origin
            return {}
        if op == "leave":
            self.remote_peers.pop(key, None)
            self._locks.pop(key, None)
            await self.local.leave(meeting_id, participant_id)
            return {}
        if op == "offer":
            sources = {str(k): str(v) for k, v in dict(message.get("sources") or {}).items()}
            return {"sdp": await self.local.offer(meeting_id, participant_id, str(message["sdp"]), sources)}
        if op == "answer":
            await self.local.answer(meeting_id, participant_id, str(message["sdp"]))
            return {}
        if op == "candidate":
            await self.local.candidate(meeting_id, participant_id, message.get("candidate"))
            return {}
        if op == "view":
            visible = [str(p) for p in message.get("visible") or []]
            last_n = message.get("last_n")
            await self.local.view(meeting_id, participant_id, visible, last_n if isinstance(last_n, int) else None)
            return {}
        if op == "tracks":
            tracks = await self.local.tracks(meeting_id)
            return {"tracks": [{"track_id": t.track_id, "participant_id": t.participant_id, "kind": t.kind,
                                "source": t.source.value} for t in tracks]}
        raise HubError("bad_request", f"unknown media request {op!r}", 400)

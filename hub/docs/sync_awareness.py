"""Awareness relay of one document room: who owns which awareness client id, stamping, removal on leave.

Several nodes: states a room on another node accepted (checked and stamped there) come in through the bus and
are bound to that node; a local connection may take such an id over with a newer clock (a tab that reconnected
through another node), and states from another node that are not renewed within y-protocols' 30 s timeout
are dropped (a node that died sends no removals).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.docs.sync_protocol import ProtocolError, Reader, write_var_bytes, write_var_uint

log = logging.getLogger(__name__)

# y-protocols' outdatedTimeout: clients renew their state every 15 s and drop others' not renewed for 30 s.
REMOTE_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: str  # JSON text; "null" means the client is gone


def decode_awareness(update: bytes) -> list[AwarenessEntry]:
    """Decode a y-protocols awareness update; raises ProtocolError on anything malformed."""
    reader = Reader(update)
    count = reader.var_uint()
    if count > 1024:
        raise ProtocolError("too many awareness entries")
    entries = []
    for _ in range(count):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        state = reader.var_string()
        try:
            parsed = json.loads(state)
        except ValueError as exc:
            raise ProtocolError("awareness state is not JSON") from exc
        if parsed is not None and not isinstance(parsed, dict):
            raise ProtocolError("awareness state is neither an object nor null")
        entries.append(AwarenessEntry(client_id, clock, state))
    if not reader.done:
        raise ProtocolError("trailing bytes after the awareness update")
    return entries


def encode_awareness(entries: Iterable[AwarenessEntry]) -> bytes:
    items = list(entries)
    out = [write_var_uint(len(items))]
    for entry in items:
        out.append(write_var_uint(entry.client_id))
        out.append(write_var_uint(entry.clock))
        out.append(write_var_bytes(entry.state.encode("utf-8")))
    return b"".join(out)


def stamp_state(state: str, user: Mapping[str, Any] | None) -> str:
    """Overwrite the fields of ``state["user"]`` given by the server (e.g. the directory name)."""
    if user is None or state == "null":
        return state
    parsed = json.loads(state)
    current = parsed.get("user")
    parsed["user"] = {**(current if isinstance(current, dict) else {}), **user}
    return json.dumps(parsed, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class NodeOwner:
    """The owner of the awareness states relayed from another node."""

    node: str


class AwarenessRelay:
    """The awareness states of one room, each client id bound to the one connection that announced it."""

    def __init__(self, doc_id: str) -> None:
        self._doc_id = doc_id
        self._entries: dict[int, AwarenessEntry] = {}
        self._owners: dict[int, object] = {}
        self._renewed: dict[int, float] = {}  # client ids of other nodes -> when their state last came in

    def all_entries(self) -> list[AwarenessEntry]:
        self._expire()
        return [e for e in self._entries.values() if e.state != "null"]

    def local_entries(self) -> list[AwarenessEntry]:
        """The states of this node's own connections (what other nodes ask for when a room opens there)."""
        return [e for cid, e in self._entries.items()
                if e.state != "null" and not isinstance(self._owners.get(cid), NodeOwner)]

    def states(self) -> dict[int, Any]:
        """Current states by client id (decoded), for tests and diagnostics."""
        self._expire()
        return {cid: json.loads(e.state) for cid, e in self._entries.items() if e.state != "null"}

    def _expire(self) -> None:
        now = time.monotonic()
        for client_id in [cid for cid, at in self._renewed.items() if now - at > REMOTE_TIMEOUT]:
            self._forget(client_id)

    def _forget(self, client_id: int) -> None:
        self._entries.pop(client_id, None)
        self._owners.pop(client_id, None)
        self._renewed.pop(client_id, None)

    def apply_remote(self, node: str, entries: list[AwarenessEntry]) -> list[AwarenessEntry]:
        """Take the entries another node accepted (removals included); return what to relay to this node's clients."""
        owner = NodeOwner(node)
        accepted = []
        for entry in entries:
            previous = self._entries.get(entry.client_id)
            removal = entry.state == "null"
            if removal:
                # y-protocols: a removal carries the clock of the state it removes
                if self._owners.get(entry.client_id) != owner or previous is None or previous.clock > entry.clock:
                    continue
                self._forget(entry.client_id)
            else:
                if previous is not None and previous.clock >= entry.clock:
                    continue
                self._owners[entry.client_id] = owner
                self._entries[entry.client_id] = entry
                self._renewed[entry.client_id] = time.monotonic()
            accepted.append(entry)
        return accepted

    def apply(self, owner: object, owner_label: str, entries: list[AwarenessEntry],
              user: Mapping[str, Any] | None) -> list[AwarenessEntry]:
        """Accept the entries ``owner`` may send; return what to relay to the others."""
        accepted = []
        for entry in entries:
            previous = self._entries.get(entry.client_id)
            if previous is not None and previous.clock >= entry.clock:
                # Stale, or y-websocket echoing states it received (it re-broadcasts every awareness change).
                continue
            bound = self._owners.get(entry.client_id)
            if isinstance(bound, NodeOwner):
                # the tab moved here from another node (its clock is newer): this connection may own the id now
                bound = None
            if bound is not None and bound is not owner:
                log.warning("doc %s: awareness for client id %d refused from %s: owned by another connection",
                            self._doc_id, entry.client_id, owner_label)
                continue
            if bound is None:
                owned = [cid for cid, o in self._owners.items() if o is owner]
                if owned or entry.state == "null":  # a null for an unknown id: an echoed removal
                    if owned and entry.state != "null":
                        log.warning("doc %s: awareness for a second client id %d refused from %s (owns %d)",
                                    self._doc_id, entry.client_id, owner_label, owned[0])
                    continue
            stamped = AwarenessEntry(entry.client_id, entry.clock, stamp_state(entry.state, user))
            self._renewed.pop(entry.client_id, None)
            self._owners[entry.client_id] = owner
            self._entries[entry.client_id] = stamped
            accepted.append(stamped)
        return accepted

    def remove_owner(self, owner: object) -> list[AwarenessEntry]:
        """Forget the client ids of a connection that left; return the removal entries to relay."""
        removed = []
        for client_id in [cid for cid, o in self._owners.items() if o is owner]:
            del self._owners[client_id]
            previous = self._entries.pop(client_id, None)
            if previous is not None and previous.state != "null":
                # Same clock and a null state: y-protocols removes the state without a newer clock, so a
                # tab that reconnects with the same client id is shown again at its next renewal.
                removed.append(AwarenessEntry(client_id, previous.clock, "null"))
        return removed

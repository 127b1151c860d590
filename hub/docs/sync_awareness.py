"""Awareness relay of one document room: who owns which awareness client id, stamping, removal on leave."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.docs.sync_protocol import ProtocolError, Reader, write_var_bytes, write_var_uint

log = logging.getLogger(__name__)


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


class AwarenessRelay:
    """The awareness states of one room, each client id bound to the one connection that announced it."""

    def __init__(self, doc_id: str) -> None:
        self._doc_id = doc_id
        self._entries: dict[int, AwarenessEntry] = {}
        self._owners: dict[int, object] = {}

    def all_entries(self) -> list[AwarenessEntry]:
        return [e for e in self._entries.values() if e.state != "null"]

    def states(self) -> dict[int, Any]:
        """Current states by client id (decoded), for tests and diagnostics."""
        return {cid: json.loads(e.state) for cid, e in self._entries.items() if e.state != "null"}

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

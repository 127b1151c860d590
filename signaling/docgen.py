"""Writes docs/signaling.md from the registered commands and events: the protocol document cannot drift.

`python -m signaling.docgen` rewrites the file; tests/signaling/test_protocol_doc.py fails when it is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from signaling.calls import calls as call_commands
from signaling.meetings import commands as meeting_commands
from signaling.notifications import commands as notification_commands
from signaling.protocol import Commands
from signaling.server import core
from signaling.socket import CloseCode

DOC = Path(__file__).resolve().parents[1] / "docs" / "signaling.md"

# Every registry hub.app registers; a domain adding one adds it here too (the doc test checks the running hub).
REGISTRIES: list[Commands] = [core, meeting_commands, call_commands, notification_commands]

INTRO = """# /ws signaling protocol

Generated from the code by `python -m signaling.docgen` (do not edit by hand; a test fails when this file
and the registered schemas disagree).

One WebSocket per browser tab at `/ws`. Browsers are authenticated by the session cookie at the upgrade
(and their `Origin` must be the hub's); other clients send an `auth` message with a bearer token within
the auth timeout (10 s by default). The server pings every `heartbeat` seconds; a peer that stops
answering is dropped, and everything it had joined is cleaned up.

## Envelope

- Request: `{"id": 7, "type": "meeting.join", ...fields}`; ids are positive integers that increase.
- Success: `{"id": 7, "type": "result", "success": true, "result": {...}}`.
- Refusal: `{"id": 7, "type": "result", "success": false, "error": {"code": "not_chair", "message": "..."}}`;
  the connection stays open. Malformed JSON, a message without a valid id, an unknown type, a reused id, a
  schema violation (`invalid_message`, with `field`), an oversized SDP (`sdp_too_large`): all refusals.
  Fields are read as the JSON types given below, as REST bodies are (docs/api.md): `0` or `"false"` is no
  boolean, `"5"` no number, and a field a message does not name is refused.
- Event: `{"type": "event", "event": "participant.joined", "data": {...}}`.
- Requests of one connection are handled one at a time, and the events that arise while one is handled are
  sent after its reply: a result (a meeting's participants, a dialled call) is never overtaken by an event
  that changes it.

## Limits and close codes

Frames above `signaling.max_frame_bytes` close the socket; sending faster than `signaling.rate` messages
per second (burst `signaling.burst`) closes it; SDPs above `signaling.max_sdp_bytes` are refused.

| code | meaning |
|---|---|
"""

SESSION_LIFETIME = """
## Session lifetime

A connection lives as long as its token: at its `exp` plus `jwt.leeway` the server sends `session.expired`
and closes with 4001, unless the client renewed it before. To renew, a client sends `auth.renew {token}`
with a fresh token of the same person; a browser tab gets one from `POST /api/v1/auth/session/renew`
(which also renews its session cookie) a few minutes before `me.expires_at` of `hello`, so a meeting of any
length goes on without a reconnect. The directory decides again at every renewal: a revoked token or a
deactivated person gets `session.revoked` and the close code 4003.

Revocations (`cityhub token revoke`, sign-out, the admin API) and directory changes (`cityhub directory
import`, with `active: false` or `--prune`) reach every node within `jwt.change_poll` seconds plus the time to
close, made by any process, with Redis or without: they are written to a change log in the database in the
same transaction, which every node polls (and, with Redis, announced on the bus at once).
"""

MEETING_FLOW = """
## Meeting flow

1. `meeting.join {meeting_id, audio, video}` → `status: "joined"` with the participants, published tracks,
   recent chat and ICE servers, or `status: "lobby"` (wait for `lobby.admitted` or `lobby.denied`).
   `audio` and `video` say whether the microphone and camera are on as the person comes in (both on if
   left out), so the others never see a camera that was off from the start as on.
   The result (and `lobby.admitted`) is a snapshot of the meeting: no event of the meeting reaches the tab
   before it, and an event that follows it may repeat what it already shows (something that happened while
   the join was on its way in). Apply events as they come: a participant in an event replaces the one
   known, a track is published or not, and a chat message is shown once (by its `id`).
2. The client offers its tracks (`sdp.offer`, with `sources` naming each mid's camera / microphone /
   screen); the result carries the SFU's answer. Client candidates trickle with `ice.candidate`.
3. Whenever tracks come or go the SFU sends `sdp.offer` events; the client answers with `sdp.answer`.
   The server is the impolite side: a client offer during a server offer is refused with `glare`; the
   client rolls back, answers, then offers again.
4. Each received stream's msid track id is the `track_id` of `track.published`, which names the
   participant and the source, so tiles are labelled with the person's name and org unit.
5. After a network drop the client reconnects the socket and joins again with `replaces` set to its old
   participant id (that one is removed at once) and a fresh peer connection.

Every event published on the bus channel `meeting.{id}` (by any domain, e.g. supervision's
`decision.recorded`) is forwarded to that meeting's participants.

## Call flow (video phone, peer to peer; details in docs/calls.md)

1. Each phone tab or terminal sends `call.register`; the caller sends `call.dial` (`person`, `unit` or
   `extension`) and gets the call (`ringing`, or `ended` with `busy` / `unavailable`) and its ICE servers.
2. Every device of each callee gets `call.incoming`; the first `call.answer` wins, the others get
   `call.ringing_stopped` (`answered_elsewhere`). `call.decline`, `call.cancel`, `call.hangup` end it;
   an unanswered call ends `missed` after `calls.ring_timeout`.
3. The caller gets `call.answered` and sends its offer with `call.signal`; the callee answers with
   `call.signal`; candidates trickle with `call.signal`. Both get `call.ended` with the outcome.
4. After a network drop the same person's new socket sends `call.resume` within `calls.reconnect_grace`.
5. `call.to_meeting` adds a third person: the call ends with outcome `meeting`, both ends go to the
   meeting, the third gets `call.meeting_invite`.
"""


def _schema(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2, sort_keys=True)


def render(registries: list[Commands] | None = None) -> str:
    """The whole protocol document."""
    parts = [INTRO]
    codes = {name: value for name, value in vars(CloseCode).items() if name.isupper()}
    for name, value in sorted(codes.items(), key=lambda item: item[1]):
        parts.append(f"| {value} | {name.lower().replace('_', ' ')} |\n")
    parts.append(SESSION_LIFETIME)
    parts.append(MEETING_FLOW)
    for registry in registries or REGISTRIES:
        parts.append(f"\n## Domain `{registry.name}`\n\n### Messages\n\n| type | what |\n|---|---|\n")
        for command in registry.commands.values():
            public = " (before auth)" if command.public else ""
            parts.append(f"| `{command.name}` | {command.summary}{public} |\n")
        if registry.events:
            parts.append("\n### Events\n\n| event | what |\n|---|---|\n")
            for event in registry.events.values():
                parts.append(f"| `{event.name}` | {event.summary} |\n")
        for command in registry.commands.values():
            parts.append(f"\n#### message `{command.name}`\n\n{command.summary}.\n\n```json\n"
                         f"{_schema(command.schema)}\n```\n")
        for event in registry.events.values():
            parts.append(f"\n#### event `{event.name}`\n\n{event.summary}.\n\n```json\n{_schema(event.schema)}\n```\n")
    return "".join(parts)


def main() -> int:
    """Rewrite docs/signaling.md; with --check, only say whether it is current."""
    text = render()
    if "--check" in sys.argv[1:]:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is stale: run python -m signaling.docgen", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

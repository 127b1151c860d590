"""The /ws message envelope and the command registry: handlers are registered with their schema.

Requests: `{"id": 7, "type": "meeting.join", ...}`; replies: `{"id": 7, "type": "result", "success": true,
"result": {...}}` or `{"id": 7, "type": "result", "success": false, "error": {"code", "message"}}`; pushed events:
`{"type": "event", "event": "participant.joined", "data": {...}}`. docs/signaling.md is generated from this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from signaling.session import Session

Result = dict[str, Any] | None
R = TypeVar("R", bound="Request")


# Request ids are integers a browser counts exactly (Number.MAX_SAFE_INTEGER).
MAX_ID = 2**53 - 1


class Request(BaseModel):
    """The fields every request has; each message type adds its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int = Field(ge=1, le=MAX_ID)
    type: str


class AuthRequest(Request):
    token: str = Field(min_length=1, max_length=8192)


class RenewRequest(Request):
    token: str = Field(min_length=1, max_length=8192)


class PingRequest(Request):
    pass


@dataclass(frozen=True)
class Command(Generic[R]):
    name: str
    schema: type[R]
    handler: Callable[[Session, R], Awaitable[Result]]
    summary: str
    # Whether the command may be sent before the socket is authenticated.
    public: bool = False


@dataclass(frozen=True)
class EventSpec:
    name: str
    schema: type[BaseModel]
    summary: str


class Commands:
    """A set of commands and the events they push, registered by a domain: `@commands.command("x.y", XY)`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: dict[str, Command[Any]] = {}
        self.events: dict[str, EventSpec] = {}

    def command(
        self, type_: str, schema: type[R], summary: str, *, public: bool = False
    ) -> Callable[[Callable[[Session, R], Awaitable[Result]]], Callable[[Session, R], Awaitable[Result]]]:
        """Register a handler for a message type, validated against its schema before it runs."""

        def register(handler: Callable[[Session, R], Awaitable[Result]]) -> Callable[[Session, R], Awaitable[Result]]:
            if type_ in self.commands:
                raise ValueError(f"command {type_} registered twice")
            self.commands[type_] = Command(type_, schema, handler, summary, public)
            return handler

        return register

    def event(self, name: str, schema: type[BaseModel], summary: str) -> None:
        """Declare an event this domain pushes (for the protocol document and its test)."""
        self.events[name] = EventSpec(name, schema, summary)


def result_message(request_id: int, result: Result) -> dict[str, Any]:
    return {"id": request_id, "type": "result", "success": True, "result": result if result is not None else {}}


def error_message(request_id: int | None, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": request_id,
        "type": "result",
        "success": False,
        "error": {"code": code, "message": message, **extra},
    }


def event_message(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "event": event, "data": data}

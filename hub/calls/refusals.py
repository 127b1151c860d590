"""The refusals of the call state machine that say why a call cannot be acted on any more."""

from __future__ import annotations

from hub.calls.model import Call, CallState
from hub.errors import Conflict, HubError


def ended_error(call: Call) -> HubError:
    """call_ended, with the outcome."""
    outcome = call.outcome.value if call.outcome else "ended"
    return Conflict("call_ended", f"the call has ended ({outcome})", extra={"outcome": outcome})


def check_ringing(call: Call, device_id: str) -> None:
    """Refuse to act on a call that no longer rings, saying why."""
    if call.state is CallState.ACTIVE:
        if call.answered_device == device_id:
            raise Conflict("already_answered", "you answered this call already")
        raise Conflict("answered_elsewhere", "the call was answered on another device",
                       extra={"answered_by": call.answered_by})
    if call.state is CallState.ENDED:
        raise ended_error(call)

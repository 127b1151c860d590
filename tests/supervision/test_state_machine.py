"""The item state machine, written out here on its own, not read from the table under test (ALLOWED_FROM).

Issue #11: letting CLOSE happen from ASSIGNED, or CANCEL from a closed item, left every supervision test green,
because the tests took their idea of what is legal from ALLOWED_FROM itself. This table is the specification
(docs/supervision.md, "Items and who may do what"); flipping any one entry of the production table fails.
"""

from __future__ import annotations

import pytest

from hub.supervision import model
from hub.supervision.model import Action, Status

# action -> {state it may start from: state it leads to}; a state not listed refuses the action (409).
EXPECTED: dict[str, dict[str, str]] = {
    "accept": {"assigned": "accepted"},
    "report": {"accepted": "in_progress", "in_progress": "in_progress",
               "extension_requested": "extension_requested"},
    "submit": {"accepted": "submitted", "in_progress": "submitted"},
    "return": {"submitted": "in_progress"},
    "close": {"submitted": "closed"},
    "request_extension": {"accepted": "extension_requested", "in_progress": "extension_requested"},
    "grant_extension": {"extension_requested": "in_progress"},
    "deny_extension": {"extension_requested": "in_progress"},
    "cancel": {"assigned": "cancelled", "accepted": "cancelled", "in_progress": "cancelled",
               "extension_requested": "cancelled", "submitted": "cancelled"},
    "comment": {"assigned": "assigned", "accepted": "accepted", "in_progress": "in_progress",
                "extension_requested": "extension_requested", "submitted": "submitted", "closed": "closed",
                "cancelled": "cancelled"},
}
STATES = ("assigned", "accepted", "in_progress", "extension_requested", "submitted", "closed", "cancelled")


def legal(action: str, status: str) -> bool:
    """Whether the specification lets `action` start from `status`."""
    return status in EXPECTED[action]


def assert_transitions_as_specified() -> None:
    """The production table and next_status agree with EXPECTED, entry by entry."""
    assert sorted(a.value for a in Action) == sorted(EXPECTED)
    assert sorted(s.value for s in Status) == sorted(STATES)
    for action in Action:
        for status in Status:
            allowed = status in model.ALLOWED_FROM[action]
            assert allowed == legal(action.value, status.value), (action.value, status.value)
            if allowed:
                assert model.next_status(action, status).value == EXPECTED[action.value][status.value]


def test_the_state_machine_is_as_specified() -> None:
    assert_transitions_as_specified()


@pytest.mark.parametrize(("action", "status"), [(a, s) for a in Action for s in Status])
def test_flipping_any_entry_of_the_table_fails_the_test(monkeypatch: pytest.MonkeyPatch, action: Action,
                                                        status: Status) -> None:
    monkeypatch.setitem(model.ALLOWED_FROM, action, model.ALLOWED_FROM[action] ^ {status})
    with pytest.raises(AssertionError):
        assert_transitions_as_specified()

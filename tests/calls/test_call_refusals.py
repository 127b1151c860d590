"""Bad input to the phone: an error with a code, and the call state stays consistent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub import keys
from hub.calls.channels import presence_group
from signaling.ws_client import SignalingError
from tests.calls.conftest import Phone
from tests.conftest import Hub


async def refused(client: object, type_: str, **fields: object) -> SignalingError:
    with pytest.raises(SignalingError) as error:
        await client.request(type_, **fields)  # type: ignore[attr-defined]
    return error.value


BAD_TARGETS = [
    ({"extension": "0000"}, "extension_not_found"),
    ({"person": "nobody"}, "person_not_found"),
    ({"unit": "no-such-unit"}, "org_unit_not_found"),
    ({"person": "p-xie"}, "cannot_call_yourself"),
    ({}, "invalid_target"),
    ({"person": "drc-01", "extension": "8201"}, "invalid_target"),
]


async def test_unknown_or_bad_targets_are_refused(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    for target, code in BAD_TARGETS:
        assert (await refused(caller, "call.dial", **target)).code == code, target
    # nothing is left hanging: the caller's line is free and the log is empty
    log = await (await calls_hub.client.get("/api/v1/calls", headers=calls_hub.auth("p-xie"))).json()
    assert log["total"] == 0
    await phone("drc-01")
    assert (await caller.request("call.dial", person="drc-01"))["call"]["state"] == "ringing"


async def test_deactivated_callee_is_refused(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    await calls_hub.app[keys.DIRECTORY].set_active("drc-05", False)
    assert (await refused(caller, "call.dial", extension="8205")).code == "callee_inactive"


async def test_terminal_may_call_its_district_and_departments_only(calls_hub: Hub, phone: Phone) -> None:
    terminal = await phone("shinan-office-term", device="terminal")
    await phone("licang-office-01")
    await phone("shinan-01")
    await phone("drc-01")
    forbidden = await refused(terminal, "call.dial", person="licang-office-01")
    assert forbidden.code == "call_forbidden"
    assert (await refused(terminal, "call.dial", extension="6300")).code == "call_forbidden"
    assert (await refused(terminal, "call.dial", person="gov-01")).code == "call_forbidden"
    own_district = await terminal.request("call.dial", person="shinan-01")
    assert own_district["call"]["state"] == "ringing"
    await terminal.request("call.cancel", call_id=own_district["call"]["id"])
    department = await terminal.request("call.dial", extension="8201")
    assert department["call"]["state"] == "ringing"


async def test_strangers_cannot_touch_a_call(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    stranger = await phone("drc-01")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await callee.event("call.incoming")
    for type_ in ("call.answer", "call.decline", "call.hangup", "call.cancel"):
        assert (await refused(stranger, type_, call_id=call_id)).code == "not_a_party"
    signal = await refused(stranger, "call.signal", call_id=call_id, description={"type": "offer", "sdp": "x"})
    assert signal.code == "not_a_party"
    # the caller may not answer or decline their own call; the callee may not cancel it
    assert (await refused(caller, "call.answer", call_id=call_id)).code == "not_callee"
    assert (await refused(callee, "call.cancel", call_id=call_id)).code == "not_caller"
    # signaling before the call is answered goes nowhere
    early = await refused(caller, "call.signal", call_id=call_id, description={"type": "offer", "sdp": "x"})
    assert early.code == "not_a_party"
    assert (await refused(stranger, "call.answer", call_id="no-such-call")).code == "call_not_found"
    response = await calls_hub.client.get(f"/api/v1/calls/{call_id}", headers=calls_hub.auth("drc-01"))
    assert response.status == 403 and (await response.json())["error"]["code"] == "not_a_party"
    # after all that the call still rings and can be answered
    answered = await callee.request("call.answer", call_id=call_id)
    assert answered["call"]["state"] == "active"


async def test_malformed_call_messages_are_refused(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    bad_device = await refused(caller, "call.register", device="fax")
    assert bad_device.code == "invalid_message" and bad_device.data["field"] == "device"
    both = await refused(caller, "call.signal", call_id="x", description={"type": "offer", "sdp": "v"},
                         candidate={"candidate": "c"})
    assert both.code == "invalid_message"
    huge = await refused(caller, "call.signal", call_id="x", description={"type": "offer", "sdp": "v" * 70_000})
    assert huge.code == "sdp_too_large"
    assert (await refused(caller, "call.answer", call_id="")).code == "invalid_message"


async def test_bad_log_queries_are_refused(calls_hub: Hub) -> None:
    headers = calls_hub.auth("p-xie")
    response = await calls_hub.client.get("/api/v1/calls?limit=0", headers=headers)
    assert response.status == 400 and (await response.json())["error"]["field"] == "limit"
    response = await calls_hub.client.get("/api/v1/calls")
    assert response.status == 401
    response = await calls_hub.client.get("/api/v1/calls/presence", headers=headers)
    assert response.status == 400 and (await response.json())["error"]["field"] == "people"


async def test_presence_lists_each_online_device(calls_hub: Hub, phone: Phone) -> None:
    headers = calls_hub.auth("p-xie")
    url = "/api/v1/calls/presence?people=shinan-office-term,gov-01,nobody"

    async def presence() -> dict[str, Any]:
        response = await calls_hub.client.get(url, headers=headers)
        assert response.status == 200
        return dict((await response.json())["people"])

    assert await presence() == {"shinan-office-term": {"online": False, "devices": []},
                                "gov-01": {"online": False, "devices": []}}
    terminal = await phone("shinan-office-term", device="terminal")
    await phone("shinan-office-term")
    online = await presence()
    assert sorted(d["kind"] for d in online["shinan-office-term"]["devices"]) == ["browser", "terminal"]
    assert online["gov-01"]["online"] is False
    await terminal.close()
    for _ in range(50):
        later = await presence()
        if len(later["shinan-office-term"]["devices"]) == 1:
            break
        await asyncio.sleep(0.05)
    assert [d["kind"] for d in later["shinan-office-term"]["devices"]] == ["browser"]
    too_many = ",".join(f"p{i}" for i in range(51))
    response = await calls_hub.client.get(f"/api/v1/calls/presence?people={too_many}", headers=headers)
    assert response.status == 400 and (await response.json())["error"]["field"] == "people"


async def test_sweep_misses_calls_whose_caller_device_is_gone(calls_hub: Hub, phone: Phone) -> None:
    """A node that died cannot run its sockets' cleanups: presence runs out and the sweep ends its calls as missed."""
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await callee.event("call.incoming")
    service = calls_hub.app[keys.CALLS]
    device = caller.registration["device_id"]  # type: ignore[attr-defined]
    await service.bus.presence_remove(presence_group("p-xie"), device)
    await service.keeper.sweep()
    assert (await callee.event("call.ringing_stopped"))["reason"] == "missed"
    assert (await callee.event("call.missed"))["count"] == 1
    call = await service.get(calls_hub.app[keys.SIGNALING].sessions_of("p-xie")[0].principal, call_id)  # type: ignore[arg-type]
    assert call.outcome is not None and call.outcome.value == "missed" and call.ended_by is None

"""A call becomes a meeting: a third person is added, both ends are moved, the third is invited."""

from __future__ import annotations

import pytest

from signaling.ws_client import SignalingClient, SignalingError
from tests.calls.conftest import Phone
from tests.conftest import Hub


async def answered_call(caller: SignalingClient, callee: SignalingClient, person: str) -> str:
    call_id = str((await caller.request("call.dial", person=person))["call"]["id"])
    await callee.event("call.incoming")
    await callee.request("call.answer", call_id=call_id)
    await caller.event("call.answered")
    return call_id


async def test_adding_a_third_person_moves_the_call_into_a_meeting(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    third = await phone("drc-01")
    call_id = await answered_call(caller, callee, "gov-office-03")
    moved = await callee.request("call.to_meeting", call_id=call_id, person="drc-01")
    meeting_id = moved["meeting_id"]
    assert moved["url"] == f"/meetings/{meeting_id}"
    assert moved["call"]["outcome"] == "meeting" and moved["call"]["meeting_id"] == meeting_id
    ended = await caller.event("call.ended")
    assert ended["call"]["outcome"] == "meeting" and ended["call"]["meeting_id"] == meeting_id
    invite = await third.event("call.meeting_invite")
    assert invite["meeting_id"] == meeting_id and invite["by"]["name"] == "蒋平"
    assert invite["title"] == "谢继成 · 蒋平 · 彭淑珍"
    for person in ("p-xie", "gov-office-03", "drc-01"):
        response = await calls_hub.client.get(f"/api/v1/meetings/{meeting_id}", headers=calls_hub.auth(person))
        assert response.status == 200, person
        meeting = await response.json()
        assert meeting["chair"] == "gov-office-03" and meeting["lobby"] is False
        assert sorted(meeting["invited_people"]) == ["drc-01", "gov-office-03", "p-xie"]
    # the lines are free again: the two can call others
    assert (await caller.request("call.dial", person="drc-01"))["call"]["state"] == "ringing"


async def test_turning_a_call_into_a_meeting_is_refused_when_it_should_be(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    stranger = await phone("drc-02")
    terminal = await phone("shinan-office-term", device="terminal")
    office = await phone("shinan-office-01")

    async def refused(client: SignalingClient, **fields: str) -> str:
        with pytest.raises(SignalingError) as error:
            await client.request("call.to_meeting", **fields)
        return error.value.code

    ringing_id = str((await caller.request("call.dial", person="gov-office-03"))["call"]["id"])
    await callee.event("call.incoming")
    assert await refused(caller, call_id=ringing_id, person="drc-01") == "call_not_active"
    await callee.request("call.answer", call_id=ringing_id)
    assert await refused(stranger, call_id=ringing_id, person="drc-01") == "not_a_party"
    assert await refused(caller, call_id=ringing_id, person="gov-office-03") == "already_in_the_call"
    assert await refused(caller, call_id=ringing_id, person="nobody") == "person_not_found"
    assert await refused(caller, call_id="no-such-call", person="drc-01") == "call_not_found"
    # a terminal may not start meetings
    term_call = await answered_call(terminal, office, "shinan-office-01")
    assert await refused(terminal, call_id=term_call, person="shinan-01") == "meeting_forbidden"
    # after all that, both calls still go on
    for client, call_id in ((caller, ringing_id), (terminal, term_call)):
        assert (await client.request("call.hangup", call_id=call_id))["call"]["outcome"] == "answered"
    assert await refused(caller, call_id=ringing_id, person="drc-01") == "call_ended"

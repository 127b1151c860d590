"""The call state machine over /ws: ring every device, first answer wins, relay, hang up, the log."""

from __future__ import annotations

import asyncio

import pytest

from hub import keys
from hub.calls.model import CallState
from signaling.ws_client import SignalingClient, SignalingError
from tests.calls.conftest import RECONNECT_GRACE, Phone
from tests.conftest import Hub


async def ringing(client: SignalingClient) -> dict[str, object]:
    """The next incoming call on a device."""
    return await client.event("call.incoming", within=5)


async def test_two_tabs_ring_first_answer_wins_and_the_other_stops(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    tab_a = await phone("gov-office-03")
    tab_b = await phone("gov-office-03")
    placed = await caller.request("call.dial", person="gov-office-03")
    call_id = placed["call"]["id"]
    assert placed["call"]["state"] == "ringing"
    for tab in (tab_a, tab_b):
        incoming = await ringing(tab)
        assert incoming["call"]["id"] == call_id
        assert incoming["caller"]["name"] == "谢继成" and incoming["caller"]["unit_name"] == "市公用事业局"

    answered = await tab_a.request("call.answer", call_id=call_id)
    assert answered["call"]["state"] == "active" and answered["call"]["answered_by"] == "gov-office-03"
    stopped = await tab_b.event("call.ringing_stopped")
    assert stopped == {"call_id": call_id, "reason": "answered_elsewhere"}
    assert (await caller.event("call.answered"))["call"]["id"] == call_id
    with pytest.raises(SignalingError) as late:
        await tab_b.request("call.answer", call_id=call_id)
    assert late.value.code == "answered_elsewhere"

    # media signaling goes from one end to the other, and only between the two devices in the call
    await caller.request("call.signal", call_id=call_id, description={"type": "offer", "sdp": "v=0 offer"})
    relayed = await tab_a.event("call.signal")
    assert relayed["description"] == {"type": "offer", "sdp": "v=0 offer"}
    candidate = {"candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    await tab_a.request("call.signal", call_id=call_id, candidate=candidate)
    assert (await caller.event("call.signal"))["candidate"]["sdpMid"] == "0"
    with pytest.raises(SignalingError) as outsider:
        await tab_b.request("call.signal", call_id=call_id, description={"type": "answer", "sdp": "x"})
    assert outsider.value.code == "not_a_party"

    # /metrics counts the calls going on in the whole hub as the sweeper reads them
    service = calls_hub.app[keys.CALLS]
    await service.keeper.sweep()
    assert service.live_counts == {CallState.ACTIVE: 1}
    await asyncio.sleep(0.2)
    ended = await tab_a.request("call.hangup", call_id=call_id)
    assert ended["call"]["outcome"] == "answered" and ended["call"]["duration"] >= 0.2
    assert (await caller.event("call.ended"))["call"]["outcome"] == "answered"

    log = await calls_hub.client.get("/api/v1/calls", headers=calls_hub.auth("p-xie"))
    entry = (await log.json())["items"][0]
    assert entry["id"] == call_id and entry["direction"] == "outgoing" and entry["duration"] >= 0.2
    assert entry["target_card"]["name"] == "蒋平" and entry["missed"] is False
    theirs = await (await calls_hub.client.get("/api/v1/calls", headers=calls_hub.auth("gov-office-03"))).json()
    assert theirs["items"][0]["direction"] == "incoming" and theirs["missed_unseen"] == 0
    for moment in ("dialled_at", "ringing_at", "answered_at", "ended_at"):
        assert entry[moment] is not None


async def test_busy_callee_gives_a_busy_signal_and_a_missed_call(calls_hub: Hub, phone: Phone) -> None:
    first = await phone("p-xie")
    callee = await phone("gov-office-03")
    other = await phone("drc-01")
    call_id = (await first.request("call.dial", person="gov-office-03"))["call"]["id"]
    await ringing(callee)
    await callee.request("call.answer", call_id=call_id)
    busy = await other.request("call.dial", extension="8103")
    assert busy["call"]["state"] == "ended" and busy["call"]["outcome"] == "busy"
    assert (await callee.event("call.missed"))["count"] == 1
    # the caller is in a call too: dialling out again is refused, the running call is untouched
    with pytest.raises(SignalingError) as again:
        await first.request("call.dial", person="drc-01")
    assert again.value.code == "already_in_call"
    one = await calls_hub.client.get(f"/api/v1/calls/{call_id}", headers=calls_hub.auth("p-xie"))
    assert (await one.json())["state"] == "active"


async def test_decline_ends_the_call_for_the_caller(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await ringing(callee)
    declined = await callee.request("call.decline", call_id=call_id)
    assert declined["call"]["outcome"] == "declined"
    assert (await caller.event("call.ended"))["call"]["outcome"] == "declined"
    missed = await calls_hub.client.get("/api/v1/calls/missed-count", headers=calls_hub.auth("gov-office-03"))
    assert (await missed.json())["count"] == 0


async def test_cancel_stops_ringing_and_answering_afterwards_is_refused(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await ringing(callee)
    cancelled = await caller.request("call.cancel", call_id=call_id)
    assert cancelled["call"]["outcome"] == "cancelled"
    assert (await callee.event("call.ringing_stopped"))["reason"] == "cancelled"
    assert (await callee.event("call.missed"))["count"] == 1
    with pytest.raises(SignalingError) as late:
        await callee.request("call.answer", call_id=call_id)
    assert late.value.code == "call_ended" and late.value.data["outcome"] == "cancelled"
    with pytest.raises(SignalingError) as twice:
        await caller.request("call.cancel", call_id=call_id)
    assert twice.value.code == "call_ended"


async def test_unanswered_call_is_missed_and_the_count_shows_until_seen(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await ringing(callee)
    ended = await caller.event("call.ended", within=6)
    assert ended["call"]["outcome"] == "missed" and ended["call"]["answered_at"] is None
    assert (await callee.event("call.ringing_stopped"))["reason"] == "missed"
    assert (await callee.event("call.missed"))["count"] == 1
    headers = calls_hub.auth("gov-office-03")
    missed = await (await calls_hub.client.get("/api/v1/calls?missed=true", headers=headers)).json()
    assert [item["id"] for item in missed["items"]] == [call_id] and missed["items"][0]["missed"] is True
    # the caller's own log has no missed calls
    mine = await (await calls_hub.client.get("/api/v1/calls?missed=true", headers=calls_hub.auth("p-xie"))).json()
    assert mine["total"] == 0
    seen = await calls_hub.client.post("/api/v1/calls/missed/seen", headers=headers)
    assert seen.status == 200
    assert (await callee.event("call.missed"))["count"] == 0
    count = await (await calls_hub.client.get("/api/v1/calls/missed-count", headers=headers)).json()
    assert count == {"count": 0}


async def test_duty_line_rings_the_units_members_and_terminal(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    duty = await phone("shinan-emergency-01")
    other = await phone("shinan-emergency-02")
    terminal = await phone("shinan-emergency-term", device="terminal")
    offline_member_log = calls_hub.auth("shinan-emergency-01")
    placed = await caller.request("call.dial", extension="6120")
    call = placed["call"]
    assert call["target"] == {"kind": "unit", "id": "shinan-emergency", "extension": "6120"}
    assert sorted(call["callees"]) == ["shinan-emergency-01", "shinan-emergency-02", "shinan-emergency-term"]
    for device in (duty, other, terminal):
        incoming = await ringing(device)
        assert incoming["duty_line"]["name"] == "市南区应急管理办公室"
    # one member declines: the line keeps ringing the others
    await other.request("call.decline", call_id=call["id"])
    assert (await other.event("call.ringing_stopped"))["reason"] == "declined"
    await terminal.request("call.answer", call_id=call["id"])
    assert (await duty.event("call.ringing_stopped"))["reason"] == "answered_elsewhere"
    answered = await caller.event("call.answered")
    assert answered["call"]["answered_by"] == "shinan-emergency-term"
    await caller.request("call.hangup", call_id=call["id"])
    assert (await terminal.event("call.ended"))["call"]["outcome"] == "answered"
    count = await (await calls_hub.client.get("/api/v1/calls/missed-count", headers=offline_member_log)).json()
    assert count == {"count": 0}


async def test_callee_with_no_device_online_is_unavailable(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    placed = await caller.request("call.dial", person="gov-office-04")
    assert placed["call"]["state"] == "ended" and placed["call"]["outcome"] == "unavailable"
    count = await calls_hub.client.get("/api/v1/calls/missed-count", headers=calls_hub.auth("gov-office-04"))
    assert (await count.json())["count"] == 1
    # the line is free again: the next call rings
    await phone("gov-office-04")
    again = await caller.request("call.dial", person="gov-office-04")
    assert again["call"]["state"] == "ringing"


async def test_recent_contacts_are_whom_i_called_newest_first(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    await caller.request("call.dial", person="gov-office-04")  # nobody online: unavailable, still in the log
    await caller.request("call.dial", extension="6120")
    recent = await calls_hub.client.get("/api/v1/calls/recent-contacts", headers=calls_hub.auth("p-xie"))
    assert recent.status == 200
    line, person = (await recent.json())["contacts"]
    assert line == {"kind": "unit", "id": "shinan-emergency", "name": "市南区应急管理办公室", "title": "",
                    "unit_id": "shinan-emergency", "unit_name": "市南区应急管理办公室", "extension": "6120"}
    assert person["kind"] == "person" and person["id"] == "gov-office-04" and person["unit_id"]


async def test_a_caller_that_vanishes_cancels_the_ringing_call(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await ringing(callee)
    await caller.close()
    stopped = await callee.event("call.ringing_stopped")
    assert stopped == {"call_id": call_id, "reason": "cancelled"}
    one = await calls_hub.client.get(f"/api/v1/calls/{call_id}", headers=calls_hub.auth("gov-office-03"))
    assert (await one.json())["outcome"] == "cancelled"


async def test_a_party_that_vanishes_ends_the_answered_call_after_the_grace(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await ringing(callee)
    await callee.request("call.answer", call_id=call_id)
    await callee.close()
    # a sweep during the grace leaves the call alone
    await calls_hub.app[keys.CALLS].keeper.sweep()
    one = await calls_hub.client.get(f"/api/v1/calls/{call_id}", headers=calls_hub.auth("p-xie"))
    assert (await one.json())["state"] == "active"
    ended = await caller.event("call.ended", within=5)
    assert ended["call"]["outcome"] == "answered" and ended["call"]["ended_by"] == "gov-office-03"
    # both lines are free: the caller can call someone else
    await phone("drc-01")
    assert (await caller.request("call.dial", person="drc-01"))["call"]["state"] == "ringing"


async def test_a_reconnected_socket_resumes_the_answered_call(calls_hub: Hub, phone: Phone) -> None:
    caller = await phone("p-xie")
    callee = await phone("gov-office-03")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await ringing(callee)
    await callee.request("call.answer", call_id=call_id)
    # someone else's socket cannot take the call over, and neither can a second live tab of the callee
    stranger = await phone("drc-01")
    with pytest.raises(SignalingError) as taken:
        await stranger.request("call.resume", call_id=call_id)
    assert taken.value.code == "not_a_party"
    second_tab = await phone("gov-office-03")
    with pytest.raises(SignalingError) as busy_tab:
        await second_tab.request("call.resume", call_id=call_id)
    assert busy_tab.value.code == "call_on_another_device"
    await callee.close()
    service = calls_hub.app[keys.CALLS]
    for _ in range(100):
        if len(await service.devices("gov-office-03")) == 1:
            break
        await asyncio.sleep(0.02)
    resumed = await second_tab.request("call.resume", call_id=call_id)
    assert resumed["call"]["state"] == "active"
    assert (await caller.event("call.resumed"))["call"]["id"] == call_id
    # signaling now reaches the new socket, and the call outlives the grace
    await caller.request("call.signal", call_id=call_id, description={"type": "offer", "sdp": "v=0 again"})
    assert (await second_tab.event("call.signal"))["description"]["sdp"] == "v=0 again"
    await asyncio.sleep(RECONNECT_GRACE + 0.3)
    one = await calls_hub.client.get(f"/api/v1/calls/{call_id}", headers=calls_hub.auth("p-xie"))
    assert (await one.json())["state"] == "active"
    await second_tab.request("call.hangup", call_id=call_id)
    assert (await caller.event("call.ended"))["call"]["outcome"] == "answered"
    with pytest.raises(SignalingError) as over:
        await second_tab.request("call.resume", call_id=call_id)
    assert over.value.code == "call_ended"

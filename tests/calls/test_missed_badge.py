"""The missed-calls count outside the phone: the Phone link's badge on every page, and `call.watch_missed` for
sockets that are not phones (the meeting room)."""

from __future__ import annotations

import logging
import re

import pytest

from hub import keys
from signaling.ws_client import SignalingClient, SignalingError
from tests.calls.conftest import Phone
from tests.conftest import Hub

PAGES = ("/", "/directory", "/meetings", "/docs", "/supervision", "/phone")
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


async def phone_link(hub: Hub, path: str, person: str = "gov-office-03", headers: dict[str, str] = ZH) -> str:
    """The Phone link of a page's main navigation, with its badge."""
    response = await hub.client.get(path, headers={**hub.auth(person), **headers})
    assert response.status == 200, (path, response.status)
    found = re.search(r'<a href="/phone"[^>]*>.*?</a>', await response.text(), re.S)
    assert found, path
    return found.group(0)


def badge_of(link: str) -> tuple[str | None, str | None]:
    """(the count shown, or None when hidden; the link's aria-label, or None)."""
    badge = re.search(r'<span class="nav-badge"[^>]*?( hidden)?>(\d+)</span>', link)
    assert badge, link
    label = re.search(r'aria-label="([^"]*)"', link)
    return (None if badge.group(1) else badge.group(2)), (label.group(1) if label else None)


async def miss_a_call(phone: Phone, callee: str = "gov-office-03") -> None:
    """A call to someone with no phone open: it cannot ring, and is missed."""
    caller = await phone("p-xie")
    placed = await caller.request("call.dial", person=callee)
    assert placed["call"]["outcome"] == "unavailable"


async def test_every_page_shows_the_missed_calls_on_the_phone_link(calls_hub: Hub, phone: Phone) -> None:
    assert badge_of(await phone_link(calls_hub, "/directory")) == (None, None)
    await miss_a_call(phone)
    for path in PAGES:
        assert badge_of(await phone_link(calls_hub, path)) == ("1", "视频电话，1 个未接来电"), path
    english = await phone_link(calls_hub, "/directory", headers=EN)
    assert badge_of(english) == ("1", "Phone, 1 missed call")
    # the forms a script fills in when the count changes live
    assert 'data-badge-one="Phone, %(num)d missed call"' in english
    assert 'data-badge-other="Phone, %(num)d missed calls"' in english
    await miss_a_call(phone)
    assert badge_of(await phone_link(calls_hub, "/", headers=EN)) == ("2", "Phone, 2 missed calls")
    # only the callee's: the caller has none
    assert badge_of(await phone_link(calls_hub, "/directory", person="p-xie")) == (None, None)
    seen = await calls_hub.client.post("/api/v1/calls/missed/seen", headers=calls_hub.auth("gov-office-03"))
    assert seen.status == 200
    assert badge_of(await phone_link(calls_hub, "/meetings")) == (None, None)


async def test_a_page_renders_without_the_badge_when_the_count_fails(
    calls_hub: Hub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(person_id: str) -> int:
        raise ConnectionError("the call log is out of reach")

    monkeypatch.setattr(calls_hub.app[keys.CALLS].history, "missed_count", broken)
    with caplog.at_level(logging.WARNING, logger="web.pages"):
        link = await phone_link(calls_hub, "/directory")
    assert badge_of(link) == (None, None)  # hidden; a page with a socket may still fill it in
    assert any("missed-calls" in r.getMessage() and "gov-office-03" in r.getMessage() for r in caplog.records)


async def test_a_socket_can_watch_missed_calls_without_becoming_a_phone(calls_hub: Hub, phone: Phone) -> None:
    room = await phone("gov-office-03", register=False)
    assert await room.request("call.watch_missed") == {"missed": 0}
    await miss_a_call(phone)  # the watching socket is no phone: the call found nothing to ring
    assert (await room.event(within=5))["count"] == 1
    assert await room.request("call.watch_missed") == {"missed": 1}  # twice is harmless
    # with a phone open elsewhere the call rings there; the room gets the count and nothing else
    desk = await phone("gov-office-03")
    caller = await phone("drc-01")
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    await desk.event("call.incoming", within=5)
    await caller.request("call.cancel", call_id=call_id)
    assert (await desk.event("call.missed", within=5))["count"] == 2
    assert await room.event(within=5) == {"count": 2, "call_id": call_id}
    seen = await calls_hub.client.post("/api/v1/calls/missed/seen", headers=calls_hub.auth("gov-office-03"))
    assert seen.status == 200
    assert (await room.event(within=5))["count"] == 0
    assert room.events.empty()
    # the same socket then becomes a phone: it rings too
    assert (await room.request("call.register"))["missed"] == 0
    call_id = (await caller.request("call.dial", person="gov-office-03"))["call"]["id"]
    assert (await room.event("call.incoming", within=5))["call"]["id"] == call_id
    await caller.request("call.cancel", call_id=call_id)
    assert (await room.event("call.missed", within=5))["count"] == 1


async def test_watching_missed_calls_is_for_ones_own_signed_in_socket(calls_hub: Hub, phone: Phone) -> None:
    anonymous = SignalingClient(str(calls_hub.client.make_url("/ws")))
    await anonymous.connect()
    try:
        with pytest.raises(SignalingError) as refused:
            await anonymous.request("call.watch_missed")
        assert refused.value.code == "auth_required"
    finally:
        await anonymous.close()
    room = await phone("p-xie", register=False)
    with pytest.raises(SignalingError) as other:
        await room.request("call.watch_missed", person="gov-office-03")
    assert other.value.code == "invalid_message"
    assert await room.request("call.watch_missed") == {"missed": 0}  # the socket goes on

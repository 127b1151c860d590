"""Malformed datagrams on the hub's media ports: random bytes, truncated and mis-typed STUN, DTLS, RTP and RTCP
sent to every ICE port of the SFU are dropped quietly, and the participants' media keeps flowing."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import socket
import struct
from typing import Any

import pytest

from signaling.sfu import Sfu
from tests.sfu.conftest import participants, sfu, sfu_events, wait_for  # noqa: F401 - fixtures

STUN_COOKIE = 0x2112A442


def media_ports(sfu_: Sfu) -> set[tuple[str, int]]:
    """Every host candidate the SFU's peers listen on (from their local descriptions)."""
    found = set()
    for room in sfu_.rooms.values():
        for peer in room.peers.values():
            sdp = peer.pc.localDescription.sdp if peer.pc.localDescription else ""
            for ip, port in re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host", sdp, re.I):
                if "." in ip:
                    found.add((ip, int(port)))
    return found


def stun(message_type: int, body: bytes, *, length: int | None = None, cookie: int = STUN_COOKIE) -> bytes:
    header = struct.pack("!HHI", message_type, len(body) if length is None else length, cookie)
    return header + random.randbytes(12) + body


def garbage(rng: random.Random) -> list[bytes]:
    """One round of bad datagrams: each family, whole, truncated and with lying lengths."""
    attribute = struct.pack("!HH", 0x0006, 200) + b"user"  # USERNAME claiming 200 bytes, carrying 4
    datagrams = [
        b"", b"\x00", b"\x00\x01", b"\x00\x01\x00", bytes(7), bytes(19),
        stun(0x0001, b"")[:21], stun(0x0001, attribute), stun(0x0101, attribute), stun(0x0111, attribute),
        stun(0x0001, b"", length=4000), stun(0x0001, b"\x00\x08\x00\x04abcd"),  # MESSAGE-INTEGRITY too short
        stun(0x0001, struct.pack("!HH", 0x8028, 2) + b"\x00\x00\x00\x00"),  # FINGERPRINT of two bytes
        stun(0x0001, struct.pack("!HH", 0x0020, 4) + b"\x00\x01\x00\x00"),  # XOR-MAPPED-ADDRESS cut short
        stun(0x0001, b"", cookie=0), stun(0x3fff, b""),
        bytes([22, 254, 253]) + bytes(10), bytes([22, 254, 253, 0, 0]) + bytes(8) + b"\xff\xff",  # DTLS records
        bytes([20]), bytes([23, 254, 253]) + rng.randbytes(40),
        bytes([0x80]), bytes([0x80, 96]), bytes([0x80, 96, 0, 1, 0, 0, 0, 1]), bytes([0x90, 96]) + bytes(10),
        bytes([0x8f, 96]) + rng.randbytes(30), bytes([0x80, 200]) + bytes(2), bytes([0x81, 201, 0, 7]) + bytes(4),
        bytes([0x80, 205, 0xff, 0xff]) + rng.randbytes(20), bytes([0xbf, 206]) + rng.randbytes(6),
    ]
    datagrams += [rng.randbytes(rng.randint(1, 1400)) for _ in range(40)]
    datagrams += [bytes([first]) + rng.randbytes(rng.randint(0, 60)) for first in range(256)]
    return datagrams


@pytest.mark.media
async def test_bad_datagrams_are_dropped_and_media_keeps_flowing(sfu: Sfu, participants: Any,  # noqa: F811
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    a, b = [await participants(name) for name in ("alice", "bob")]
    await wait_for(lambda: all(n >= 5 for p in (a, b) for n in p.client.frames().values())
                   and len(a.client.received) == 2 and len(b.client.received) == 2, what="media flowing")
    ports = media_ports(sfu)
    assert ports
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    caplog.set_level(logging.WARNING)
    rng = random.Random(20261205)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setblocking(False)
    try:
        before = b.client.frames()
        for _ in range(5):
            for datagram in garbage(rng):
                for address in ports:
                    sender.sendto(datagram, address)
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        await wait_for(lambda: all(b.client.frames()[t] > before[t] + 10 for t in before), what="media still flowing")
    finally:
        sender.close()
        loop.set_exception_handler(previous_handler)
    assert unhandled == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or "Exception in callback" in r.getMessage()] == []

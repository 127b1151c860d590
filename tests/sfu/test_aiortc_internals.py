"""Guards: fail loudly when an aiortc upgrade changes the private internals the SFU forwards with."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aioice
import aioice.stun
import aiortc
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender

from signaling.media_client import MediaClient
from signaling.sfu import aiortc_internals as internals

pytestmark = pytest.mark.media

RMEM_MAX = int(Path("/proc/sys/net/core/rmem_max").read_text())  # the kernel's cap on a socket's receive buffer


def test_installed_aiortc_is_the_pinned_version_with_every_internal_used() -> None:
    assert aiortc.__version__ == internals.EXPECTED_AIORTC_VERSION
    assert internals.check_internals() == []


def test_guard_reports_a_changed_version_and_a_vanished_private_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "9.9.9")
    monkeypatch.setitem(internals.REQUIRED_CODE_NAMES, RTCRtpSender.send, ("_RTCRtpSender__gone",))
    problems = internals.check_internals()
    assert any("9.9.9" in p for p in problems)
    assert any("_RTCRtpSender__gone" in p for p in problems)


async def _offered_pc() -> tuple[MediaClient, RTCPeerConnection]:
    client = MediaClient("guard")
    server = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    await server.setRemoteDescription(
        aiortc.RTCSessionDescription(sdp=await client.create_offer(), type="offer")
    )
    return client, server


async def test_private_attributes_exist_on_real_receivers_and_senders() -> None:
    client, server = await _offered_pc()
    try:
        transceivers = server.getTransceivers()
        assert [t.kind for t in transceivers] == ["video", "audio"]
        receiver = transceivers[0].receiver
        for name in internals.REQUIRED_CODE_NAMES[RTCRtpReceiver.__init__]:
            assert hasattr(receiver, name), name
        sender = server.addTransceiver("video", direction="sendonly").sender
        for name in internals.REQUIRED_CODE_NAMES[RTCRtpSender.__init__]:
            assert hasattr(sender, name), name
        assert hasattr(sender, "_track_id") and hasattr(sender, "_RTCRtpSender__started")
        assert hasattr(receiver.transport, "_RTCDtlsTransport__rx_packets")
        assert hasattr(receiver.transport, "_rtp_router")

        forwarding = internals.adopt_receiver(receiver)
        assert isinstance(forwarding, internals.ForwardingReceiver)
        assert internals.adopt_receiver(forwarding) is forwarding
        assert not forwarding.decoder_running() and forwarding.packets_received == 0
        adopted = internals.adopt_sender(sender, stream_id="alice", track_id="alice-cam")
        assert isinstance(adopted, internals.ForwardingSender)
        assert not adopted.ready and adopted.negotiated is None and adopted.mid is None
        assert adopted.ssrc == sender._ssrc
    finally:
        await server.close()
        await client.close()


async def test_adopting_a_started_receiver_or_sender_is_refused() -> None:
    client, server = await _offered_pc()
    try:
        receiver = server.getTransceivers()[0].receiver
        receiver._RTCRtpReceiver__started = True
        with pytest.raises(RuntimeError, match="decoder thread"):
            internals.adopt_receiver(receiver)
        receiver._RTCRtpReceiver__started = False
        sender = server.getTransceivers()[1].sender
        sender._RTCRtpSender__started = True
        with pytest.raises(RuntimeError, match="already started"):
            internals.adopt_sender(sender, "x", "y")
        sender._RTCRtpSender__started = False
    finally:
        await server.close()
        await client.close()


def test_decoder_thread_names_match_aiortc() -> None:
    # decoder_threads_alive() finds aiortc's decoder threads by the name RTCRtpReceiver.receive gives them
    consts = RTCRtpReceiver.receive.__code__.co_consts
    assert "-decoder" in consts
    assert "threading" in RTCRtpReceiver.receive.__code__.co_names


async def test_fast_send_path_is_taken_on_a_direct_udp_pair(sfu, participants) -> None:
    from tests.sfu.conftest import wait_for

    a = await participants("alice")
    await participants("bob")
    await wait_for(lambda: len(a.client.frames()) == 2 and min(a.client.frames().values()) > 3, what="media")
    leg = next(iter(sfu.rooms["room-1"].forwarders.values())).legs[0]
    seq = (leg.last_sequence_number + 1) & 0xFFFF  # SRTP refuses replays of old indexes
    header = bytes([0x80, 0x60]) + seq.to_bytes(2, "big") + bytes([0, 0, 0, 2]) + leg.ssrc.to_bytes(4, "big")
    # True (sent synchronously), not None (fell back to aiortc's coroutine path) nor False
    assert leg.sender.try_send_rtp(header + b"\x00", 0, 2, 1) is True
    dtls = leg.sender.transport
    assert dtls._tx_srtp is not None and dtls.transport._connection._nominated.get(1) is not None


async def test_fast_receive_path_is_installed_and_carries_the_media(sfu, participants) -> None:
    from tests.sfu.conftest import wait_for

    a = await participants("alice")
    b = await participants("bob")
    await wait_for(lambda: len(a.client.frames()) == 2 and min(a.client.frames().values()) > 3, what="media")
    transport = b.peer.pc.getTransceivers()[0].receiver.transport
    assert transport.transport._connection._sfu_fast_receive is True
    assert internals.install_fast_receive(transport) is True  # idempotent
    # its sockets hold a stalled loop's worth of media (the kernel reports twice what was asked, capped by
    # net.core.rmem_max): not the 212,992-byte default that lost consent checks under load
    for protocol in transport.transport._connection._protocols:
        size = protocol.transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert size >= min(2 * internals.MEDIA_RECEIVE_BUFFER, 2 * RMEM_MAX)
    # each socket is read in batches on readiness, not one datagram per turn of a busy loop
    loop = asyncio.get_running_loop()
    for protocol in transport.transport._connection._protocols:
        handle = loop._selector.get_key(protocol.transport._sock.fileno()).data[0]
        assert handle._callback is internals.sockets._drain
    before = internals.transport_rx_packets(b.peer.pc.getTransceivers()[0].receiver)
    frames = sum(a.client.frames().values())
    await wait_for(lambda: sum(a.client.frames().values()) > frames + 10, what="media still flowing")
    # the liveness counter keeps counting packets taken by the fast path
    assert internals.transport_rx_packets(b.peer.pc.getTransceivers()[0].receiver) > before


def test_the_fast_clock_is_aiortcs_clock() -> None:
    from aiortc import clock

    # arrival times fed to aiortc's REMB estimator must be on aiortc's own clock (ms since 1900)
    assert abs(internals.ntp_ms() - clock.current_ms()) < 50


async def connected_ice_pair() -> tuple[aioice.Connection, aioice.Connection]:
    """Two aioice connections (as aiortc makes them) connected over this machine's addresses."""
    a = aioice.Connection(ice_controlling=True, components=1)
    b = aioice.Connection(ice_controlling=False, components=1)
    for one in (a, b):
        await one.gather_candidates()
    for one, other in ((a, b), (b, a)):
        for candidate in other.local_candidates:
            await one.add_remote_candidate(candidate)
        await one.add_remote_candidate(None)
        one.remote_username, one.remote_password = other.local_username, other.local_password
    await asyncio.gather(a.connect(), b.connect())
    return a, b


def answer_late(connection: aioice.Connection, delay: float | None) -> None:
    """Make `connection` answer STUN requests `delay` seconds late (None: never)."""
    loop = asyncio.get_running_loop()
    for protocol in connection._protocols:
        send = protocol.send_stun

        def late(message: aioice.stun.Message, addr: Any, send: Any = send) -> None:
            if message.message_class == aioice.stun.Class.REQUEST:
                send(message, addr)
            elif delay is not None:
                loop.call_later(delay, send, message, addr)

        protocol.send_stun = late


async def test_consent_survives_late_answers_and_expires_without_any(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice itself gives each check 0.5 s and closes after six late answers in a row (RFC 7675 asks for 30 s
    # without any answer); checks every 0.2 s and a 1.5 s expiry keep the test short
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    monkeypatch.setattr(internals.ice, "CONSENT_TIMEOUT", 1.5)
    monkeypatch.setattr(internals.ice, "CONSENT_RETRANSMISSIONS", 1)  # a check waits 0.5 + 1 s
    a, b = await connected_ice_pair()
    try:
        answer_late(b, 0.8)  # a busy peer: every answer comes after aioice's 0.5 s
        await asyncio.sleep(5.0)  # aioice alone: closed after 6 x (0.24 + 0.5) = 4.4 s at most
        assert a._query_consent_task is not None and not a._query_consent_task.done()
        answer_late(b, None)  # the peer is gone: no answer at all
        closing = a._query_consent_task
        assert closing is not None
        # consent expires 1.5 s after the last answer; the check under way then waits its 1.5 s out
        await asyncio.wait_for(asyncio.shield(closing), 1.5 + 1.5 + 1.0)
        assert a._query_consent_task is None  # consent expired and the connection closed itself
    finally:
        await a.close()
        await b.close()


def test_the_srtp_protector_writes_what_pylibsrtp_writes() -> None:
    import os

    import pylibsrtp

    def session() -> pylibsrtp.Session:
        policy = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                                  srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM)
        policy.allow_repeat_tx = True
        return pylibsrtp.Session(policy)

    key = os.urandom(28)
    reference, protect = session(), internals.SrtpProtector(session())
    for seq, size in ((1, 20), (2, 1200), (3, 1), (65535, 700), (0, 700)):
        packet = bytes([0x80, 96]) + seq.to_bytes(2, "big") + bytes(4) + (7).to_bytes(4, "big") + os.urandom(size)
        assert protect(packet) == reference.protect(packet)
    with pytest.raises(pylibsrtp.Error):
        protect(bytes([0x80, 96]) + bytes(10) + bytes(1500))  # longer than the session's buffer
    with pytest.raises(pylibsrtp.Error):
        protect(b"\x80")  # not an RTP packet: libsrtp refuses it


async def test_the_socket_poller_reads_every_socket_in_batches() -> None:
    """Every datagram that waits (STUN, DTLS, RTP) reaches its protocol at the next poll; no read on readiness."""
    loop = asyncio.get_running_loop()
    received: list[bytes] = []

    class Protocol(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if data == b"boom":
                raise RuntimeError("a handler that fails")  # logged; the datagrams after it still arrive
            received.append(data)

    transport, protocol = await loop.create_datagram_endpoint(Protocol, local_addr=("127.0.0.1", 0))
    ice = type("Ice", (), {})()
    ice._connection = type("Connection", (), {"_protocols": [type("P", (), {"transport": transport,
                                                                           "error_received": None})()]})()
    stub = ice._connection._protocols[0]
    stub.datagram_received = protocol.datagram_received
    stub.error_received = protocol.error_received
    dtls = type("Dtls", (), {"transport": ice})()
    poller = internals.SocketPoller(0.02)
    assert poller.add(dtls) is True
    fd = transport._sock.fileno()
    with pytest.raises(KeyError):
        loop._selector.get_key(fd)  # nobody waits on the socket: its sender wakes nobody
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(50):
            sender.sendto(b"boom" if i == 10 else bytes([i]), transport.get_extra_info("sockname"))
        await asyncio.sleep(0.1)
        assert received == [bytes([i]) for i in range(50) if i != 10]
        transport.close()
        await asyncio.sleep(0.05)
        assert poller._endpoints == [] and poller._timer is None  # a closed socket is let go, and polling stops
    finally:
        sender.close()

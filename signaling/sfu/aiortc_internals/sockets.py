"""Media sockets: packets taken straight from the socket callback, read in batches, or polled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

import pylibsrtp
from aioice import ice as aioice_ice
from aiortc import rtcdtlstransport as aiortc_dtls
from aiortc import rtp as aiortc_rtp
from aiortc.rtp import RtpPacket

from signaling.sfu.aiortc_internals.receiver import ForwardingReceiver, ntp_ms

logger = logging.getLogger(__name__)

MEDIA_RECEIVE_BUFFER = 1 << 20  # bytes asked for a media socket's receive buffer (the kernel doubles it)


RtpTap = Callable[[bytes, pylibsrtp.Session], None]


def tap_rtp(dtls: aiortc_dtls.RTCDtlsTransport, tap: RtpTap) -> bool:
    """Hand every SRTP media packet of a connected transport to `tap` (with the session that unprotects it),
    straight from the UDP socket callback.

    aiortc queues every datagram and wakes a task per packet (aioice queue -> RTCDtlsTransport.__run). RTP (not
    RTCP, not DTLS, not STUN) on a connected transport skips that: the transport's counters are kept and `tap`
    does the rest synchronously. Everything else keeps aiortc's path. Returns False when the transport has no ICE
    connection yet (call again later); a second tap on the same connection is ignored.
    """
    connection = dtls.transport._connection
    if getattr(connection, "_sfu_fast_receive", False):
        return True
    protocols = list(connection._protocols)
    if not protocols:
        return False
    queue_datagram = connection.data_received

    def media_received(data: bytes) -> None:
        srtp = dtls._rx_srtp
        if srtp is None or dtls._state is not aiortc_dtls.State.CONNECTED or aiortc_rtp.is_rtcp(data):
            queue_datagram(data, 1)
            return
        dtls._RTCDtlsTransport__rx_bytes += len(data)  # type: ignore[attr-defined]
        dtls._RTCDtlsTransport__rx_packets += 1  # type: ignore[attr-defined]
        tap(data, srtp)

    for protocol in protocols:
        _enlarge_receive_buffer(protocol)
        original = protocol.datagram_received

        def datagram_received(data: bytes, addr: tuple[Any, ...], _original: Any = original) -> None:
            # RTP/RTCP start with version 2 (0x80..0xBF); STUN and DTLS never do
            if data and 127 < data[0] < 192:
                media_received(data)
            else:
                _original(data, addr)

        protocol.datagram_received = datagram_received  # type: ignore[method-assign,assignment]
        _read_in_batches(protocol)
    connection._sfu_fast_receive = True  # type: ignore[attr-defined]
    return True


def _enlarge_receive_buffer(protocol: Any) -> None:
    # The kernel's default (212,992 bytes, about 90 datagrams counted with their overhead) is 0.2 s of a
    # subscriber's nine videos: a busy event loop loses media, and the ICE consent checks that ride the same
    # socket with it, until the connection expires. A bigger buffer rides out a stall (net.core.rmem_max caps it).
    transport = getattr(protocol, "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MEDIA_RECEIVE_BUFFER)


def socket_of(transport: asyncio.BaseTransport | None) -> socket.socket | None:
    """The socket of an asyncio datagram transport itself (get_extra_info gives a wrapper without recvfrom)."""
    sock = getattr(transport, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


READ_BATCH = 64  # datagrams read from one media socket per readiness event (asyncio reads one)


def _drain(sock: socket.socket, transport: asyncio.BaseTransport, protocol: asyncio.DatagramProtocol,
           limit: int) -> None:
    """Hand up to `limit` datagrams waiting on `sock` to `protocol`, as asyncio's datagram transport would."""
    for _ in range(limit):
        if transport.is_closing():
            return
        try:
            data, addr = sock.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # an ICMP error report: the socket goes on
            protocol.error_received(exc)
            return
        try:
            protocol.datagram_received(data, addr)
        except Exception:  # as asyncio would for a datagram callback: the next datagram is handled all the same
            logger.exception("a datagram could not be handled")


def _read_in_batches(protocol: aioice_ice.StunProtocol) -> None:
    # asyncio's datagram transport reads one datagram per socket per turn of the event loop: when a turn takes
    # 50 ms (a busy hub while 90 venues join), a venue's socket is read 20 times a second while its camera and
    # microphone send more, and the kernel drops the rest (RcvbufErrors), ICE consent checks with them, until
    # consent expires. Reading what is waiting, up to READ_BATCH, keeps up whatever a turn costs.
    transport = protocol.transport
    sock = socket_of(transport)
    if transport is None or sock is None or transport.is_closing():
        return
    loop = asyncio.get_running_loop()
    loop._add_reader(sock.fileno(), _drain, sock, transport, protocol, READ_BATCH)  # type: ignore[attr-defined]


class SocketPoller:
    """Reads the UDP sockets of ICE connections every `interval` seconds instead of whenever a datagram arrives.

    For a load generator that runs dozens of peers in one process on the same machine as the hub. On loopback
    the sender's sendto() delivers the datagram into the receiver's socket and wakes the receiving process up,
    once per packet, and the process then goes round its event loop for that one packet: the benchmark's venues
    took a third more CPU that way, taken from the two cores the hub shares with them, and a hub sending through
    a network card wakes nobody. The poller drains every socket it holds in one pass, as a batch. Every
    datagram (STUN, DTLS, RTP, RTCP) goes to the same protocol as before, late by at most `interval`.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._endpoints: list[tuple[socket.socket, asyncio.DatagramTransport, aioice_ice.StunProtocol]] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, dtls: aiortc_dtls.RTCDtlsTransport) -> bool:
        """Poll the sockets of this transport's ICE connection from now on (False: it has none yet)."""
        protocols = [p for p in dtls.transport._connection._protocols if p.transport is not None]
        if not protocols:
            return False
        loop = asyncio.get_running_loop()
        for protocol in protocols:
            transport = protocol.transport
            sock = socket_of(transport)
            if sock is None or any(s.fileno() == sock.fileno() for s, _, _ in self._endpoints):
                continue
            # asyncio's public remove_reader refuses a socket a transport owns; the transport closes it later
            loop._remove_reader(sock.fileno())  # type: ignore[attr-defined]
            self._endpoints.append((sock, transport, protocol))
        if self._timer is None:
            self._timer = loop.call_later(self.interval, self._poll)
        return True

    def _poll(self) -> None:
        self._timer = None
        self._endpoints = [e for e in self._endpoints if not e[1].is_closing() and e[0].fileno() >= 0]
        for sock, transport, protocol in self._endpoints:
            _drain(sock, transport, protocol, 1 << 16)
        if self._endpoints:
            self._timer = asyncio.get_running_loop().call_later(self.interval, self._poll)


def install_fast_receive(dtls: aiortc_dtls.RTCDtlsTransport) -> bool:
    """Deliver SRTP media packets to forwarding receivers straight from the UDP socket callback (`tap_rtp`):
    the same steps as aiortc (SRTP unprotect, parse, route) without its queue and tasks."""

    def forward(data: bytes, srtp: pylibsrtp.Session) -> None:
        try:
            plain = srtp.unprotect(data)
            packet = RtpPacket.parse(plain, dtls._rtp_header_extensions_map)
        except (pylibsrtp.Error, ValueError):
            return
        receiver = dtls._rtp_router.route_rtp(packet)
        if isinstance(receiver, ForwardingReceiver):
            receiver.handle_rtp_now(packet, ntp_ms())

    return tap_rtp(dtls, forward)

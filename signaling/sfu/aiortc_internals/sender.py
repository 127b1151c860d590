"""The forwarding sender: aiortc's RTCRtpSender without a track or encoder, sending the SFU's RTP packets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sized
from typing import Any, NamedTuple, Protocol

import pylibsrtp
from aioice import ice as aioice_ice
from aiortc import RTCRtpSender
from aiortc import rtcdtlstransport as aiortc_dtls
from aiortc import rtp as aiortc_rtp
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import RtpPacket
from pylibsrtp._binding import ffi as srtp_ffi
from pylibsrtp._binding import lib as srtp_lib

from signaling.sfu.aiortc_internals.sockets import socket_of


class SenderHooks(Protocol):
    """What a forwarding sender asks of the SFU when the subscriber sends feedback."""

    async def on_nack(self, lost: list[int]) -> None: ...

    def on_keyframe_request(self) -> None: ...


class SrtpProtector:
    """`pylibsrtp.Session.protect` without its per-call allocations: the same libsrtp call on the session's own
    buffer, for the one packet at a time a forwarding sender protects (a third of the session's cost per packet)."""

    __slots__ = ("_session", "_srtp", "_cdata", "_buffer", "_length", "_limit")

    def __init__(self, session: pylibsrtp.Session) -> None:
        self._session = session  # owns the libsrtp context and the buffer: they live while this does
        self._srtp = session._srtp[0]
        self._cdata = session._cdata
        self._buffer = session._buffer
        self._length = srtp_ffi.new("int *")
        self._limit = len(self._cdata) - pylibsrtp.SRTP_MAX_TRAILER_LEN

    def __call__(self, data: bytes) -> bytes:
        """The SRTP packet of the RTP packet `data` (pylibsrtp.Error if libsrtp refuses it)."""
        size = len(data)
        if size > self._limit:
            raise pylibsrtp.Error("packet is too long")
        self._buffer[0:size] = data
        length = self._length
        length[0] = size
        status = srtp_lib.srtp_protect(self._srtp, self._cdata, length)
        if status:
            raise pylibsrtp.Error(f"libsrtp error {status}")
        return self._buffer[0:length[0]]  # type: ignore[no-any-return]


class DirectRoute(NamedTuple):
    """Where a forwarding sender's packets go: its DTLS transport's SRTP session, UDP socket and peer."""

    dtls: aiortc_dtls.RTCDtlsTransport
    protect: SrtpProtector
    udp: asyncio.DatagramTransport
    sock: socket.socket  # the transport's own socket: sendto straight on it while nothing is queued
    queued: Sized  # what asyncio holds back until the socket can send again
    address: tuple[Any, ...]


class ForwardingSender(RTCRtpSender):
    """An RTCRtpSender without a track or encoder: the SFU hands it RTP packets to rewrite and send."""

    _sfu_hooks: SenderHooks | None
    _sfu_parameters: RTCRtpSendParameters | None
    _sfu_ready: asyncio.Event
    _sfu_route: DirectRoute | None
    _sfu_route_watched: bool

    async def send(self, parameters: RTCRtpSendParameters) -> None:
        """Remember the negotiated parameters, then start aiortc's RTCP (SR/SDES/BYE) loop."""
        if self._sfu_parameters is None:
            self._sfu_parameters = parameters
        await super().send(parameters)
        self._sfu_ready.set()

    async def _run_rtp(self, codec: RTCRtpCodecParameters) -> None:
        # No encoder loop: packets are pushed by the SFU. Stay "running" until stopped.
        self._RTCRtpSender__rtp_started.set()  # type: ignore[attr-defined]
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass
        finally:
            self._RTCRtpSender__rtp_exited.set()  # type: ignore[attr-defined]

    async def _handle_rtcp_packet(self, packet: aiortc_rtp.AnyRtcpPacket) -> None:
        hooks = self._sfu_hooks
        if isinstance(packet, aiortc_rtp.RtcpRtpfbPacket) and packet.fmt == aiortc_rtp.RTCP_RTPFB_NACK:
            if hooks is not None:
                await hooks.on_nack(list(packet.lost))
        elif isinstance(packet, aiortc_rtp.RtcpPsfbPacket) and packet.fmt in (
            aiortc_rtp.RTCP_PSFB_PLI,
            aiortc_rtp.RTCP_PSFB_FIR,
        ):
            if hooks is not None:
                hooks.on_keyframe_request()
        else:
            await super()._handle_rtcp_packet(packet)

    def set_hooks(self, hooks: SenderHooks | None) -> None:
        """Route the subscriber's NACK and PLI/FIR for this sender to `hooks`."""
        self._sfu_hooks = hooks

    @property
    def ssrc(self) -> int:
        """The SSRC announced to the subscriber for this sender."""
        return self._ssrc

    @property
    def negotiated(self) -> RTCRtpSendParameters | None:
        """The parameters negotiated with the subscriber, once the transport is up."""
        return self._sfu_parameters

    async def wait_ready(self) -> None:
        """Wait until negotiation and DTLS are done."""
        await self._sfu_ready.wait()

    @property
    def ready(self) -> bool:
        """Whether negotiation and DTLS are done, so packets can be sent."""
        return self._sfu_ready.is_set()

    @property
    def mid(self) -> str | None:
        """The subscriber-side mid of this sender's m-line."""
        params = self._sfu_parameters
        return params.muxId if params is not None else None

    @property
    def extensions_map(self) -> aiortc_rtp.HeaderExtensionsMap:
        """The header extension ids negotiated with the subscriber."""
        return self._RTCRtpSender__rtp_header_extensions_map  # type: ignore[attr-defined, no-any-return]

    def _direct_route(self) -> DirectRoute | bool | None:
        """The SRTP session and UDP socket of the nominated direct pair.

        False if not connected, None if only the async path can send (TURN relay).
        The route is kept until the DTLS transport changes state.
        """
        dtls = self.transport
        if dtls._state is not aiortc_dtls.State.CONNECTED:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return False
        protocol = pair.protocol
        if type(protocol) is not aioice_ice.StunProtocol:
            return None
        udp = protocol.transport
        if udp is None or udp.is_closing():
            return False
        if not self._sfu_route_watched:
            self._sfu_route_watched = True
            dtls.on("statechange", self._forget_route)
        sock = socket_of(udp)
        if sock is None:
            return None
        route = self._sfu_route = DirectRoute(dtls, SrtpProtector(dtls._tx_srtp), udp, sock,
                                              udp._buffer, pair.remote_addr)  # type: ignore[attr-defined]
        return route

    def _forget_route(self) -> None:
        self._sfu_route = None

    def try_send_rtp(self, data: bytes, ntp_time: int, rtp_timestamp: int, payload_size: int) -> bool | None:
        """Send one plain RTP packet synchronously on a direct UDP candidate pair.

        aiortc's own path is five nested coroutines per packet; this is the same
        work (SRTP protect, sendto on the nominated pair) without them, and
        without asyncio's checks per datagram while its send buffer is empty.
        Returns False if not connected, None if only the async path can send
        (TURN relay).
        """
        route = self._sfu_route
        if route is None:
            found = self._direct_route()
            if not isinstance(found, DirectRoute):
                return found
            route = found
        udp = route.udp
        if udp.is_closing():
            self._sfu_route = None
            return False
        try:
            protected = route.protect(data)
        except pylibsrtp.Error:
            return False
        if route.queued:
            udp.sendto(protected, route.address)  # keep the order behind what asyncio queued
        else:
            try:
                route.sock.sendto(protected, route.address)
            except (BlockingIOError, InterruptedError):
                udp.sendto(protected, route.address)  # asyncio queues it and sends when the socket can
            except OSError:
                return False
        dtls = route.dtls
        dtls._RTCDtlsTransport__tx_bytes += len(protected)  # type: ignore[attr-defined]
        dtls._RTCDtlsTransport__tx_packets += 1  # type: ignore[attr-defined]
        self._count_sent(ntp_time, rtp_timestamp, payload_size)
        return True

    async def send_rtp(self, data: bytes, ntp_time: int, rtp_timestamp: int, payload_size: int) -> bool:
        """Send one plain RTP packet through aiortc's transport stack; False if not connected."""
        try:
            await self.transport._send_rtp(data)
        except ConnectionError:
            return False
        self._count_sent(ntp_time, rtp_timestamp, payload_size)
        return True

    def _count_sent(self, ntp_time: int, rtp_timestamp: int, payload_size: int) -> None:
        # Keep aiortc's sender reports (lip sync, RTT) truthful for forwarded media.
        self._RTCRtpSender__ntp_timestamp = ntp_time  # type: ignore[attr-defined]
        self._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
        self._RTCRtpSender__octet_count += payload_size  # type: ignore[attr-defined]
        self._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]

    async def retransmit(self, data: bytes) -> bool:
        """Resend a packet from the leg's history, wrapped in RTX when the subscriber negotiated it."""
        rtx_pt = self._RTCRtpSender__rtx_payload_type  # type: ignore[attr-defined]
        if rtx_pt is not None:
            packet = RtpPacket.parse(data, self.extensions_map)
            rtx = aiortc_rtp.wrap_rtx(
                packet,
                payload_type=rtx_pt,
                sequence_number=self._RTCRtpSender__rtx_sequence_number,  # type: ignore[attr-defined,has-type]
                ssrc=self._rtx_ssrc,
            )
            self._RTCRtpSender__rtx_sequence_number = (rtx.sequence_number + 1) & 0xFFFF  # type: ignore[attr-defined]
            data = rtx.serialize(self.extensions_map)
        try:
            await self.transport._send_rtp(data)
        except ConnectionError:
            return False
        return True


def adopt_sender(sender: RTCRtpSender, stream_id: str, track_id: str) -> ForwardingSender:
    """Turn a not-yet-started aiortc sender into a forwarding one, announced as msid `stream_id track_id`."""
    if sender._RTCRtpSender__started:  # type: ignore[attr-defined]
        raise RuntimeError("sender already started")
    sender.__class__ = ForwardingSender
    assert isinstance(sender, ForwardingSender)
    sender._sfu_hooks = None
    sender._sfu_parameters = None
    sender._sfu_ready = asyncio.Event()
    sender._sfu_route = None
    sender._sfu_route_watched = False
    sender._stream_id = stream_id
    sender._track_id = track_id
    return sender

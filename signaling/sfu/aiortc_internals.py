"""Every use of aiortc's private internals by the SFU (and of aioice's, pylibsrtp's and asyncio's), in one place.

aiortc has no API for forwarding encoded RTP: RTCRtpReceiver always decodes and
RTCRtpSender always packetizes frames it reads from a track. The SFU therefore
swaps the class of the receivers and senders of its own peer connections for
the two subclasses below, which keep aiortc's transports, SRTP, RTCP reports,
NACK generation and REMB, but hand RTP packets to the SFU instead of a decoder
and take already-encoded RTP packets from it instead of an encoder.

aiortc is pinned to one version (pyproject.toml); the import-time guard below
and tests/sfu/test_aiortc_internals.py fail loudly if an upgrade changes what
this module relies on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Callable, Coroutine, Sized
from typing import Any, NamedTuple, Protocol

import aiortc
import pylibsrtp
from aioice import ice as aioice_ice
from aioice import stun as aioice_stun
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc import rtcdtlstransport as aiortc_dtls
from aiortc import rtcicetransport as aiortc_ice
from aiortc import rtcrtpreceiver as aiortc_receiver
from aiortc import rtp as aiortc_rtp
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpReceiveParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import RtpPacket
from pylibsrtp._binding import ffi as srtp_ffi
from pylibsrtp._binding import lib as srtp_lib

logger = logging.getLogger(__name__)

EXPECTED_AIORTC_VERSION = "1.16.0"

# Private names read or written by this module, per aiortc function that must
# still use them. A missing name means aiortc changed underneath us.
REQUIRED_CODE_NAMES: dict[Callable[..., Any], tuple[str, ...]] = {
    RTCRtpReceiver.__init__: (
        "_RTCRtpReceiver__codecs",
        "_RTCRtpReceiver__rtx_ssrc",
        "_RTCRtpReceiver__started",
        "_RTCRtpReceiver__rtcp_task",
        "_RTCRtpReceiver__decoder_thread",
        "_RTCRtpReceiver__nack_generator",
        "_RTCRtpReceiver__remote_bitrate_estimator",
        "_RTCRtpReceiver__remote_streams",
        "_RTCRtpReceiver__rtcp_ssrc",
    ),
    RTCRtpReceiver.receive: (
        "_RTCRtpReceiver__decoder_thread",
        "_register_rtp_receiver",
        "_run_rtcp",
    ),
    RTCRtpReceiver._send_rtcp_pli: ("_RTCRtpReceiver__rtcp_ssrc", "_send_rtcp"),
    RTCRtpReceiver._send_rtcp_nack: ("_RTCRtpReceiver__rtcp_ssrc", "_send_rtcp"),
    RTCRtpSender.__init__: (
        "_RTCRtpSender__rtp_header_extensions_map",
        "_RTCRtpSender__rtx_payload_type",
        "_RTCRtpSender__rtx_sequence_number",
        "_RTCRtpSender__ntp_timestamp",
        "_RTCRtpSender__rtp_timestamp",
        "_RTCRtpSender__octet_count",
        "_RTCRtpSender__packet_count",
        "_RTCRtpSender__rtp_started",
        "_RTCRtpSender__rtp_exited",
        "_stream_id",
        "_rtx_ssrc",
    ),
    RTCRtpSender.replaceTrack: ("_track_id",),
    RTCRtpSender.send: ("_run_rtp", "_RTCRtpSender__rtx_payload_type"),
    RTCRtpSender.stop: ("_RTCRtpSender__rtp_started", "_RTCRtpSender__rtp_exited"),
    RTCRtpSender._run_rtcp: (
        "_RTCRtpSender__ntp_timestamp",
        "_RTCRtpSender__rtp_timestamp",
        "_RTCRtpSender__packet_count",
        "_RTCRtpSender__octet_count",
    ),
    aiortc_dtls.RTCDtlsTransport._handle_rtp_data: (
        "_handle_rtp_packet",
        "_rtp_header_extensions_map",
        "_rtp_router",
        "route_rtp",
    ),
    aiortc_dtls.RTCDtlsTransport._handle_rtcp_data: ("_handle_rtcp_packet",),
    aiortc_dtls.RTCDtlsTransport._recv_next: (
        "_RTCDtlsTransport__rx_packets",
        "_RTCDtlsTransport__rx_bytes",
        "_rx_srtp",
        "unprotect",
        "_handle_rtp_data",
    ),
    aiortc_dtls.RTCDtlsTransport._set_state: ("emit",),
    aiortc_dtls.RTCDtlsTransport._send_rtp: (
        "_state",
        "_tx_srtp",
        "protect",
        "transport",
        "_RTCDtlsTransport__tx_bytes",
        "_RTCDtlsTransport__tx_packets",
    ),
    aiortc_ice.RTCIceTransport.__init__: ("_connection",),
    aioice_ice.Connection.sendto: ("_nominated", "protocol", "send_data", "remote_addr"),
    aioice_ice.StunProtocol.send_data: ("transport", "sendto"),
    aioice_ice.StunProtocol.datagram_received: ("receiver", "data_received", "local_candidate"),
    aioice_ice.Connection.__init__: ("_protocols", "_queue", "_nominated", "_query_consent_task"),
    aioice_ice.Connection.connect: ("_query_consent_task", "query_consent"),
    aioice_ice.Connection.close: ("_query_consent_task",),
    RTCPeerConnection.setRemoteDescription: ("_RTCPeerConnection__createTransceiver", "emit"),
    pylibsrtp.Session.__init__: ("_srtp", "_cdata", "_buffer"),
    asyncio.selector_events._SelectorTransport.__init__: ("_sock", "_buffer"),  # type: ignore[attr-defined]
    RTCPeerConnection._RTCPeerConnection__connect: ("send", "receive"),  # type: ignore[attr-defined]
}

REQUIRED_CODE_NAMES[aioice_ice.StunProtocol.datagram_received] = (
    "parse_message", "receiver", "data_received", "local_candidate", "component",
)

REQUIRED_ATTRIBUTES: tuple[tuple[object, str], ...] = (
    (aiortc_receiver, "StreamStatistics"),
    (aiortc_receiver, "NackGenerator"),
    (aiortc_receiver, "decoder_worker"),
    (aioice_ice, "CONSENT_INTERVAL"),
    (aioice_ice.Connection, "build_request"),
    (aiortc_rtp, "unwrap_rtx"),
    (aiortc_rtp, "wrap_rtx"),
    (aiortc_rtp, "RtcpPsfbPacket"),
    (aiortc_rtp, "RtcpRtpfbPacket"),
    (aiortc_rtp, "pack_remb_fci"),
    (aiortc_dtls.RTCDtlsTransport, "_send_rtp"),
    (RTCRtpSender, "_handle_rtcp_packet"),
    (RTCRtpReceiver, "_handle_rtp_packet"),
    (RTCRtpReceiver, "_run_rtcp"),
    (srtp_lib, "srtp_protect"),
    (asyncio.selector_events.BaseSelectorEventLoop, "_add_reader"),
    (asyncio.selector_events.BaseSelectorEventLoop, "_remove_reader"),
)


NTP_UNIX_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)
MEDIA_RECEIVE_BUFFER = 1 << 20  # bytes asked for a media socket's receive buffer (the kernel doubles it)


def ntp_ms() -> int:
    """aiortc.clock.current_ms() (milliseconds since 1900) without going through datetime."""
    return int((time.time() + NTP_UNIX_OFFSET) * 1000)


class AiortcInternalsChanged(ImportError):
    """aiortc no longer has the private internals the SFU forwards media with."""


def check_internals() -> list[str]:
    """Return what is missing or different in aiortc, empty if everything the SFU uses is there."""
    problems: list[str] = []
    if aiortc.__version__ != EXPECTED_AIORTC_VERSION:
        problems.append(
            f"aiortc {aiortc.__version__} installed, the SFU is written for {EXPECTED_AIORTC_VERSION}"
        )
    for function, names in REQUIRED_CODE_NAMES.items():
        code = getattr(function, "__code__", None)
        if code is None:
            problems.append(f"{function!r} is no longer a Python function")
            continue
        present = set(code.co_names)
        for name in names:
            if name not in present:
                problems.append(f"{function.__qualname__} no longer uses {name}")
    for owner, name in REQUIRED_ATTRIBUTES:
        if not hasattr(owner, name):
            problems.append(f"{getattr(owner, '__name__', owner)!s} has no attribute {name}")
    return problems


_PROBLEMS = check_internals()
if _PROBLEMS:
    raise AiortcInternalsChanged(
        "signaling.sfu cannot forward media with this aiortc: " + "; ".join(_PROBLEMS)
    )


# --- the media port: every datagram is sorted before aioice and aiortc see it -----------------------------------
# Anyone can send UDP to a media port. aioice parses what looks like STUN and lets struct.error and
# UnicodeDecodeError escape (logged as "Exception in callback"); aiortc's DTLS transport dies on an empty
# datagram (IndexError in _recv_next), cutting the participant's media. So datagrams are demultiplexed by their
# first byte as RFC 7983 says, and anything else is dropped: STUN (0-3) only when it parses, DTLS (20-63) and
# RTP/RTCP (128-191) straight to the transport (SRTP authenticates them there), nothing else at all.
_stun_datagram_received = aioice_ice.StunProtocol.datagram_received


def _demultiplexed(self: aioice_ice.StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
    if not isinstance(data, bytes) or not data:
        return
    first = data[0]
    if first < 4:
        try:
            aioice_stun.parse_message(data)
        except Exception:  # noqa: BLE001 - whatever a malformed message raises, it is dropped
            return
        _stun_datagram_received(self, data, addr)
    elif 19 < first < 64 or 127 < first < 192:
        self.receiver.data_received(data, self.local_candidate.component)


aioice_ice.StunProtocol.datagram_received = _demultiplexed  # type: ignore[method-assign]


# --- consent freshness that a busy peer survives (RFC 7675) -----------------------------------------------------
# aioice sends a consent check every 5 s or so, waits 0.5 s for its answer without retransmitting, and closes the
# connection when six checks in a row went unanswered within that time. A peer (or this node) whose loop lags
# half a second answers every check late: while 90 venues join a conference on one node, the first venues lost
# healthy connections after 35 s. RFC 7675 asks only that consent expires 30 s after the last answer: a check is
# retransmitted like any STUN request (RFC 8489: 0.5, 1, 2, 4 s), and an answer counts whenever it comes in.
CONSENT_TIMEOUT = 30.0  # seconds without any answer to a consent check: consent expires
CONSENT_RETRANSMISSIONS = 3  # a check waits up to 7.5 s for its answer


async def _query_consent(self: aioice_ice.Connection) -> None:
    assert self.remote_password is not None  # consent checks only start once connect() has it
    loop = asyncio.get_running_loop()
    answered = loop.time()
    while True:
        await asyncio.sleep(aioice_ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
        for pair in self._nominated.values():
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(request, pair.remote_addr,
                                            integrity_key=self.remote_password.encode("utf8"),
                                            retransmissions=CONSENT_RETRANSMISSIONS)
                answered = loop.time()
            except aioice_stun.TransactionError:
                pass
        if loop.time() - answered > CONSENT_TIMEOUT:
            logger.warning("ICE consent expired: no answer to a consent check for %.0f s", loop.time() - answered)
            self._query_consent_task = None  # close() would cancel this task, which is the one closing
            await self.close()
            return


aioice_ice.Connection.query_consent = _query_consent  # type: ignore[method-assign]


class ReceiverSink(Protocol):
    """Where a forwarding receiver delivers the publisher's RTP packets (RTX already unwrapped)."""

    def on_rtp(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None: ...


class SenderHooks(Protocol):
    """What a forwarding sender asks of the SFU when the subscriber sends feedback."""

    async def on_nack(self, lost: list[int]) -> None: ...

    def on_keyframe_request(self) -> None: ...


class ForwardingReceiver(RTCRtpReceiver):
    """An RTCRtpReceiver that never decodes: packets go to an SFU sink after RTX/NACK/REMB handling."""

    _sfu_sink: ReceiverSink | None
    _sfu_packets: int
    _sfu_tasks: set[asyncio.Task[None]]

    async def receive(self, parameters: RTCRtpReceiveParameters) -> None:
        """Start receiving exactly as aiortc does, minus the decoder thread."""
        if self._RTCRtpReceiver__started:  # type: ignore[attr-defined,has-type]
            return
        codecs: dict[int, RTCRtpCodecParameters] = self._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
        rtx_ssrc: dict[int, int] = self._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]
        for codec in parameters.codecs:
            if codec.payloadType is not None:
                codecs[codec.payloadType] = codec
        for encoding in parameters.encodings:
            if encoding.rtx:
                rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
        self.transport._register_rtp_receiver(self, parameters)
        self._RTCRtpReceiver__rtcp_task = asyncio.ensure_future(self._run_rtcp())  # type: ignore[attr-defined]
        self._RTCRtpReceiver__started = True  # type: ignore[attr-defined]

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        # aiortc's own delivery path (used until the fast path below is installed)
        self.handle_rtp_now(packet, arrival_time_ms)

    def handle_rtp_now(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """Mirror RTCRtpReceiver._handle_rtp_packet up to its jitter buffer, then forward; never blocks."""
        if not self._enabled:
            return
        estimator = self._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
        rtcp_ssrc = self._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined]
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            if rtcp_ssrc is not None and remb is not None:
                self._spawn(
                    self._send_rtcp(
                        aiortc_rtp.RtcpPsfbPacket(
                            fmt=aiortc_rtp.RTCP_PSFB_APP,
                            ssrc=rtcp_ssrc,
                            media_ssrc=0,
                            fci=aiortc_rtp.pack_remb_fci(*remb),
                        )
                    )
                )
        codecs: dict[int, RTCRtpCodecParameters] = self._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        streams = self._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = aiortc_receiver.StreamStatistics(codec.clockRate)
        stream.add(packet)
        if is_rtx(codec):
            original_ssrc = self._RTCRtpReceiver__rtx_ssrc.get(packet.ssrc)  # type: ignore[attr-defined]
            apt = codec.parameters.get("apt")
            if (
                original_ssrc is None
                or len(packet.payload) < 2
                or not isinstance(apt, int)
                or apt not in codecs
            ):
                return
            packet = aiortc_rtp.unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
            codec = codecs[apt]
        nack_generator = self._RTCRtpReceiver__nack_generator  # type: ignore[attr-defined]
        if nack_generator is not None and nack_generator.add(packet):
            self._spawn(self._send_rtcp_nack(packet.ssrc, sorted(nack_generator.missing)))
        self._sfu_packets += 1
        sink = self._sfu_sink
        if sink is not None:
            sink.on_rtp(packet, codec)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._sfu_tasks.add(task)
        task.add_done_callback(self._sfu_tasks.discard)

    def set_sink(self, sink: ReceiverSink | None) -> None:
        """Deliver this receiver's packets to `sink` (None: drop them)."""
        self._sfu_sink = sink

    @property
    def packets_received(self) -> int:
        """RTP packets received (after RTX unwrapping)."""
        return self._sfu_packets

    async def request_keyframe(self, media_ssrc: int) -> None:
        """Send a PLI for the publisher's stream `media_ssrc`."""
        await self._send_rtcp_pli(media_ssrc)

    def decoder_running(self) -> bool:
        """Whether aiortc's decoder thread exists for this receiver (never, for a forwarding receiver)."""
        return self._RTCRtpReceiver__decoder_thread is not None  # type: ignore[attr-defined]

    def codecs(self) -> dict[int, RTCRtpCodecParameters]:
        """The negotiated receive codecs by payload type (empty until media flows)."""
        return dict(self._RTCRtpReceiver__codecs)  # type: ignore[attr-defined]


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


def adopt_receiver(receiver: RTCRtpReceiver) -> ForwardingReceiver:
    """Turn a not-yet-started aiortc receiver into a forwarding one (no decoder thread, ever)."""
    if isinstance(receiver, ForwardingReceiver):
        return receiver
    if receiver._RTCRtpReceiver__started:  # type: ignore[attr-defined]
        raise RuntimeError("receiver already started: it would have a decoder thread")
    receiver.__class__ = ForwardingReceiver
    assert isinstance(receiver, ForwardingReceiver)
    receiver._sfu_sink = None
    receiver._sfu_packets = 0
    receiver._sfu_tasks = set()
    return receiver


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


def transport_rx_packets(receiver: RTCRtpReceiver) -> int:
    """Datagrams received so far on the receiver's DTLS transport (liveness of the remote peer)."""
    return int(receiver.transport._RTCDtlsTransport__rx_packets)  # type: ignore[attr-defined]


def decoder_threads_alive() -> int:
    """Number of aiortc decoder threads running in this process."""
    import threading

    return sum(1 for t in threading.enumerate() if t.name in ("audio-decoder", "video-decoder"))

"""Every use of aiortc's private internals by the SFU, in one place.

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
from collections.abc import Callable
from typing import Any, Protocol

import aiortc
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc import clock as aiortc_clock
from aiortc import rtcdtlstransport as aiortc_dtls
from aiortc import rtcrtpreceiver as aiortc_receiver
from aiortc import rtp as aiortc_rtp
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpReceiveParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import RtpPacket

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
        "_RTCRtpReceiver__active_ssrc",
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
    aiortc_dtls.RTCDtlsTransport._handle_rtp_data: ("_handle_rtp_packet",),
    aiortc_dtls.RTCDtlsTransport._handle_rtcp_data: ("_handle_rtcp_packet",),
    aiortc_dtls.RTCDtlsTransport._recv_next: ("_RTCDtlsTransport__rx_packets",),
    RTCPeerConnection.setRemoteDescription: ("_RTCPeerConnection__createTransceiver", "emit"),
    RTCPeerConnection._RTCPeerConnection__connect: ("send", "receive"),  # type: ignore[attr-defined]
}

REQUIRED_ATTRIBUTES: tuple[tuple[object, str], ...] = (
    (aiortc_receiver, "StreamStatistics"),
    (aiortc_receiver, "NackGenerator"),
    (aiortc_receiver, "decoder_worker"),
    (aiortc_rtp, "unwrap_rtx"),
    (aiortc_rtp, "wrap_rtx"),
    (aiortc_rtp, "RtcpPsfbPacket"),
    (aiortc_rtp, "RtcpRtpfbPacket"),
    (aiortc_rtp, "pack_remb_fci"),
    (aiortc_dtls.RTCDtlsTransport, "_send_rtp"),
    (RTCRtpSender, "_handle_rtcp_packet"),
    (RTCRtpReceiver, "_handle_rtp_packet"),
    (RTCRtpReceiver, "_run_rtcp"),
)


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


class ReceiverSink(Protocol):
    """Where a forwarding receiver delivers the publisher's RTP packets (RTX already unwrapped)."""

    async def on_rtp(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None: ...


class SenderHooks(Protocol):
    """What a forwarding sender asks of the SFU when the subscriber sends feedback."""

    async def on_nack(self, lost: list[int]) -> None: ...

    def on_keyframe_request(self) -> None: ...


class ForwardingReceiver(RTCRtpReceiver):
    """An RTCRtpReceiver that never decodes: packets go to an SFU sink after RTX/NACK/REMB handling."""

    _sfu_sink: ReceiverSink | None
    _sfu_packets: int

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
        # Mirrors RTCRtpReceiver._handle_rtp_packet up to the jitter buffer, then forwards.
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
                await self._send_rtcp(
                    aiortc_rtp.RtcpPsfbPacket(
                        fmt=aiortc_rtp.RTCP_PSFB_APP,
                        ssrc=rtcp_ssrc,
                        media_ssrc=0,
                        fci=aiortc_rtp.pack_remb_fci(*remb),
                    )
                )
        self._RTCRtpReceiver__active_ssrc[packet.ssrc] = aiortc_clock.current_datetime()  # type: ignore[attr-defined]
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
            await self._send_rtcp_nack(packet.ssrc, sorted(nack_generator.missing))
        self._sfu_packets += 1
        sink = self._sfu_sink
        if sink is not None:
            await sink.on_rtp(packet, codec)

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


class ForwardingSender(RTCRtpSender):
    """An RTCRtpSender without a track or encoder: the SFU hands it RTP packets to rewrite and send."""

    _sfu_hooks: SenderHooks | None
    _sfu_parameters: RTCRtpSendParameters | None
    _sfu_ready: asyncio.Event

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

    async def send_rtp(self, data: bytes, rtp_timestamp: int, payload_size: int) -> bool:
        """Send one plain RTP packet (SRTP-protected by the transport); False if not connected."""
        try:
            await self.transport._send_rtp(data)
        except ConnectionError:
            return False
        # Keep aiortc's sender reports (lip sync, RTT) truthful for forwarded media.
        self._RTCRtpSender__ntp_timestamp = aiortc_clock.current_ntp_time()  # type: ignore[attr-defined]
        self._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
        self._RTCRtpSender__octet_count += payload_size  # type: ignore[attr-defined]
        self._RTCRtpSender__packet_count += 1  # type: ignore[attr-defined]
        return True

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
    sender._stream_id = stream_id
    sender._track_id = track_id
    return sender


def transport_rx_packets(receiver: RTCRtpReceiver) -> int:
    """Datagrams received so far on the receiver's DTLS transport (liveness of the remote peer)."""
    return int(receiver.transport._RTCDtlsTransport__rx_packets)  # type: ignore[attr-defined]


def decoder_threads_alive() -> int:
    """Number of aiortc decoder threads running in this process."""
    import threading

    return sum(1 for t in threading.enumerate() if t.name in ("audio-decoder", "video-decoder"))

"""The forwarding receiver: aiortc's RTCRtpReceiver without a decoder, handing RTP packets to the SFU."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, Protocol

from aiortc import RTCRtpReceiver
from aiortc import rtcrtpreceiver as aiortc_receiver
from aiortc import rtp as aiortc_rtp
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtp import RtpPacket

NTP_UNIX_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)


def ntp_ms() -> int:
    """aiortc.clock.current_ms() (milliseconds since 1900) without going through datetime."""
    return int((time.time() + NTP_UNIX_OFFSET) * 1000)


class ReceiverSink(Protocol):
    """Where a forwarding receiver delivers the publisher's RTP packets (RTX already unwrapped)."""

    def on_rtp(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None: ...


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


def transport_rx_packets(receiver: RTCRtpReceiver) -> int:
    """Datagrams received so far on the receiver's DTLS transport (liveness of the remote peer)."""
    return int(receiver.transport._RTCDtlsTransport__rx_packets)  # type: ignore[attr-defined]


def decoder_threads_alive() -> int:
    """Number of aiortc decoder threads running in this process."""
    import threading

    return sum(1 for t in threading.enumerate() if t.name in ("audio-decoder", "video-decoder"))

"""The guard: aiortc (and aioice, pylibsrtp, asyncio) still has every private name this package relies on.

Imported first by the package: an upgrade that changes them fails at import time, loudly, before any patch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiortc
import pylibsrtp
from aioice import ice as aioice_ice
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc import rtcdtlstransport as aiortc_dtls
from aiortc import rtcicetransport as aiortc_ice
from aiortc import rtcrtpreceiver as aiortc_receiver
from aiortc import rtp as aiortc_rtp
from pylibsrtp._binding import lib as srtp_lib

EXPECTED_AIORTC_VERSION = "1.16.0"

# Private names read or written by this package, per aiortc function that must
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

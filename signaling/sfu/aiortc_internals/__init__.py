"""Every use of aiortc's private internals by the SFU (and of aioice's, pylibsrtp's and asyncio's), in one place.

aiortc has no API for forwarding encoded RTP: RTCRtpReceiver always decodes and
RTCRtpSender always packetizes frames it reads from a track. The SFU therefore
swaps the class of the receivers and senders of its own peer connections for
two subclasses, which keep aiortc's transports, SRTP, RTCP reports, NACK
generation and REMB, but hand RTP packets to the SFU instead of a decoder and
take already-encoded RTP packets from it instead of an encoder.

- `guard`: the private names relied on, checked at import time, before anything else here is imported.
- `ice`: aioice patched: what a media port accepts, consent freshness (RFC 7675).
- `receiver`: ForwardingReceiver; `sender`: ForwardingSender with its direct SRTP and UDP route.
- `sockets`: media packets from the socket callback, sockets read in batches or polled.

aiortc is pinned to one version (pyproject.toml); the guard and
tests/sfu/test_aiortc_internals.py fail loudly if an upgrade changes what this
package relies on. Nothing outside this package touches those internals.
"""

# isort: off
from signaling.sfu.aiortc_internals.guard import (  # first: nothing is patched or subclassed before the check
    EXPECTED_AIORTC_VERSION,
    REQUIRED_ATTRIBUTES,
    REQUIRED_CODE_NAMES,
    AiortcInternalsChanged,
    check_internals,
)
# isort: on
from signaling.sfu.aiortc_internals import ice  # noqa: F401 - its patches apply on import
from signaling.sfu.aiortc_internals.receiver import (
    NTP_UNIX_OFFSET,
    ForwardingReceiver,
    ReceiverSink,
    adopt_receiver,
    decoder_threads_alive,
    ntp_ms,
    transport_rx_packets,
)
from signaling.sfu.aiortc_internals.sender import (
    DirectRoute,
    ForwardingSender,
    SenderHooks,
    SrtpProtector,
    adopt_sender,
)
from signaling.sfu.aiortc_internals.sockets import (
    MEDIA_RECEIVE_BUFFER,
    READ_BATCH,
    RtpTap,
    SocketPoller,
    install_fast_receive,
    socket_of,
    tap_rtp,
)

__all__ = [
    "EXPECTED_AIORTC_VERSION", "MEDIA_RECEIVE_BUFFER", "NTP_UNIX_OFFSET", "READ_BATCH", "REQUIRED_ATTRIBUTES",
    "REQUIRED_CODE_NAMES", "AiortcInternalsChanged", "DirectRoute", "ForwardingReceiver", "ForwardingSender",
    "ReceiverSink", "RtpTap", "SenderHooks", "SocketPoller", "SrtpProtector", "adopt_receiver", "adopt_sender",
    "check_internals", "decoder_threads_alive", "install_fast_receive", "ntp_ms", "socket_of", "tap_rtp",
    "transport_rx_packets",
]

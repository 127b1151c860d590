"""What makes the aiortc SFU work with browsers (the SFU internals this meeting work added, checked loudly).

A server offer must keep the header extension ids the browser negotiated (BUNDLE: one id, one extension),
and a forwarding receiver must follow the payload types a renegotiation moves the browser to.
"""

from __future__ import annotations

import re
from pathlib import Path

from aiortc import (
    RTCCertificate,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpDecodingParameters, RTCRtpReceiveParameters
from aiortc.rtp import RtpPacket

from signaling.sfu.aiortc_internals import adopt_receiver, pin_header_extensions

CHROMIUM_OFFER = (Path(__file__).parent / "data" / "chromium_offer.sdp").read_text()
MID, LEVEL, ABS = ("urn:ietf:params:rtp-hdrext:sdes:mid", "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                   "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")


def extmaps(sdp: str) -> set[tuple[int, str]]:
    return {(int(m.group(1)), m.group(2)) for m in re.finditer(r"^a=extmap:(\d+) (\S+)", sdp, re.MULTILINE)}


async def test_server_offers_keep_the_browsers_header_extension_ids() -> None:
    pc = RTCPeerConnection()
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=CHROMIUM_OFFER, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        pc.addTransceiver("audio", direction="sendonly")
        pc.addTransceiver("video", direction="sendonly")
        raw = await pc.createOffer()
        # aiortc still renumbers every m-line with its own ids: without pinning, abs-send-time (Chromium: 2)
        # would be parsed as an audio level and the bundled transport would die. If this fails after an
        # upgrade, aiortc stopped renumbering and pin_header_extensions may be dropped.
        assert (2, LEVEL) in extmaps(raw.sdp)
        pinned = pin_header_extensions(pc, raw)
        ids = extmaps(pinned.sdp)
        assert ids == {(4, MID), (1, LEVEL), (2, ABS)}
        for transceiver in pc.getTransceivers():
            assert {(e.id, e.uri) for e in transceiver._headerExtensions} <= ids
        await pc.setLocalDescription(pinned)
        assert extmaps(pc.localDescription.sdp) == ids
    finally:
        await pc.close()


async def test_a_forwarding_receiver_follows_new_payload_types() -> None:
    dtls = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()])
    receiver = adopt_receiver(RTCRtpReceiver("audio", dtls))

    def params(pt: int) -> RTCRtpReceiveParameters:
        return RTCRtpReceiveParameters(
            codecs=[RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=pt)],
            encodings=[RTCRtpDecodingParameters(ssrc=1234, payloadType=pt)],
        )

    try:
        await receiver.receive(params(111))
        await receiver.receive(params(96))  # a renegotiation moved the browser from 111 to 96
        assert set(receiver.codecs()) == {96}
        router = dtls._rtp_router
        assert router.route_rtp(RtpPacket(payload_type=96, ssrc=1234)) is receiver
        assert router.route_rtp(RtpPacket(payload_type=111, ssrc=1234)) is None
    finally:
        await receiver.stop()
        await dtls.stop()

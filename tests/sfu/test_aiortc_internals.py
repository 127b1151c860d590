"""Guards: fail loudly when an aiortc upgrade changes the private internals the SFU forwards with."""

from __future__ import annotations

import aiortc
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender

from signaling.media_client import MediaClient
from signaling.sfu import aiortc_internals as internals

pytestmark = pytest.mark.media


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

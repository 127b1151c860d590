"""Server re-offers keep the numbers the client chose (found with Chromium: it refuses reassignments)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp

from signaling.media_client import PatternVideoTrack, ToneTrack
from signaling.sfu.sdp_harmony import ask_for_dtx, harmonize_offer


def browser_like(sdp: str) -> str:
    """Renumber an aiortc offer the way Chromium does: opus 111, VP8 96, audio-level id 1, mid id 4."""
    description = aiortc_sdp.SessionDescription.parse(sdp)
    renumber = {96: 111, 97: 96, 98: 97, 99: 102, 100: 103, 101: 104, 102: 105}
    ids = {"urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1, "urn:ietf:params:rtp-hdrext:sdes:mid": 4}
    for media in description.media:
        for codec in media.rtp.codecs:
            codec.payloadType = renumber.get(codec.payloadType, codec.payloadType)
            if "apt" in codec.parameters:
                codec.parameters["apt"] = renumber[codec.parameters["apt"]]
        media.fmt = [c.payloadType for c in media.rtp.codecs]
        for ext in media.rtp.headerExtensions:
            ext.id = ids.get(ext.uri, ext.id)
    return str(description)


@pytest.fixture
async def publisher() -> AsyncIterator[tuple[RTCPeerConnection, RTCPeerConnection]]:
    """(client, server): the client offers a microphone and a camera; both closed afterwards."""
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    server = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.addTransceiver(ToneTrack(), direction="sendonly")
    client.addTransceiver(PatternVideoTrack(), direction="sendonly")
    await client.setLocalDescription(await client.createOffer())
    yield client, server
    await server.close()
    await client.close()


async def test_reoffer_reuses_the_clients_numbers_and_new_lines_do_not_collide(
    publisher: tuple[RTCPeerConnection, RTCPeerConnection],
) -> None:
    client, server = publisher
    offer = browser_like(client.localDescription.sdp)
    await server.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await server.setLocalDescription(await server.createAnswer())
    server.addTransceiver("audio", direction="sendonly")
    server.addTransceiver("video", direction="sendonly")
    raw = (await server.createOffer()).sdp

    harmonized = aiortc_sdp.SessionDescription.parse(harmonize_offer(raw, offer))
    opus = {c.payloadType for m in harmonized.media for c in m.rtp.codecs if c.mimeType == "audio/opus"}
    vp8 = {c.payloadType for m in harmonized.media for c in m.rtp.codecs if c.mimeType == "video/VP8"}
    assert opus == {111} and vp8 == {96}
    ext = {(e.uri, e.id) for m in harmonized.media for e in m.rtp.headerExtensions}
    assert ("urn:ietf:params:rtp-hdrext:ssrc-audio-level", 1) in ext
    assert ("urn:ietf:params:rtp-hdrext:sdes:mid", 4) in ext
    # one number, one meaning, across the whole BUNDLE group
    assert len({i for _, i in ext}) == len({u for u, _ in ext})
    meaning: dict[int, str] = {}
    for media in harmonized.media:
        for codec in media.rtp.codecs:
            params = codec.parameters
            name = f"{codec.mimeType}/{params.get('apt', '')}{params.get('profile-level-id', '')}"
            assert meaning.setdefault(codec.payloadType, name) == name
        assert media.fmt == [c.payloadType for c in media.rtp.codecs]
    # the rewritten offer is still one aiortc accepts as its own
    await server.setLocalDescription(RTCSessionDescription(sdp=str(harmonized), type="offer"))


def test_first_offer_or_unparsable_session_is_left_alone() -> None:
    assert harmonize_offer("v=0\r\n", None) == "v=0\r\n"


async def test_dtx_is_asked_for_on_the_audio_we_receive_and_only_there(
    publisher: tuple[RTCPeerConnection, RTCPeerConnection],
) -> None:
    client, server = publisher
    await server.setRemoteDescription(RTCSessionDescription(sdp=client.localDescription.sdp, type="offer"))
    answer = ask_for_dtx((await server.createAnswer()).sdp)
    await server.setLocalDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await client.setRemoteDescription(server.localDescription)
    server.addTransceiver("audio", direction="sendonly")  # a receive slot: audio the server sends
    reoffer = ask_for_dtx((await server.createOffer()).sdp)
    for sdp in (answer, reoffer):
        media = aiortc_sdp.SessionDescription.parse(sdp).media
        asked = [(m.kind, m.direction) for m in media
                 if any(str(c.parameters.get("usedtx")) == "1" for c in m.rtp.codecs)]
        assert asked == [("audio", "recvonly")]
        assert ask_for_dtx(sdp) == sdp  # asked once

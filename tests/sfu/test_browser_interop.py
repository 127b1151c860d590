"""Chromium (fake camera and microphone) as a meeting participant through the SFU, with a Python client."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from signaling.sfu import Sfu, SfuEvent, SfuPeer, TrackPublished
from tests.sfu.conftest import wait_for

pytestmark = pytest.mark.browser

# A minimal stand-in for the real signaling: offer over POST, server offers by long poll.
PAGE = """<!doctype html><html><body><script>
window.decoded = async () => {
  let frames = 0, audio = 0;
  (await pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
    if (s.type === 'inbound-rtp' && s.kind === 'audio') audio += s.packetsReceived || 0;
  });
  return {frames, audio};
};
window.labels = [];
const pc = new RTCPeerConnection({bundlePolicy: 'max-bundle'});
pc.ontrack = e => window.labels.push(e.streams.length ? e.streams[0].id + ' ' + e.track.id : e.track.id);
async function gathered() {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise(r => pc.addEventListener('icegatheringstatechange',
    () => pc.iceGatheringState === 'complete' && r()));
}
async function post(path, body) {
  return (await fetch(path, {method: 'POST', body: JSON.stringify(body)})).json();
}
(async () => {
  const media = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}, audio: true});
  for (const track of media.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  await pc.setLocalDescription();
  await gathered();
  const answer = await post('/offer', {sdp: pc.localDescription.sdp});
  await pc.setRemoteDescription({type: 'answer', sdp: answer.sdp});
  window.joined = true;
  while (true) {
    const offer = await post('/poll', {});
    if (!offer.sdp) continue;
    await pc.setRemoteDescription({type: 'offer', sdp: offer.sdp});
    await pc.setLocalDescription();
    await post('/answer', {sdp: pc.localDescription.sdp});
  }
})();
</script></body></html>"""


@pytest.mark.parametrize("python_codec", [None, "video/H264"])
async def test_chromium_and_python_participants_receive_each_other(
    sfu: Sfu, sfu_events: list[SfuEvent], participants, browser: Browser, python_codec: str | None
) -> None:
    offers: asyncio.Queue[str] = asyncio.Queue()
    state: dict[str, SfuPeer] = {}

    async def on_offer(sdp: str) -> None:
        await offers.put(sdp)

    async def offer(request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        state["peer"] = await sfu.join("room-1", "chromium", on_offer)
        return web.json_response({"sdp": await state["peer"].handle_offer(body["sdp"])})

    async def poll(request: web.Request) -> web.Response:
        try:
            return web.json_response({"sdp": await asyncio.wait_for(offers.get(), 1.0)})
        except TimeoutError:
            return web.json_response({})

    async def answer(request: web.Request) -> web.Response:
        await state["peer"].handle_answer(json.loads(await request.text())["sdp"])
        return web.json_response({})

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_post("/offer", offer)
    app.router.add_post("/poll", poll)
    app.router.add_post("/answer", answer)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        page = await (await browser.new_context()).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(str(server.make_url("/")))
        await page.wait_for_function("() => window.joined === true", timeout=15_000)

        python = await participants("python", amplitude=0.0, video_codec=python_codec)
        # the Python client decodes Chromium's camera and microphone
        await wait_for(
            lambda: len(python.client.received) == 2 and min(python.client.frames().values()) > 5,
            limit=30,  # Chromium's first key frame can take long on a loaded 2-core machine
            what="the Python client decoding Chromium",
        )
        # Chromium decodes the Python client's video and receives its audio, labelled by msid
        for _ in range(150):
            decoded = await page.evaluate("() => window.decoded()")
            if decoded["frames"] > 5 and decoded["audio"] > 20:
                break
            await asyncio.sleep(0.1)
        assert decoded["frames"] > 5 and decoded["audio"] > 20, decoded
        if python_codec is not None:
            received = await page.evaluate(
                """async () => {
                     const out = [];
                     (await pc.getStats()).forEach(s => s.type === 'codec' && out.push(s.mimeType));
                     return out;
                   }"""
            )
            assert "video/H264" in received
        labels = await page.evaluate("() => window.labels")
        python_tracks = {
            e.track.track_id
            for e in sfu_events
            if isinstance(e, TrackPublished) and e.track.participant_id == "python"
        }
        assert {label.split(" ")[-1] for label in labels} == python_tracks
        assert all(label.startswith("python ") for label in labels)
        # the SFU reads the RFC 6464 levels Chromium puts on its audio (its fake microphone beeps)
        speakers = sfu.rooms["room-1"].speakers
        await wait_for(lambda: speakers.loudness("chromium") > 20, what="Chromium's audio levels")
        assert speakers.loudness("python") == 0.0  # the Python client sends silence
        assert errors == []
    finally:
        await server.close()

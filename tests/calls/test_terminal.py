"""Office terminals (aiortc): terminal calls terminal, `cityhub phone` answers and hangs up on Ctrl-C, bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hub import keys
from hub.cli import _phone_inputs, parser
from signaling.phone_client import PhoneTerminal, parse_target, ws_url
from signaling.socket import CloseCode
from tests.calls.terminals import (
    CliTerminal,
    InProcessTerminal,
    LineSink,
    answer_before_the_dial_reply,
    media_flowing,
    next_line,
)
from tests.conftest import Hub, make_settings, start_hub

pytestmark = pytest.mark.media


@pytest.fixture
async def media_hub(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Hub]:
    """One hub on SQLite and the in-process bus: media tests do not need both backends."""
    yield await start_hub(aiohttp_client, make_settings(tmp_path))


def hub_url(hub: Hub) -> str:
    return str(hub.client.make_url("/")).rstrip("/")


async def test_terminal_calls_terminal_and_both_decode(media_hub: Hub) -> None:
    office = await InProcessTerminal(hub_url(media_hub), media_hub.token("shinan-office-term"),
                                     auto_answer=True).start()
    city = await InProcessTerminal(hub_url(media_hub), media_hub.token("drc-01"), dial="6119").start()
    try:
        ringing = await next_line(office.sink.lines, "ringing")
        assert ringing["name"] == "彭淑珍" and ringing["unit"] == "市发展和改革委员会"
        await next_line(city.sink.lines, "answered")
        for end in (office, city):
            report = await media_flowing(end.sink.lines)
            assert report["state"] == "connected"
    finally:
        assert await city.stop() == 0
    ended = await next_line(office.sink.lines, "ended")
    assert ended["outcome"] == "answered" and int(ended["video_frames"]) > 0
    assert [name for name, _ in city.sink.seen][-2:] == ["ended", "bye"]
    await office.stop()


async def test_an_answer_that_overtakes_the_reply_to_the_dial_is_not_lost(media_hub: Hub) -> None:
    office = await InProcessTerminal(hub_url(media_hub), media_hub.token("shinan-office-term"),
                                     auto_answer=True).start()
    city = await InProcessTerminal(hub_url(media_hub), media_hub.token("drc-01")).start()
    try:
        with answer_before_the_dial_reply(media_hub.app[keys.CALLS]):
            await city.terminal.command("dial 6119")
        for end in (office, city):
            await media_flowing(end.sink.lines, within=20)
        assert [name for name, _ in city.sink.seen].index("dialling") < [name for name, _ in city.sink.seen].index(
            "answered")
    finally:
        await city.stop()
        await office.stop()


async def test_cli_terminal_auto_answers_and_hangs_up_on_ctrl_c(media_hub: Hub) -> None:
    cli = await CliTerminal("--url", hub_url(media_hub), "--token", media_hub.token("shinan-office-term"),
                            "--auto-answer").start()
    caller = await InProcessTerminal(hub_url(media_hub), media_hub.token("p-xie"), dial="shinan-office-term").start()
    try:
        await next_line(cli.lines, "answered")
        cli_report = await media_flowing(cli.lines)
        assert int(cli_report["video_frames"]) > 0
        await media_flowing(caller.sink.lines)
        assert await cli.interrupt() == 0
        ended = await next_line(cli.lines, "ended")
        assert ended["outcome"] == "hangup"
        assert [name for name, _ in cli.seen][-1] == "bye"
        theirs = await next_line(caller.sink.lines, "ended")
        assert theirs["outcome"] == "answered" and int(theirs["video_frames"]) > 0
    finally:
        await cli.interrupt()
        await caller.stop()


async def test_terminal_refuses_a_bad_token_an_unknown_extension_and_a_forbidden_call(media_hub: Hub) -> None:
    async def run(token: str, **options: object) -> tuple[int, list[tuple[str, dict[str, str]]]]:
        sink = LineSink()
        code = await PhoneTerminal(hub_url(media_hub), token, out=sink, **options).run()  # type: ignore[arg-type]
        return code, sink.seen

    code, seen = await run("not-a-token")
    assert code == 2 and seen[0][0] == "error" and seen[0][1]["code"] == "token_malformed"
    term = media_hub.token("shinan-office-term")
    code, seen = await run(term, dial="0000")
    assert code == 1 and ("error", {"code": "extension_not_found", "message": "no one holds extension '0000'"}) in seen
    code, seen = await run(term, dial="licang-office-01")
    assert code == 1 and any(name == "error" and f["code"] == "call_forbidden" for name, f in seen)
    assert seen[-1][0] == "bye"


async def test_a_hub_that_dies_before_answering_a_dial_is_an_error_not_a_crash(aiohttp_client: Any) -> None:
    """Its node killed between call.dial and the reply: the terminal says so and exits 1, no traceback."""

    async def dying_node(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        me = {"person": {"id": "shinan-office-term", "name": "市南区政府办公室视频终端"}}
        await ws.send_json({"type": "event", "event": "hello", "data": {"authenticated": True, "me": me}})
        async for frame in ws:
            message = json.loads(frame.data)
            if message["type"] != "call.register":
                break  # call.dial: gone before it answers
            await ws.send_json({"id": message["id"], "type": "result", "success": True,
                                "result": {"device_id": "d-1", "missed": 0}})
        return ws

    app = web.Application()
    app.router.add_get("/ws", dying_node)
    node = await aiohttp_client(app)
    sink = LineSink()
    terminal = PhoneTerminal(str(node.make_url("/")), "token", dial="6119", out=sink)
    assert await terminal.run() == 1
    assert [name for name, _ in sink.seen] == ["ready", "error", "bye"]
    assert sink.seen[1][1]["code"] == "not_connected"


async def test_cli_without_a_token_says_so(media_hub: Hub) -> None:
    missing = await CliTerminal("--url", hub_url(media_hub)).start(wait_ready=False)
    assert await missing.wait() == 2
    assert "--token" in await missing.stderr()
    options = parser().parse_args(["phone", "--url", "http://x", "--token", "t", "--video", "/no/such.mp4"])
    assert _phone_inputs(options) == ("", "/no/such.mp4 does not exist")
    options = parser().parse_args(["phone", "--url", "http://x", "--token-file", "/no/token"])
    assert _phone_inputs(options)[1].startswith("cannot read /no/token")


def test_targets_and_urls() -> None:
    assert parse_target("6119") == {"extension": "6119"}
    assert parse_target("unit:shinan-emergency") == {"unit": "shinan-emergency"}
    assert parse_target("ext:8101") == {"extension": "8101"}
    assert parse_target("p-xie") == {"person": "p-xie"}
    assert ws_url("https://hub.city.example/") == "wss://hub.city.example/ws"
    assert ws_url("127.0.0.1:8080") == "ws://127.0.0.1:8080/ws"
    with pytest.raises(ValueError):
        ws_url("ftp://x")


def write_clip(path: Path, seconds: int = 3, fps: int = 15) -> None:
    """A small video file (MPEG-4 part 2 in MP4) of a scrolling gradient, made here with PyAV."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(seconds * fps):
            frame = av.VideoFrame(320, 240, "yuv420p")
            luma = frame.planes[0]
            row = bytes((x + i * 8) % 256 for x in range(luma.line_size))
            luma.update(row * 240)
            for chroma in frame.planes[1:]:
                chroma.update(bytes([128]) * chroma.buffer_size)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


async def test_terminal_sends_a_video_file(media_hub: Hub, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    write_clip(clip)
    office = await InProcessTerminal(hub_url(media_hub), media_hub.token("shinan-office-term"),
                                     auto_answer=True).start()
    city = await InProcessTerminal(hub_url(media_hub), media_hub.token("drc-01"), dial="6119",
                                   video=str(clip)).start()
    try:
        report = await next_line(office.sink.lines, "media")
        while int(report["video_frames"]) == 0:
            report = await next_line(office.sink.lines, "media")
        assert int(report["video_frames"]) > 0
        assert any(t.sizes == {(320, 240)} for t in office.terminal.media.received.values()  # type: ignore[union-attr]
                   if t.kind == "video")
    finally:
        await city.stop()
        await office.stop()


async def test_terminal_reconnects_and_resumes_its_call(media_hub: Hub) -> None:
    office = await InProcessTerminal(hub_url(media_hub), media_hub.token("shinan-office-term"),
                                     auto_answer=True).start()
    city = await InProcessTerminal(hub_url(media_hub), media_hub.token("drc-01"), dial="6119").start()
    try:
        await media_flowing(office.sink.lines)
        # the hub drops the office's socket (as a draining node does): it comes back and carries on the call
        session = media_hub.app[keys.SIGNALING].sessions_of("shinan-office-term")[0]
        await session.disconnect(CloseCode.GOING_AWAY, "going away")
        assert (await next_line(office.sink.lines, "disconnected"))["code"] == "1001"
        await next_line(office.sink.lines, "ready")
        await next_line(office.sink.lines, "resumed")
        before = city.terminal.media.frames("video")  # type: ignore[union-attr]
        await media_flowing(city.sink.lines)
        report = await next_line(city.sink.lines, "media")
        assert int(report["video_frames"]) > before
    finally:
        await city.stop()
    ended = await next_line(office.sink.lines, "ended")
    assert ended["outcome"] == "answered"
    assert await office.stop() == 0


async def test_terminal_commands_typed_on_stdin(media_hub: Hub) -> None:
    office = await InProcessTerminal(hub_url(media_hub), media_hub.token("shinan-office-term")).start()
    city = await InProcessTerminal(hub_url(media_hub), media_hub.token("drc-01")).start()
    try:
        await office.terminal.command("fly away")
        assert (await next_line(office.sink.lines, "error"))["code"] == "unknown_command"
        await city.terminal.command("dial 6119")
        await next_line(office.sink.lines, "ringing")
        await office.terminal.command("decline")
        assert (await next_line(city.sink.lines, "ended"))["outcome"] == "declined"
        await city.terminal.command("dial shinan-office-term")
        await next_line(office.sink.lines, "ringing")
        await office.terminal.command("answer")
        await media_flowing(city.sink.lines)
        await office.terminal.command("hangup")
        assert (await next_line(city.sink.lines, "ended"))["outcome"] == "answered"
    finally:
        await city.stop()
        await office.stop()


async def test_terminals_follow_their_call_into_a_meeting(media_hub: Hub) -> None:
    office = await InProcessTerminal(hub_url(media_hub), media_hub.token("shinan-office-term"),
                                     auto_answer=True).start()
    official = await InProcessTerminal(hub_url(media_hub), media_hub.token("shinan-01")).start()
    colleague = await InProcessTerminal(hub_url(media_hub), media_hub.token("shinan-02"), auto_answer=True).start()
    try:
        await official.terminal.command("dial 6119")
        await media_flowing(office.sink.lines)
        await official.terminal.command("meeting shinan-02")
        ended = await next_line(office.sink.lines, "ended")
        assert ended["outcome"] == "meeting"
        meeting_id = (await next_line(office.sink.lines, "meeting"))["meeting"]
        assert (await next_line(official.sink.lines, "meeting"))["meeting"] == meeting_id
        invited = await next_line(colleague.sink.lines, "invited")
        assert invited["meeting"] == meeting_id and invited["by"] == "戴婷"
        assert (await next_line(colleague.sink.lines, "meeting"))["status"] == "joined"
        # on the SFU now: everyone decodes the others' video
        for end in (office, official, colleague):
            report = await next_line(end.sink.lines, "meeting_media", within=30)
            while int(report["video_frames"]) == 0 or report["participants"] != "3":
                report = await next_line(end.sink.lines, "meeting_media", within=30)
        participants = await media_hub.app[keys.MEETINGS].participants(meeting_id)
        assert sorted(p["person_id"] for p in participants) == ["shinan-01", "shinan-02", "shinan-office-term"]
    finally:
        for end in (colleague, official, office):
            assert await end.stop() == 0
    assert office.sink.seen[-2][0] == "left" and int(office.sink.seen[-2][1]["video_frames"]) > 0

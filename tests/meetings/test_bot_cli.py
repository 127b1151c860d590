"""`cityhub bot join`: the Python client joins a meeting from the command line and decodes the others."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub import keys
from hub.cli import COMMANDS, parser
from tests.conftest import Hub
from tests.meetings.conftest import create_meeting, ws_url

pytestmark = pytest.mark.media


async def test_bot_join_decodes_a_participant_and_leaves(media_hub: Hub, meeting_clients: Any,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    meeting = await create_meeting(media_hub)
    host = meeting_clients(media_hub, "p-xie", meeting["id"])
    await host.join()
    args = parser().parse_args(["bot", "join", meeting["id"], "--url", ws_url(media_hub),
                                "--token", media_hub.token("pub-util-04"), "--seconds", "3"])
    code = await COMMANDS["bot join"](args, media_hub.app[keys.SETTINGS])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"joined meeting {meeting['id']}" in out
    assert "decoding 2 tracks" in out
    await host.wait(lambda: len(host.participants) == 1, within=5, what="the bot gone")


async def test_bot_join_is_refused_for_an_outsider_without_lobby(media_hub: Hub,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    meeting = await create_meeting(media_hub, lobby=False)
    args = parser().parse_args(["bot", "join", meeting["id"], "--url", ws_url(media_hub),
                                "--token", media_hub.token("edu-02"), "--seconds", "1"])
    code = await asyncio.wait_for(COMMANDS["bot join"](args, media_hub.app[keys.SETTINGS]), 20)
    assert code == 2
    assert "refused: not_invited" in capsys.readouterr().out

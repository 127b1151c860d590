"""Three real aiortc clients in one meeting over /ws and the SFU: each decodes the other two's video and audio."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from hub import keys
from signaling.ws_client import SignalingClient
from tests.conftest import Hub, make_settings, start_hub
from tests.meetings.conftest import create_meeting, ws_url

pytestmark = pytest.mark.media


async def test_three_clients_decode_each_other(media_hub: Hub, meeting_clients: Any) -> None:
    meeting = await create_meeting(media_hub)
    people = ["p-xie", "pub-util-02", "pub-util-03"]
    clients = [meeting_clients(media_hub, person, meeting["id"]) for person in people]
    for client in clients:
        result = await client.join()
        assert result["status"] == "joined"
    ids = {c.participant_id for c in clients}

    def decoding_both(minimum: int) -> bool:
        return all(
            len(c.decoded("video")) == 2 and len(c.decoded("audio")) == 2
            and min(c.decoded().values()) >= minimum for c in clients
        )

    for client in clients:
        await client.wait(lambda: decoding_both(10), within=20, what="each decoding the other two")
    for client in clients:
        assert client.publishers() == ids - {client.participant_id}
        assert set(client.participants) == ids
        names = {p["name"] for p in client.participants.values()}
        assert names == {"谢继成", "孔刚", "邓婷"}
        units = {p["org_unit_name"] for p in client.participants.values()}
        assert units == {"市公用事业局"}
    before = [sum(c.decoded("video").values()) for c in clients]
    await clients[0].wait(lambda: all(sum(c.decoded("video").values()) > b + 20 for c, b in zip(clients, before,
                                                                                             strict=True)),
                          what="frames advancing")

    got = await media_hub.client.get(f"/api/v1/meetings/{meeting['id']}", headers=media_hub.auth("p-xie"))
    assert (await got.json())["status"] == "live"


async def test_a_leaver_disappears_and_a_late_joiner_sees_everyone(media_hub: Hub, meeting_clients: Any) -> None:
    meeting = await create_meeting(media_hub)
    a = meeting_clients(media_hub, "p-xie", meeting["id"])
    b = meeting_clients(media_hub, "pub-util-02", meeting["id"])
    await a.join()
    await b.join()
    await a.wait(lambda: len(a.decoded("video")) == 1 and min(a.decoded().values(), default=0) > 3,
                 what="a decoding b")
    await a.request("chat.send", text="大家好")
    await b.close()
    await a.wait(lambda: b.participant_id not in a.participants, within=5, what="b gone")
    assert "participant.left" in a.event_names()
    assert not any(t["participant_id"] == b.participant_id for t in a.tracks.values())

    c = meeting_clients(media_hub, "pub-util-04", meeting["id"])
    result = await c.join()
    assert [m["text"] for m in result["chat"]] == ["大家好"]
    assert {p["participant_id"] for p in result["participants"]} == {a.participant_id, c.participant_id}
    await c.wait(lambda: len(c.decoded("video")) == 1 and min(c.decoded().values(), default=0) > 3,
                 what="late joiner decoding a")


async def test_speaker_screen_share_and_a_crashed_client_leaves_no_ghost(media_hub: Hub, meeting_clients: Any) -> None:
    meeting = await create_meeting(media_hub)
    listener = meeting_clients(media_hub, "p-xie", meeting["id"], video=False, amplitude=0.0)
    talker = meeting_clients(media_hub, "pub-util-02", meeting["id"], video=False, amplitude=0.5, screen=True)
    await listener.join()
    await talker.join()
    await talker.request("screen.start")
    await listener.wait(lambda: any(t["source"] == "screen" for t in listener.tracks.values()),
                        what="the screen track announced")
    await listener.wait(lambda: listener.participants[talker.participant_id]["screen"] is True, what="sharing flag")
    await listener.wait(lambda: len(listener.decoded("video")) == 1 and min(listener.decoded().values()) > 2,
                        what="decoding the shared screen")
    await listener.wait(
        lambda: any(e["event"] == "speaker.active" and e["data"]["participant_id"] == talker.participant_id
                    for e in listener.events), what="the talker as active speaker")

    # the talker's machine dies: its media stops and its socket is never closed properly
    await talker.media.close()
    await listener.wait(lambda: talker.participant_id not in listener.participants, within=12,
                        what="the crashed participant removed")
    left = [e["data"] for e in listener.events if e["event"] == "participant.left"]
    assert left[-1]["reason"].startswith("media_")
    assert "meeting.left" in talker.event_names()
    participants = await media_hub.app[keys.MEETINGS].participants(meeting["id"])
    assert [p["person_id"] for p in participants] == ["p-xie"]


async def test_a_socket_whose_heartbeat_stops_is_removed(aiohttp_client: Any, tmp_path: Any) -> None:
    hub = await start_hub(aiohttp_client, make_settings(tmp_path, signaling={"heartbeat": 0.4}))
    meeting = await create_meeting(hub)
    watcher = SignalingClient(ws_url(hub), token=hub.token("p-xie"))
    await watcher.connect()
    await watcher.request("meeting.join", meeting_id=meeting["id"])
    async with aiohttp.ClientSession() as http:
        # a client that never answers pings (its network is gone, or it hangs)
        ws = await http.ws_connect(ws_url(hub), autoping=False, heartbeat=None)
        await ws.send_str(json.dumps({"id": 1, "type": "auth", "token": hub.token("pub-util-04")}))
        await ws.send_str(json.dumps({"id": 2, "type": "meeting.join", "meeting_id": meeting["id"]}))
        try:
            while True:
                data = await watcher.event("participant.left", within=5)
                if data["person_id"] == "pub-util-04":
                    break
            assert data["reason"] == "disconnected"
        finally:
            await ws.close()
            await watcher.close()

"""Three real aiortc clients in one meeting over /ws and the SFU: each decodes the other two's video and audio."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Hub
from tests.meetings.conftest import create_meeting

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

"""Checkpoints of the audit chain: every N events and on a timer, signed, kept in the database, a file, the log and
the webhook receivers; restarts keep them."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from hub import keys
from hub.clock import ManualClock
from hub.settings import Settings, SettingsError, load_settings
from hub.supervision import checkpoints
from hub.supervision.anchor import AuditAnchor
from hub.supervision.checkpoints import Checkpoint
from tests.supervision import test_webhooks
from tests.supervision.conftest import LEAD, SUPERVISOR, SvHub, start_sv
from tests.supervision.test_webhooks import SECRET, Receiver, _hub

cleanup = test_webhooks.cleanup  # the fixture: hubs made in a test, emptied afterwards

EVERY = 3


def anchor_of(sv: SvHub) -> AuditAnchor:
    found = sv.app[keys.SUPERVISION].anchor
    assert found is not None
    return found


async def stored(sv: SvHub) -> list[Checkpoint]:
    async with sv.app[keys.DB].connect() as conn:
        return await checkpoints.stored(conn)


def in_file(sv: SvHub) -> list[Checkpoint]:
    path = sv.app[keys.SETTINGS].server.var_dir / "audit-checkpoints.jsonl"
    found, problems = checkpoints.read_file(path) if path.exists() else ([], [])
    assert problems == []
    return found


async def comments(sv: SvHub, item_id: str, n: int) -> None:
    for i in range(n):
        code, data = await sv.act(item_id, LEAD, "comment", text=f"进展{i}")
        assert code == 200, data


@pytest.fixture
def sv_settings(settings: Settings) -> Settings:
    return settings.replace(supervision={"audit_checkpoint_every": EVERY, "audit_checkpoint_interval": 3600.0})


async def test_a_checkpoint_every_n_events_in_every_copy(sv: SvHub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hub.supervision.anchor")
    item_id = str((await sv.decide())["item"]["id"])
    await comments(sv, item_id, 1)
    assert await stored(sv) == [] and in_file(sv) == []
    await comments(sv, item_id, 1)
    first = await stored(sv)
    assert [(cp.seq, cp.count) for cp in first] == [(3, 3)]
    assert first[0].at == sv.clock.now()
    await comments(sv, item_id, 5)
    kept = await stored(sv)
    assert [cp.seq for cp in kept] == [3, 6]
    # The same signed checkpoints in the append-only file and in the log, each verifying with the hub's key.
    assert in_file(sv) == kept
    logged = [Checkpoint.from_dict(json.loads(r.getMessage().removeprefix("audit checkpoint ")))
              for r in caplog.records if r.getMessage().startswith("audit checkpoint {")]
    assert logged == kept
    assert all(anchor_of(sv).keys.problem(cp) is None for cp in kept)
    result = await (await sv.client.get("/api/v1/supervision/audit/verify", headers=sv.auth(SUPERVISOR))).json()
    assert result["status"] == "intact" and result["events"] == 8 and result["since_checkpoint"] == 2


async def test_the_timer_anchors_what_came_since_the_last_checkpoint(sv: SvHub) -> None:
    anchor = anchor_of(sv)
    # Passes are driven by hand here; the background loop is tested on its own below.
    await anchor.stop()
    assert await anchor.tick() is None  # nothing to anchor yet
    item_id = str((await sv.decide())["item"]["id"])
    sv.clock.advance(30)
    made = await anchor.tick()
    assert made is not None and (made.seq, made.at) == (1, sv.clock.now())
    assert await anchor.tick() is None  # no new event, no new checkpoint
    await comments(sv, item_id, 1)
    again = await anchor.tick()
    assert again is not None and again.seq == 2
    # The count goes on from the last checkpoint, whoever made it.
    await comments(sv, item_id, 2)
    assert [cp.seq for cp in await stored(sv)] == [1, 2]
    await comments(sv, item_id, 1)
    assert [cp.seq for cp in await stored(sv)] == [1, 2, 5]


async def test_checkpoints_survive_a_restart(sv: SvHub, aiohttp_client: Any, sv_settings: Settings) -> None:
    item_id = str((await sv.decide())["item"]["id"])
    await comments(sv, item_id, 3)
    before = await stored(sv)
    await sv.client.close()
    clock = ManualClock(sv.clock.now())
    restarted = SvHub(await start_sv(aiohttp_client, sv_settings, clock, sv.meetings, sv.minutes), clock,
                      sv.meetings, sv.minutes)
    # The first timer pass at start anchors event 4 with the same key.
    for _ in range(100):
        if len(await stored(restarted)) > len(before):
            break
        await asyncio.sleep(0.02)
    after = await stored(restarted)
    assert after[:-1] == before and after[-1].seq == 4 and after[-1].key_id == before[0].key_id
    result = await (await restarted.client.get("/api/v1/supervision/audit/verify",
                                               headers=restarted.auth(SUPERVISOR))).json()
    assert result["status"] == "intact" and result["checkpoints"]["checked"] == 2


class TestBackgroundTimer:
    @pytest.fixture
    def sv_settings(self, settings: Settings) -> Settings:
        return settings.replace(supervision={"audit_checkpoint_every": 1000, "audit_checkpoint_interval": 0.05})

    async def test_the_timer_runs_on_its_own(self, sv: SvHub) -> None:
        await sv.decide()
        for _ in range(100):
            if await stored(sv):
                break
            await asyncio.sleep(0.05)
        assert [cp.seq for cp in await stored(sv)] == [1]
        await asyncio.sleep(0.3)
        assert [cp.seq for cp in await stored(sv)] == [1]


async def test_checkpoints_reach_the_webhook_receivers(aiohttp_client: Any, aiohttp_server: Any,
                                                      settings: Settings, cleanup: list[SvHub]) -> None:
    receiver = Receiver(failures=0)
    sv, _ = await _hub(aiohttp_client, aiohttp_server, settings, receiver, cleanup, audit_checkpoint_every=2)
    item_id = str((await sv.decide())["item"]["id"])
    await sv.act(item_id, LEAD, "accept")
    for _ in range(200):
        if any(r["headers"]["X-CityHub-Event"] == "audit.checkpoint" for r in receiver.received):
            break
        await asyncio.sleep(0.05)
    got = [r for r in receiver.received if r["headers"]["X-CityHub-Event"] == "audit.checkpoint"]
    assert len(got) == 1 and got[0]["headers"]["X-CityHub-Signature"].startswith("sha256=")
    body = json.loads(got[0]["body"])
    assert body["event"] == "audit.checkpoint" and SECRET not in got[0]["body"].decode()
    sent = Checkpoint.from_dict(body)
    assert sent == (await stored(sv))[0] and sent.seq == 2
    assert anchor_of(sv).keys.problem(sent) is None


def test_bad_checkpoint_settings_name_the_key() -> None:
    with pytest.raises(SettingsError, match=r"supervision\.audit_checkpoint_every"):
        load_settings(environ={"CITYHUB_SUPERVISION_AUDIT_CHECKPOINT_EVERY": "0"})
    with pytest.raises(SettingsError, match=r"supervision\.audit_checkpoint_interval"):
        load_settings(environ={"CITYHUB_SUPERVISION_AUDIT_CHECKPOINT_INTERVAL": "-1"})

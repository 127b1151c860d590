"""Attacks on the audit chain by someone who can write the database but not read the checkpoint key file.

Issue #11, item 8: deleting the newest rows left `audit verify` saying "intact", and since the hash is unkeyed the
whole chain could be recomputed. Signed checkpoints (hub/supervision/anchor.py) make both show.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub import keys
from hub.settings import Settings
from hub.supervision import audit as chain
from hub.supervision import checkpoints
from hub.supervision.checkpoints import Checkpoint, CheckpointKeys
from hub.supervision.tables import audit, audit_checkpoints
from tests.supervision import conftest as supervision
from tests.supervision.conftest import LEAD, SUPERVISOR, SvHub

sv = supervision.sv  # the fixture: a hub on a manual clock, on sv_settings below
ROOT = Path(__file__).resolve().parents[2]
EVERY = 3


@pytest.fixture
def sv_settings(settings: Settings) -> Settings:
    # A checkpoint after every third event; the timer is not what these tests are about.
    return settings.replace(supervision={"audit_checkpoint_every": EVERY, "audit_checkpoint_interval": 3600.0})


async def _six_events(sv: SvHub) -> str:
    item_id = str((await sv.decide())["item"]["id"])
    for person, action, body in ((LEAD, "accept", {}), (LEAD, "comment", {"text": "开始施工"}),
                                 (LEAD, "comment", {"text": "过半"}), (LEAD, "submit", {"text": "完成"}),
                                 (SUPERVISOR, "close", {})):
        code, data = await sv.act(item_id, person, action, **body)
        assert code == 200, data
    return item_id


async def _verify(sv: SvHub) -> dict[str, Any]:
    response = await sv.client.get("/api/v1/supervision/audit/verify", headers=sv.auth(SUPERVISOR))
    assert response.status == 200
    return dict(await response.json())


def _var_dir(sv: SvHub) -> Path:
    return sv.app[keys.SETTINGS].server.var_dir


def _cli(sv: SvHub, *args: str, var_dir: Path | None = None) -> tuple[int, str]:
    env = {**os.environ, "CITYHUB_DATABASE_URL": sv.app[keys.DB].url,
           "CITYHUB_SERVER_VAR_DIR": str(var_dir or _var_dir(sv))}
    run = subprocess.run([sys.executable, "-m", "hub", "audit", *args], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=False)
    return run.returncode, run.stdout


async def _recompute(sv: SvHub, changed_seq: int) -> None:
    """What an attacker with database access does: change an event and recompute every hash after it."""
    async with sv.app[keys.DB].begin() as conn:
        rows = (await conn.execute(sa.select(audit).order_by(audit.c.seq))).all()
        prev = chain.GENESIS
        for row in rows:
            data = {**row.data, "text": "改过的"} if row.seq == changed_seq else row.data
            event = {"seq": row.seq, "at": row.at.isoformat(timespec="microseconds"), "actor": row.actor,
                     "item_id": row.item_id, "action": row.action, "data": data}
            digest = chain.event_hash(prev, event)
            await conn.execute(sa.update(audit).where(audit.c.seq == row.seq)
                               .values(data=data, prev_hash=prev, hash=digest))
            prev = digest


async def test_an_intact_chain_is_anchored(sv: SvHub) -> None:
    await _six_events(sv)
    result = await _verify(sv)
    assert result["intact"] is True and result["status"] == "intact" and result["events"] == 6
    assert result["checkpoint"]["seq"] == 6 and result["since_checkpoint"] == 0
    assert result["checkpoints"] == {"checked": 2, "bad": [], "missing_from_database": 0}
    code, out = await asyncio.to_thread(_cli, sv, "verify")
    assert code == 0 and json.loads(out)["status"] == "intact"


async def test_deleting_the_newest_events_is_reported_as_truncation(sv: SvHub) -> None:
    await _six_events(sv)
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.delete(audit).where(audit.c.seq >= 5))
    result = await _verify(sv)
    assert result["intact"] is False and result["status"] == "truncated"
    assert result["events"] == 4 and result["first_broken_seq"] == 5 and result["checkpoint"]["seq"] == 6
    assert "events 5 to 6 were removed" in result["reason"]
    code, out = await asyncio.to_thread(_cli, sv, "verify")
    assert code == 1 and json.loads(out)["status"] == "truncated"
    # The hub does not sign over the cut chain, on the timer or after new events.
    assert await sv.app[keys.SUPERVISION].anchor.tick() is None  # type: ignore[union-attr]
    assert (await _verify(sv))["status"] == "truncated"


async def test_a_recomputed_chain_is_reported_as_rewritten(sv: SvHub) -> None:
    await _six_events(sv)
    await _recompute(sv, changed_seq=3)
    result = await _verify(sv)
    # Every link holds, as the attacker made sure; the checkpoint of event 3 does not.
    assert result["intact"] is False and result["status"] == "rewritten"
    assert result["events"] == 6 and result["first_broken_seq"] == 3
    code, out = await asyncio.to_thread(_cli, sv, "verify")
    assert code == 1 and json.loads(out)["status"] == "rewritten"
    assert await sv.app[keys.SUPERVISION].anchor.tick() is None  # type: ignore[union-attr]


async def test_cut_and_regrown_chain_is_reported_as_rewritten(sv: SvHub) -> None:
    item_id = await _six_events(sv)
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.delete(audit).where(audit.c.seq >= 4))
    # New events take the removed events' numbers; the anchor refuses to sign over them.
    await sv.act(item_id, SUPERVISOR, "comment", text="补记一")
    await sv.act(item_id, SUPERVISOR, "comment", text="补记二")
    await sv.act(item_id, SUPERVISOR, "comment", text="补记三")
    result = await _verify(sv)
    assert result["status"] == "rewritten" and result["first_broken_seq"] == 6
    async with sv.app[keys.DB].connect() as conn:
        assert [cp.seq for cp in await checkpoints.stored(conn)] == [3, 6]


async def test_forged_checkpoints_are_reported(sv: SvHub) -> None:
    await _six_events(sv)
    db = sv.app[keys.DB]
    async with db.connect() as conn:
        genuine = (await checkpoints.stored(conn))[-1]
    # The attacker's own key, under the hub's key id; and a genuine signature on changed fields.
    theirs = CheckpointKeys(Ed25519PrivateKey.generate())
    forged = theirs.sign(seq=genuine.seq, hash=genuine.hash, count=6, at=genuine.at + timedelta(seconds=1))
    forged = Checkpoint(forged.seq, forged.hash, forged.count, forged.at, genuine.key_id, forged.signature)
    moved = Checkpoint(genuine.seq + 100, genuine.hash, genuine.count, genuine.at, genuine.key_id, genuine.signature)
    async with db.begin() as conn:
        await checkpoints.insert(conn, forged)
        await checkpoints.insert(conn, moved)
    result = await _verify(sv)
    assert result["intact"] is False and result["status"] == "bad_checkpoint"
    assert [(b["source"], b["seq"]) for b in result["checkpoints"]["bad"]] == [("database", 6), ("database", 106)]
    assert all(b["problem"] == "the signature does not match the checkpoint" for b in result["checkpoints"]["bad"])
    # A forged checkpoint does not bless a rewritten chain: the genuine ones still disagree with it.
    await _recompute(sv, changed_seq=2)
    top = (await _verify(sv))["events"]
    async with db.begin() as conn:
        head = await chain.head(conn)
        assert head is not None
        blessing = theirs.sign(seq=head[0], hash=head[1], count=top, at=sv.clock.now())
        await checkpoints.insert(conn, blessing)
    assert (await _verify(sv))["status"] == "rewritten"


async def test_deleting_checkpoints_from_the_database_is_seen(sv: SvHub) -> None:
    await _six_events(sv)
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.delete(audit_checkpoints))
    result = await _verify(sv)
    assert result["status"] == "checkpoint_missing" and result["checkpoints"]["missing_from_database"] == 2
    # ... and the copies outside the database still show a truncation done with it.
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.delete(audit).where(audit.c.seq == 6))
    assert (await _verify(sv))["status"] == "truncated"
    assert await sv.app[keys.SUPERVISION].anchor.tick() is None  # type: ignore[union-attr]


async def test_an_outside_verifier_needs_only_the_public_key_and_copies(sv: SvHub, tmp_path: Path) -> None:
    await _six_events(sv)
    key_file = _var_dir(sv) / "audit-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    code, pem = await asyncio.to_thread(_cli, sv, "public-key")
    assert code == 0 and pem.startswith("-----BEGIN PUBLIC KEY-----")
    # Somewhere else: the public key, and checkpoints collected from the log or a webhook receiver.
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    (elsewhere / "audit.pub").write_text(pem)
    shutil.copy(_var_dir(sv) / "audit-checkpoints.jsonl", elsewhere / "collected.jsonl")
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.delete(audit_checkpoints))
        await conn.execute(sa.delete(audit).where(audit.c.seq >= 4))
    args = ("verify", "--public-key", str(elsewhere / "audit.pub"), "--checkpoints", str(elsewhere / "collected.jsonl"))
    code, out = await asyncio.to_thread(_cli, sv, *args, var_dir=elsewhere / "var")
    report = json.loads(out)
    assert code == 1 and report["status"] == "truncated" and report["checkpoint"]["seq"] == 6
    # Without the public key, the checkpoints cannot be trusted, and say so.
    code, out = await asyncio.to_thread(_cli, sv, "verify", "--checkpoints", str(elsewhere / "collected.jsonl"),
                                        var_dir=elsewhere / "var")
    report = json.loads(out)
    assert code == 1 and report["status"] == "bad_checkpoint"
    assert report["checkpoints"]["bad"][0]["problem"].startswith("signed with an unknown key")

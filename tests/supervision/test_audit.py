"""The audit chain: intact after real changes; a row changed or removed in the database breaks it at that row."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from hub import keys
from hub.supervision.tables import audit
from tests.supervision.conftest import LEAD, OUTSIDER, SUPERVISOR, SvHub

ROOT = Path(__file__).resolve().parents[2]


async def _changes(sv: SvHub) -> None:
    item_id = (await sv.decide())["item"]["id"]
    await sv.act(item_id, LEAD, "accept")
    await sv.act(item_id, LEAD, "comment", text="开始施工")
    await sv.act(item_id, LEAD, "submit", text="完成")
    await sv.act(item_id, SUPERVISOR, "close")


async def _verify(sv: SvHub) -> dict[str, object]:
    response = await sv.client.get("/api/v1/supervision/audit/verify", headers=sv.auth(SUPERVISOR))
    assert response.status == 200
    return dict(await response.json())


async def test_changed_row_breaks_the_chain_at_that_row(sv: SvHub) -> None:
    await _changes(sv)
    result = await _verify(sv)
    assert (result["intact"], result["status"], result["events"], result["first_broken_seq"]) == (
        True, "unanchored", 5, None)
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.update(audit).where(audit.c.seq == 3).values(data={"text": "改过的"}))
    result = await _verify(sv)
    assert result["intact"] is False and result["first_broken_seq"] == 3 and result["events"] == 2


async def test_changed_actor_or_removed_row_is_found(sv: SvHub) -> None:
    await _changes(sv)
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.update(audit).where(audit.c.seq == 2).values(actor="someone-else"))
    assert (await _verify(sv))["first_broken_seq"] == 2
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.update(audit).where(audit.c.seq == 2).values(actor=LEAD))
    assert (await _verify(sv))["intact"] is True
    async with sv.app[keys.DB].begin() as conn:
        await conn.execute(sa.delete(audit).where(audit.c.seq == 4))
    result = await _verify(sv)
    assert result["intact"] is False and result["first_broken_seq"] == 4


async def test_refused_changes_leave_no_audit_event(sv: SvHub) -> None:
    await _changes(sv)
    item_id = (await sv.decide())["item"]["id"]
    before = (await _verify(sv))["events"]
    await sv.act(item_id, SUPERVISOR, "close")
    await sv.act(item_id, OUTSIDER, "accept")
    assert (await _verify(sv))["events"] == before


async def test_verify_is_for_supervisors(sv: SvHub) -> None:
    response = await sv.client.get("/api/v1/supervision/audit/verify", headers=sv.auth(LEAD))
    assert response.status == 403


def _cli_verify(database_url: str, var_dir: Path) -> tuple[int, dict[str, object]]:
    env = {**os.environ, "CITYHUB_DATABASE_URL": database_url, "CITYHUB_SERVER_VAR_DIR": str(var_dir)}
    run = subprocess.run([sys.executable, "-m", "hub", "audit", "verify"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=False)
    return run.returncode, json.loads(run.stdout)


async def test_cli_audit_verify(sv: SvHub, tmp_path: Path) -> None:
    await _changes(sv)
    db = sv.app[keys.DB]
    code, report = await asyncio.to_thread(_cli_verify, db.url, tmp_path)
    assert code == 0 and report["intact"] is True and report["events"] == 5
    async with db.begin() as conn:
        await conn.execute(sa.update(audit).where(audit.c.seq == 5).values(action="item.cancel"))
    code, report = await asyncio.to_thread(_cli_verify, db.url, tmp_path)
    assert code == 1 and report["first_broken_seq"] == 5

"""Migrations create the schema on a fresh SQLite file and a fresh PostgreSQL database, and are repeatable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

import hub.storage.tables  # noqa: F401 - every table on the metadata
from hub.storage.db import Database, alembic_config
from hub.storage.meta import metadata
from tests.services import create_pg_database, drop_pg_database


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'dir' / 'cityhub.db'}"
    return str(request.getfixturevalue("fresh_pg"))


async def schema(db: Database) -> tuple[set[str], set[str]]:
    def inspect(conn: sa.Connection) -> tuple[set[str], set[str]]:
        tables = set(sa.inspect(conn).get_table_names())
        versions = {row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
        return tables, versions

    async with db.connect() as conn:
        return await conn.run_sync(inspect)


async def test_fresh_database_is_migrated_to_every_head_and_twice_is_fine(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        await db.upgrade()
        tables, versions = await schema(db)
        assert set(metadata.tables) <= tables
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        assert versions == heads
        async with db.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO org_units (id, name, kind, sort_order, updated_at) "
                "VALUES ('gov', '市政府', 'city', 0, CURRENT_TIMESTAMP)"
            ))
        await db.upgrade()
        assert await schema(db) == (tables, versions)
        async with db.connect() as conn:
            assert (await conn.execute(sa.text("SELECT name FROM org_units"))).scalar_one() == "市政府"
        assert await db.ping()
    finally:
        await db.close()


def test_every_domain_branch_starts_at_the_directory() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(script.walk_revisions())
    assert any(r.revision == "0001" and r.down_revision is None for r in revisions)
    for revision in revisions:
        if revision.revision != "0001":
            assert revision.down_revision is not None, revision.revision


async def test_ping_reports_an_unreachable_database(tmp_path: Path) -> None:
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        assert await db.ping() is False
    finally:
        await db.close()


async def test_supervision_notifications_move_into_the_notifications_table(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        await db.upgrade("supervision@head")
        async with db.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO supervision_notifications (person_id, item_id, kind, data, created_at, read_at) "
                "VALUES ('pub-util-04', 'it1', 'return', '{\"title\": \"管网改造\"}', CURRENT_TIMESTAMP, NULL), "
                "('pub-util-05', 'it1', 'close', '{\"title\": \"管网改造\"}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ))
        await db.upgrade()
        tables, _ = await schema(db)
        assert "supervision_notifications" not in tables
        async with db.connect() as conn:
            rows = (await conn.execute(sa.text(
                "SELECT person_id, subject, subject_id, kind, data, read_at IS NULL FROM notifications ORDER BY id"
            ))).all()
        moved = [(r[0], r[1], r[2], r[3], r[5]) for r in rows]
        assert moved == [("pub-util-04", "item", "it1", "return", True), ("pub-util-05", "item", "it1", "close", False)]
        assert "管网改造" in str(rows[0][4])
    finally:
        await db.close()


async def test_stored_names_get_their_pinyin_keys(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        await db.upgrade("0001")
        async with db.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO org_units (id, name, kind, sort_order, updated_at) "
                "VALUES ('gov', '市政府', 'city', 0, CURRENT_TIMESTAMP)"))
            await conn.execute(sa.text(
                "INSERT INTO people (id, name, org_unit_id, title, roles, active, sort_order, updated_at) "
                "VALUES ('p-xie', '谢继成', 'gov', '', '[]', true, 0, CURRENT_TIMESTAMP)"))
        await db.upgrade()
        async with db.connect() as conn:
            keys = {row[0]: row[1] for row in await conn.execute(sa.text(
                "SELECT id, search_key FROM people UNION ALL SELECT id, search_key FROM org_units"))}
        assert keys == {"p-xie": "xiejicheng xjc", "gov": "shizhengfu szf"}
    finally:
        await db.close()


async def test_stored_items_get_their_numbers_in_creation_order(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        await db.upgrade("supervision_0002")
        async with db.begin() as conn:
            # created 2025-12-31 17:00 UTC is 2026-01-01 01:00 in the city (Asia/Shanghai)
            for n, (item_id, created) in enumerate([("b", "2025-12-31 17:00:00"), ("a", "2025-12-31 15:00:00"),
                                                    ("c", "2026-03-01 08:00:00")], start=1):
                await conn.execute(sa.text(
                    "INSERT INTO supervision_decisions (id, meeting_id, meeting_title, number, text, recorded_by, "
                    "recorded_at) VALUES (:d, 'm1', '会', :n, '决定', 'p', CURRENT_TIMESTAMP)"), {"d": f"d{n}", "n": n})
                await conn.execute(sa.text(
                    "INSERT INTO supervision_items (id, decision_id, meeting_id, title, lead_unit_id, coop_unit_ids, "
                    "responsible_id, priority, status, percent, due_date, original_due_date, created_at, updated_at) "
                    "VALUES (:id, :d, 'm1', '事项', 'u', '[]', 'p', 'normal', 'assigned', 0, '2026-06-01', "
                    "'2026-06-01', :at, :at)"),
                    {"id": item_id, "d": f"d{n}", "at": datetime.fromisoformat(created + "+00:00")
                     if db.dialect == "postgresql" else created})
        await db.upgrade()
        async with db.connect() as conn:
            numbers = dict((await conn.execute(sa.text("SELECT id, number FROM supervision_items"))).all())
        assert numbers == {"a": "督办〔2025〕1号", "b": "督办〔2026〕1号", "c": "督办〔2026〕2号"}
    finally:
        await db.close()

"""The supervision_0001 migration builds exactly the tables hub.supervision.tables declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub import keys
from hub.storage.meta import metadata
from tests.supervision.conftest import SvHub


def _differences(sync_conn: Any) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return [d for d in compare_metadata(context, metadata) if "supervision" in repr(d)]


async def test_migrated_schema_matches_the_tables(sv: SvHub) -> None:
    async with sv.app[keys.DB].connect() as conn:
        differences = await conn.run_sync(_differences)
    assert differences == []

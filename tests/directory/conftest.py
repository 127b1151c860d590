"""A DirectoryService on a fresh, empty database: SQLite and PostgreSQL, in-process bus and Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import hub.storage.tables  # noqa: F401 - every table on the metadata
from hub.bus import MemoryBus, RedisBus
from hub.bus.base import Bus
from hub.clock import Clock
from hub.directory.service import DirectoryService
from hub.storage.db import Database
from hub.storage.meta import metadata
from tests.services import REDIS_URL, redis_available

SMALL = """
org_units:
  - {id: gov, name: 青岛市人民政府, kind: city}
  - {id: pub-util, name: 市公用事业局, kind: department, parent: gov, extension: "8100"}
  - {id: shinan, name: 市南区人民政府, kind: district, parent: gov, extension: "8200"}
  - {id: shinan-office, name: 市南区政府办公室, kind: office, parent: shinan}
people:
  - {id: p-xie, name: 谢继成, org_unit: pub-util, title: 局长, roles: [official, chair], extension: "8101",
     active: true}
  - {id: p-kong, name: 孔刚, org_unit: pub-util, title: 副局长, roles: [official], extension: "8102"}
  - {id: p-wang, name: 王丽华, org_unit: shinan-office, title: 秘书, roles: [official, secretary], extension: "8201"}
"""


@pytest.fixture(params=["sqlite", "postgresql-redis"])
async def directory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DirectoryService]:
    bus: Bus
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'dir.db'}")
        bus = MemoryBus()
    else:
        redis_available()
        db = Database(request.getfixturevalue("pg_url"))
        bus = RedisBus(REDIS_URL, prefix=f"t{uuid.uuid4().hex[:8]}", node_id="dir-test")
    await db.upgrade()
    await bus.start()
    try:
        yield DirectoryService(db, bus, Clock())
    finally:
        await bus.stop()
        if db.dialect == "postgresql":
            async with db.begin() as conn:
                for table in reversed(metadata.sorted_tables):
                    await conn.execute(sa.delete(table))
        await db.close()

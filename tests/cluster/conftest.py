"""Cluster fixtures: real `cityhub serve` nodes on a PostgreSQL database and a Redis prefix of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.browser.conftest import browser, browser_guard  # noqa: F401 - shared browser fixtures
from tests.calls.browser import bundle  # noqa: F401 - the built phone page
from tests.cluster.nodes import Cluster
from tests.cluster.phones import phones  # noqa: F401 - phone tabs on a chosen node
from tests.services import REDIS_URL, create_pg_database, drop_pg_database, redis_available


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    redis_available()
    url = create_pg_database()
    made = Cluster(tmp_path, url, REDIS_URL)
    try:
        yield made
    finally:
        await made.stop()
        drop_pg_database(url)

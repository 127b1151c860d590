"""Alembic environment: CityHub runs migrations on a connection it hands over (see hub.storage.db)."""

from __future__ import annotations

from alembic import context

import hub.storage.tables  # noqa: F401 - registers every domain's tables on the metadata
from hub.storage.meta import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `cityhub db upgrade`, which provides the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

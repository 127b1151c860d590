"""The directory: pinyin search keys of people and org units (hub.directory.pinyin), filled for those stored.

Revision ID: directory_0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from hub.directory.pinyin import search_key

revision = "directory_0002"
down_revision = "0001"
branch_labels = ("directory",)
depends_on = None


def upgrade() -> None:
    for table in ("org_units", "people"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("search_key", sa.String(400), nullable=False, server_default=""))
    conn = op.get_bind()
    for table, surname in (("org_units", False), ("people", True)):
        rows = conn.execute(sa.text(f"SELECT id, name FROM {table}")).all()  # noqa: S608 - two fixed names
        for row in rows:
            conn.execute(sa.text(f"UPDATE {table} SET search_key = :key WHERE id = :id"),  # noqa: S608
                         {"key": search_key(row.name, surname=surname), "id": row.id})


def downgrade() -> None:
    for table in ("people", "org_units"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("search_key")

"""Supervision: every item carries the number people cite (督办〔2026〕12号), per year of creation; items stored
before get theirs in creation order (in the city's time zone, server.timezone, as the settings of this run say).

Revision ID: supervision_0003
Revises: supervision_0002
"""

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from hub.settings import load_settings

revision = "supervision_0003"
down_revision = "supervision_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("supervision_items") as batch:
        batch.add_column(sa.Column("number_year", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("number_seq", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("number", sa.String(40), nullable=False, server_default=""))
    settings = load_settings()
    city = ZoneInfo(settings.server.timezone)
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, created_at FROM supervision_items ORDER BY created_at, id")).all()
    counted: dict[int, int] = defaultdict(int)
    for row in rows:
        created = row.created_at
        if isinstance(created, str):  # SQLite hands the stored text back
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        year = created.astimezone(city).year
        counted[year] += 1
        conn.execute(
            sa.text("UPDATE supervision_items SET number_year = :year, number_seq = :seq, number = :number "
                    "WHERE id = :id"),
            {"year": year, "seq": counted[year], "id": row.id,
             "number": f"{settings.supervision.number_prefix}〔{year}〕{counted[year]}号"},
        )
    with op.batch_alter_table("supervision_items") as batch:
        batch.create_unique_constraint("uq_supervision_items_number", ["number_year", "number_seq"])


def downgrade() -> None:
    with op.batch_alter_table("supervision_items") as batch:
        batch.drop_constraint("uq_supervision_items_number", type_="unique")
        batch.drop_column("number")
        batch.drop_column("number_seq")
        batch.drop_column("number_year")

"""Supervision: decisions, items, follow-ups, attachments, the audit chain, reminders, notifications, webhooks.

Revision ID: supervision_0001
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from hub.storage.meta import UtcDateTime

revision = "supervision_0001"
down_revision = "0001"
branch_labels = ("supervision",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_decisions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sa.Column("meeting_title", sa.String(200), nullable=False),
        sa.Column("minutes_doc_id", sa.String(64), nullable=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_decisions"),
        sa.UniqueConstraint("meeting_id", "number", name="uq_supervision_decisions_meeting_id"),
    )
    op.create_index("ix_supervision_decisions_meeting_id", "supervision_decisions", ["meeting_id"])
    op.create_table(
        "supervision_items",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.String(32), nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("lead_unit_id", sa.String(64), nullable=False),
        sa.Column("coop_unit_ids", sa.JSON, nullable=False),
        sa.Column("responsible_id", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("percent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("original_due_date", sa.Date, nullable=False),
        sa.Column("requested_due_date", sa.Date, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("submitted_at", UtcDateTime, nullable=True),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("on_time", sa.Boolean, nullable=True),
        sa.Column("days_to_close", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_items"),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["supervision_decisions.id"], name="fk_supervision_items_decision_id_supervision_decisions"
        ),
        sa.UniqueConstraint("decision_id", name="uq_supervision_items_decision_id"),
    )
    op.create_index("ix_supervision_items_meeting_id", "supervision_items", ["meeting_id"])
    op.create_index(
        "ix_supervision_items_lead_status_due", "supervision_items",
        ["lead_unit_id", "status", "due_date", "on_time", "days_to_close"],
    )
    op.create_index(
        "ix_supervision_items_status_due", "supervision_items", ["status", "due_date", "lead_unit_id"]
    )
    op.create_table(
        "supervision_rollup",
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("on_time", sa.Integer, nullable=False, server_default="0"),
        sa.Column("days_sum", sa.Float, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("unit_id", "status", name="pk_supervision_rollup"),
    )
    op.create_index("ix_supervision_items_due_date", "supervision_items", ["due_date", "id"])
    op.create_table(
        "supervision_item_units",
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("item_id", "unit_id", name="pk_supervision_item_units"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["supervision_items.id"], name="fk_supervision_item_units_item_id_supervision_items"
        ),
    )
    op.create_index(
        "ix_supervision_item_units_unit_due", "supervision_item_units", ["unit_id", "due_date", "item_id"]
    )
    op.create_table(
        "supervision_followups",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("author_id", sa.String(64), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("percent", sa.Integer, nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_followups"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["supervision_items.id"], name="fk_supervision_followups_item_id_supervision_items"
        ),
    )
    op.create_index("ix_supervision_followups_item_id", "supervision_followups", ["item_id"])
    op.create_table(
        "supervision_attachments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("followup_id", sa.Integer, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_attachments"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["supervision_items.id"], name="fk_supervision_attachments_item_id_supervision_items"
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"], ["supervision_followups.id"],
            name="fk_supervision_attachments_followup_id_supervision_followups",
        ),
    )
    op.create_index("ix_supervision_attachments_item_id", "supervision_attachments", ["item_id"])
    op.create_index("ix_supervision_attachments_followup_id", "supervision_attachments", ["followup_id"])
    op.create_table(
        "supervision_audit",
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("item_id", sa.String(32), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_supervision_audit"),
    )
    op.create_index("ix_supervision_audit_item_id", "supervision_audit", ["item_id"])
    op.create_table(
        "supervision_reminders",
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("threshold", sa.String(24), nullable=False),
        sa.Column("fired_at", UtcDateTime, nullable=False),
        sa.Column("skipped", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("item_id", "due_date", "threshold", name="pk_supervision_reminders"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["supervision_items.id"], name="fk_supervision_reminders_item_id_supervision_items"
        ),
    )
    op.create_table(
        "supervision_notifications",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("read_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_notifications"),
    )
    op.create_index("ix_supervision_notifications_person", "supervision_notifications", ["person_id", "read_at"])
    op.create_table(
        "supervision_webhook_deliveries",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("item_id", sa.String(32), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("delivered_at", UtcDateTime, nullable=True),
        sa.Column("claimed_until", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_webhook_deliveries"),
    )
    op.create_index(
        "ix_supervision_webhook_deliveries_status", "supervision_webhook_deliveries", ["status"]
    )


def downgrade() -> None:
    for table in (
        "supervision_webhook_deliveries", "supervision_notifications", "supervision_reminders", "supervision_audit",
        "supervision_attachments", "supervision_followups", "supervision_item_units", "supervision_rollup",
        "supervision_items",
        "supervision_decisions",
    ):
        op.drop_table(table)

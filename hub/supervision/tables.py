"""The tables of supervision (the migration supervision_0001 creates the same)."""

from __future__ import annotations

import sqlalchemy as sa

from hub.storage.meta import UtcDateTime, metadata

decisions = sa.Table(
    "supervision_decisions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("meeting_id", sa.String(64), nullable=False, index=True),
    sa.Column("meeting_title", sa.String(200), nullable=False),
    sa.Column("minutes_doc_id", sa.String(64), nullable=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("meeting_id", "number", name="uq_supervision_decisions_meeting_id"),
)

items = sa.Table(
    "supervision_items",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("decision_id", sa.String(32), sa.ForeignKey("supervision_decisions.id"), nullable=False, unique=True),
    sa.Column("meeting_id", sa.String(64), nullable=False, index=True),
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
    # The number people cite (督办〔2026〕12号): the year of creation in the city and the item's place in it.
    sa.Column("number_year", sa.Integer, nullable=False, server_default="0"),
    sa.Column("number_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("number", sa.String(40), nullable=False, server_default=""),
    sa.UniqueConstraint("number_year", "number_seq", name="uq_supervision_items_number"),
    # Covers the dashboard's one grouped scan (per department and state), so it never reads the table itself.
    sa.Index(
        "ix_supervision_items_lead_status_due", "lead_unit_id", "status", "due_date", "on_time", "days_to_close"
    ),
    sa.Index("ix_supervision_items_status_due", "status", "due_date", "lead_unit_id"),
    # The lists' order (soonest due first, then id): pages are read straight off this index.
    sa.Index("ix_supervision_items_due_date", "due_date", "id"),
)

# Per department and state: how many items, how many closed on time, their days to close summed. Kept in the
# transaction of every change, so the unfiltered dashboard reads ~175 rows instead of every item.
rollup = sa.Table(
    "supervision_rollup",
    metadata,
    sa.Column("unit_id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(24), primary_key=True),
    sa.Column("item_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("on_time", sa.Integer, nullable=False, server_default="0"),
    sa.Column("days_sum", sa.Float, nullable=False, server_default="0"),
)

# The lead and co-operating units of each item, with the item's due date, so a department's view ("items
# involving unit X", soonest due first) is read off one index.
item_units = sa.Table(
    "supervision_item_units",
    metadata,
    sa.Column("item_id", sa.String(32), sa.ForeignKey("supervision_items.id"), primary_key=True),
    sa.Column("unit_id", sa.String(64), primary_key=True),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Index("ix_supervision_item_units_unit_due", "unit_id", "due_date", "item_id"),
)

followups = sa.Table(
    "supervision_followups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.String(32), sa.ForeignKey("supervision_items.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("author_id", sa.String(64), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("percent", sa.Integer, nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)

attachments = sa.Table(
    "supervision_attachments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("item_id", sa.String(32), sa.ForeignKey("supervision_items.id"), nullable=False, index=True),
    sa.Column("followup_id", sa.Integer, sa.ForeignKey("supervision_followups.id"), nullable=False, index=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(120), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

# A supervisor's handwritten signature on an item's closing (手写签批): the strokes, the image rendered from them,
# and the SHA-256 of the item's state as closed.
signoffs = sa.Table(
    "supervision_signoffs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("item_id", sa.String(32), sa.ForeignKey("supervision_items.id"), nullable=False, index=True),
    sa.Column("followup_id", sa.Integer, nullable=False),
    sa.Column("signer_id", sa.String(64), nullable=False),
    sa.Column("signer_name", sa.String(100), nullable=False),
    sa.Column("signed_at", UtcDateTime, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("state_sha256", sa.String(64), nullable=False),
    sa.Column("strokes", sa.JSON, nullable=False),
    sa.Column("image", sa.LargeBinary, nullable=False),
)

audit = sa.Table(
    "supervision_audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=True),
    sa.Column("item_id", sa.String(32), nullable=True, index=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Signed checkpoints of the audit chain's head (hub/supervision/checkpoints.py); copies go to a file and webhooks.
audit_checkpoints = sa.Table(
    "supervision_audit_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("seq", sa.Integer, nullable=False, index=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)

# Which reminder/escalation thresholds have fired for an item's due date: each fires once, across restarts.
reminders = sa.Table(
    "supervision_reminders",
    metadata,
    sa.Column("item_id", sa.String(32), sa.ForeignKey("supervision_items.id"), primary_key=True),
    sa.Column("due_date", sa.Date, primary_key=True),
    sa.Column("threshold", sa.String(24), primary_key=True),
    sa.Column("fired_at", UtcDateTime, nullable=False),
    # A threshold passed while a later one was due too: recorded, but only the later one was sent.
    sa.Column("skipped", sa.Boolean, nullable=False, server_default=sa.false()),
)

# The outbox and delivery log of webhooks: written in the same transaction as the change it reports.
webhook_deliveries = sa.Table(
    "supervision_webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
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
    # The node sending a delivery holds it until then; a delivery of a node that died is taken over afterwards.
    sa.Column("claimed_until", UtcDateTime, nullable=True),
    sa.Index("ix_supervision_webhook_deliveries_status", "status"),
)

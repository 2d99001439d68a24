"""In-year events of enterprises and the outbox of decision changes.

``enterprise_events`` is append-only and idempotent by ``(source, event_id)``: a retried post finds its
first row and returns the stored ``result``. ``decision_changes`` is the outbox the WatchDecisions stream
reads: one row per new version of a frozen or published decision (publication, appeal, event, expiry),
written in the transaction that writes the decision; its integer primary key is the stream's cursor.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enterprise_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("enterprise_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("fields_json", sa.Text, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.UniqueConstraint("source", "event_id", name="uq_enterprise_events_source_id"),
    )
    op.create_index("ix_enterprise_events_firm", "enterprise_events", ["region", "year", "enterprise_id", "date"])
    op.create_table(
        "decision_changes",
        sa.Column("cursor", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("enterprise_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("tier_before", sa.String(16), nullable=True),
        sa.Column("tier_after", sa.String(16), nullable=True),
        sa.Column("measures_changed_json", sa.Text, nullable=False),
        sa.Column("cause_json", sa.Text, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sqlite_autoincrement=True,  # a cursor is never reused, even after the newest rows are pruned
    )
    op.create_index("ix_decision_changes_region", "decision_changes", ["region", "cursor"])


def downgrade() -> None:
    op.drop_table("decision_changes")
    op.drop_table("enterprise_events")

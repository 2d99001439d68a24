"""Initial schema: pack versions, activations, cycles, decisions, events, tokens, audit log.

The audit log and the decisions are guarded by triggers: audit entries can never be updated or
deleted, decisions never updated, and only deleted while their cycle is a draft (a re-run).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
       BEGIN SELECT RAISE(ABORT, 'decisions never change in place; add a version'); END""",
    """CREATE TRIGGER decisions_delete_only_draft BEFORE DELETE ON decisions
       WHEN (SELECT state FROM cycles WHERE id = OLD.cycle_id) NOT IN ('draft', 'running')
       BEGIN SELECT RAISE(ABORT, 'decisions of a frozen or published cycle are never deleted'); END""",
]

_POSTGRES_TRIGGERS = [
    """CREATE FUNCTION mujun_reject() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% on % is not allowed', TG_OP, TG_TABLE_NAME; END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION mujun_reject()""",
    """CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
       FOR EACH ROW EXECUTE FUNCTION mujun_reject()""",
]


def upgrade() -> None:
    op.create_table(
        "pack_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pack_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("regions_json", sa.Text, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("pack_id", "version", name="uq_pack_versions_id_version"),
    )
    op.create_index("ix_pack_versions_pack_id", "pack_versions", ["pack_id"])
    op.create_table(
        "activations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("pack_version_id", sa.Integer, sa.ForeignKey("pack_versions.id"), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_activations_region_from", "activations", ["region", "effective_from"])
    op.create_table(
        "cycles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("pack_version_id", sa.Integer, sa.ForeignKey("pack_versions.id"), nullable=True),
        sa.Column("run_number", sa.Integer, nullable=False),
        sa.Column("enterprises", sa.Integer, nullable=False),
        sa.Column("tiers_json", sa.Text, nullable=False),
        sa.Column("results_hash", sa.String(64), nullable=False),
        sa.Column("data_arrow", sa.LargeBinary, nullable=True),
        sa.Column("prior_arrow", sa.LargeBinary, nullable=True),
        sa.Column("history_arrow", sa.LargeBinary, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("region", "year", name="uq_cycles_region_year"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cycle_id", sa.Integer, sa.ForeignKey("cycles.id"), nullable=False),
        sa.Column("enterprise_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("group_key", sa.String(256), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
        sa.Column("input_json", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("cycle_id", "enterprise_id", "version", name="uq_decisions_version"),
    )
    op.create_index("ix_decisions_cycle_tier", "decisions", ["cycle_id", "tier"])
    op.create_index("ix_decisions_cycle_group", "decisions", ["cycle_id", "group_key"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cycle_id", sa.Integer, sa.ForeignKey("cycles.id"), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_events_cycle_id", "events", ["cycle_id"])
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("regions_json", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("before_hash", sa.String(64), nullable=False),
        sa.Column("after_hash", sa.String(64), nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_audit_log_region", "audit_log", ["region"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    for table in ("audit_log", "tokens", "events", "decisions", "cycles", "activations", "pack_versions"):
        op.drop_table(table)

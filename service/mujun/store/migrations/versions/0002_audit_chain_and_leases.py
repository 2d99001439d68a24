"""Hash-chain the audit log; server leases and the owner of a running cycle.

``audit_log`` gains ``prev_hash`` and ``entry_hash``; entries already there are chained in id order
(the append-only trigger is lifted for that one update and put back). ``server_leases`` lists live
servers with their heartbeat, and ``cycles.run_owner`` names the lease whose run a ``running`` cycle
is, so a server starting up recovers only runs whose owner is gone.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mujun.store.audit import GENESIS, entry_hash

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_SQLITE_NO_UPDATE = """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""


def _chain_existing_entries() -> None:
    bind = op.get_bind()
    log = sa.table("audit_log", sa.column("at", _TS), *(sa.column(name) for name in (
        "id", "actor", "action", "target", "region", "before_hash", "after_hash", "detail_json", "prev_hash",
        "entry_hash")))
    previous = GENESIS
    for row in bind.execute(sa.select(log).order_by(log.c.id)).all():
        current = entry_hash(previous, actor=row.actor, action=row.action, target=row.target, region=row.region,
                             before_hash=row.before_hash, after_hash=row.after_hash, detail_json=row.detail_json,
                             at=row.at)
        bind.execute(log.update().where(log.c.id == row.id).values(prev_hash=previous, entry_hash=current))
        previous = current


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
    op.add_column("audit_log", sa.Column("entry_hash", sa.String(64), nullable=False, server_default=""))
    _chain_existing_entries()
    op.create_index("ix_audit_log_prev_hash", "audit_log", ["prev_hash"], unique=True)
    if dialect == "sqlite":
        op.execute(_SQLITE_NO_UPDATE)
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    op.add_column("cycles", sa.Column("run_owner", sa.String(64), nullable=True))
    op.create_table(
        "server_leases",
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(256), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("heartbeat_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("server_leases")
    with op.batch_alter_table("cycles") as batch:
        batch.drop_column("run_owner")
    op.drop_index("ix_audit_log_prev_hash", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")

"""Tables of the store (SQLAlchemy 2 declarative). The Alembic migrations create the same schema.

Immutability is by construction: pack versions, activations, decisions, events and audit entries are
only ever inserted. A cycle row carries its state; a re-run of a *draft* cycle replaces its draft
decisions, while frozen and published decisions change only by new versions (appeals).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "PackVersionRow", "ActivationRow", "CycleRow", "DecisionRow", "EventRow", "TokenRow",
           "AuditRow", "ServerLeaseRow", "EnterpriseEventRow", "DecisionChangeRow", "CYCLE_STATES",
           "utcnow"]

CYCLE_STATES = ("draft", "running", "frozen", "published")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class PackVersionRow(Base):
    """One published, immutable version of a pack; ``hash`` is the resolved pack's sha256."""

    __tablename__ = "pack_versions"
    __table_args__ = (UniqueConstraint("pack_id", "version", name="uq_pack_versions_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    regions_json: Mapped[str] = mapped_column(Text, default="[]")
    effective_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))


class ActivationRow(Base):
    """From ``effective_from`` on, ``region`` (or ``*``: any region without its own) uses this version."""

    __tablename__ = "activations"
    __table_args__ = (Index("ix_activations_region_from", "region", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16))
    pack_version_id: Mapped[int] = mapped_column(ForeignKey("pack_versions.id"))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))


class CycleRow(Base):
    """A county's evaluation of one year; the scored cohort is kept as Arrow IPC for appeals."""

    __tablename__ = "cycles"
    __table_args__ = (UniqueConstraint("region", "year", name="uq_cycles_region_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    pack_version_id: Mapped[int | None] = mapped_column(ForeignKey("pack_versions.id"), nullable=True)
    run_number: Mapped[int] = mapped_column(Integer, default=0)
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    tiers_json: Mapped[str] = mapped_column(Text, default="[]")
    results_hash: Mapped[str] = mapped_column(String(64), default="")
    data_arrow: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    prior_arrow: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    history_arrow: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    run_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the server lease running it
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DecisionRow(Base):
    """One version of one enterprise's decision in a cycle; the highest version is current."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("cycle_id", "enterprise_id", "version", name="uq_decisions_version"),
        Index("ix_decisions_cycle_tier", "cycle_id", "tier"),
        Index("ix_decisions_cycle_group", "cycle_id", "group_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    enterprise_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    group_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    result_json: Mapped[str] = mapped_column(Text)
    input_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))


class EventRow(Base):
    """Lifecycle events of cycles (run started/completed/interrupted, frozen, published, appealed)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TokenRow(Base):
    """An API token; only its sha256 is stored, the secret is shown once at creation."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    regions_json: Mapped[str] = mapped_column(Text, default="[]")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditRow(Base):
    """Append-only record of every change: who, what, when, and the state hashes before and after.

    Entries form a hash chain: ``prev_hash`` is the previous entry's ``entry_hash`` and ``entry_hash``
    covers this entry's content and ``prev_hash`` (see :mod:`mujun.store.audit`). The unique index on
    ``prev_hash`` means the chain cannot fork.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_prev_hash", "prev_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256))
    region: Mapped[str] = mapped_column(String(16), default="", index=True)
    before_hash: Mapped[str] = mapped_column(String(64), default="")
    after_hash: Mapped[str] = mapped_column(String(64), default="")
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    entry_hash: Mapped[str] = mapped_column(String(64), default="")


class ServerLeaseRow(Base):
    """A server process that may own running cycles; alive while ``heartbeat_at`` is recent."""

    __tablename__ = "server_leases"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(256))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EnterpriseEventRow(Base):
    """One reported in-year event of an enterprise (append-only); ``result`` is what its first post
    returned, so a retried post with the same ``(source, event_id)`` returns it unchanged."""

    __tablename__ = "enterprise_events"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_enterprise_events_source_id"),
                      Index("ix_enterprise_events_firm", "region", "year", "enterprise_id", "date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    fields_json: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    result: Mapped[str] = mapped_column(Text)


class DecisionChangeRow(Base):
    """The outbox of decision changes: written with each new version of a frozen or published decision;
    ``cursor`` (never reused) orders the WatchDecisions stream."""

    __tablename__ = "decision_changes"
    __table_args__ = (Index("ix_decision_changes_region", "region", "cursor"), {"sqlite_autoincrement": True})

    cursor: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    tier_before: Mapped[str | None] = mapped_column(String(16), nullable=True)
    tier_after: Mapped[str | None] = mapped_column(String(16), nullable=True)
    measures_changed_json: Mapped[str] = mapped_column(Text, default="{}")
    cause_json: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

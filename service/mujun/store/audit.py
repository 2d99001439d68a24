"""The append-only audit log: who changed what, when, with the state hashes before and after.

The entries form a hash chain. Each carries ``prev_hash`` (the previous entry's ``entry_hash``) and
its own ``entry_hash``, the sha256 of its content and ``prev_hash``. :func:`verify` walks the chain:
an entry edited in place no longer matches its hash, and a deleted entry leaves its successor pointing
at a hash that is not the entry before it. Someone able to rewrite the database can recompute the
whole tail, so an auditor notes the head (``mujun audit verify`` prints it) and later checks that it
is still in the chain (``--head``), which also detects a deleted tail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mujun.store.models import AuditRow, utcnow

__all__ = ["record", "entries", "digest", "entry_hash", "verify", "ChainReport", "GENESIS"]

#: ``prev_hash`` of the first entry.
GENESIS = ""
#: Any constant: the PostgreSQL advisory lock that serializes appends across servers.
_CHAIN_LOCK = 0x6D756A756E


def digest(value: Any) -> str:
    """sha256 of a JSON-serializable value in canonical form (sorted keys, no spaces)."""
    text_ = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text_.encode()).hexdigest()


def _instant(at: dt.datetime) -> str:
    """UTC wall time to the microsecond: SQLite gives it back naive, PostgreSQL aware."""
    if at.tzinfo is not None:
        at = at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, *, actor: str, action: str, target: str, region: str, before_hash: str,
               after_hash: str, detail_json: str, at: dt.datetime) -> str:
    """The chain's format (v1): every column but the id, which the chain's order already fixes."""
    return digest({"v": 1, "prev": prev_hash, "actor": actor, "action": action, "target": target, "region": region,
                   "before": before_hash, "after": after_hash, "detail": detail_json, "at": _instant(at)})


def _hash_of(row: Any) -> str:
    return entry_hash(row.prev_hash, actor=row.actor, action=row.action, target=row.target, region=row.region,
                      before_hash=row.before_hash, after_hash=row.after_hash, detail_json=row.detail_json, at=row.at)


def _head(session: Session) -> str:
    """The newest entry's hash, read where no other writer can append before this transaction commits.

    On SQLite every caller has flushed the change it records, so the transaction already holds the
    database's write lock; on PostgreSQL an advisory lock serves. Should two appends ever race anyway,
    the unique ``prev_hash`` index makes the second fail instead of forking the chain.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Servers sharing a PostgreSQL store append one at a time, so two entries never share a parent.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    return session.scalar(select(AuditRow.entry_hash).order_by(AuditRow.id.desc()).limit(1)) or GENESIS


def record(session: Session, *, actor: str, action: str, target: str, region: str = "",
           before: str = "", after: str = "", detail: dict[str, Any] | None = None) -> AuditRow:
    row = AuditRow(actor=actor, action=action, target=target, region=region, before_hash=before,
                   after_hash=after, detail_json=json.dumps(detail or {}, ensure_ascii=False, default=str),
                   at=utcnow(), prev_hash=_head(session))
    row.entry_hash = _hash_of(row)
    session.add(row)
    return row


def entries(session: Session, *, regions: list[str] | None, after_id: int = 0, limit: int = 100) -> list[AuditRow]:
    """Entries in id order after ``after_id``; ``regions`` None means every region."""
    query = select(AuditRow).where(AuditRow.id > after_id).order_by(AuditRow.id).limit(limit)
    if regions is not None:
        query = query.where(AuditRow.region.in_(regions))
    return list(session.scalars(query))


@dataclass
class ChainReport:
    """What :func:`verify` found: ``problems`` is empty when the chain is whole."""

    entries: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)


def _in_order(session: Session, batch: int) -> Iterator[Any]:
    """Plain rows (no ORM identity map), a batch at a time, so a long log takes little memory."""
    table, last = AuditRow.__table__, 0
    while True:
        rows = session.execute(select(table).where(table.c.id > last).order_by(table.c.id).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].id


def verify(session: Session, *, head: str = "", batch: int = 2000) -> ChainReport:
    """Walk the chain from the first entry; ``head``: a hash noted earlier that must still be in it."""
    report = ChainReport()
    expected, previous_id, seen_head = GENESIS, None, not head
    for row in _in_order(session, batch):
        report.entries += 1
        if row.prev_hash != expected:
            where = f"entry {previous_id}" if previous_id is not None else "the start of the log"
            report.problems.append(f"audit entry {row.id} does not follow {where}: an entry between them was deleted "
                                   "or inserted, or the chain was rewritten")
        if _hash_of(row) != row.entry_hash:
            report.problems.append(f"audit entry {row.id} ({row.action} {row.target}) was changed after it was written")
        seen_head = seen_head or row.entry_hash == head
        expected, previous_id = row.entry_hash, row.id
    report.head = expected
    if not seen_head:
        report.problems.append(f"the head {head[:16]}… noted earlier is not in the log: entries after it were deleted "
                               "or the chain was rewritten")
    return report

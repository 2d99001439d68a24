"""The append-only audit log: who changed what, when, with the state hashes before and after."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mujun.store.models import AuditRow

__all__ = ["record", "entries", "digest"]


def digest(value: Any) -> str:
    """sha256 of a JSON-serializable value in canonical form (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def record(session: Session, *, actor: str, action: str, target: str, region: str = "",
           before: str = "", after: str = "", detail: dict[str, Any] | None = None) -> AuditRow:
    row = AuditRow(actor=actor, action=action, target=target, region=region, before_hash=before,
                   after_hash=after, detail_json=json.dumps(detail or {}, ensure_ascii=False, default=str))
    session.add(row)
    return row


def entries(session: Session, *, regions: list[str] | None, after_id: int = 0, limit: int = 100) -> list[AuditRow]:
    """Entries in id order after ``after_id``; ``regions`` None means every region."""
    query = select(AuditRow).where(AuditRow.id > after_id).order_by(AuditRow.id).limit(limit)
    if regions is not None:
        query = query.where(AuditRow.region.in_(regions))
    return list(session.scalars(query))

"""Facts of a run about its ranking groups, recorded so a decision's trace never scores the cohort again."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from mujun.store.cycles import event
from mujun.store.models import CycleRow, EventRow

__all__ = ["record_ranked", "ranked_per_group"]

_KIND = "run_groups"


def record_ranked(session: Session, cycle: CycleRow, ranked: dict[str, int]) -> None:
    """Record how many firms each group ranked in the cycle's current run (the n of its quotas)."""
    event(session, cycle, _KIND, run=cycle.run_number, ranked=ranked)


def ranked_per_group(session: Session, cycle: CycleRow) -> dict[str, int] | None:
    """The ranked firms per group of the cycle's current run, or None when that run recorded none."""
    row = session.scalars(select(EventRow).where(EventRow.cycle_id == cycle.id, EventRow.kind == _KIND)
                          .order_by(EventRow.id.desc()).limit(1)).first()
    if row is None:
        return None
    detail = json.loads(row.detail_json)
    return detail["ranked"] if detail.get("run") == cycle.run_number else None

"""The report of a cycle's run (its notes and warnings), kept as an event so no migration is needed."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from mujun.store.cycles import event
from mujun.store.models import CycleRow, EventRow

__all__ = ["record_report", "run_report"]

_KIND = "run_report"


def record_report(session: Session, cycle: CycleRow, notes: list[str], warnings: list[str]) -> None:
    """Record what the cycle's current run said about its input (columns, conversions, errors by cause)."""
    event(session, cycle, _KIND, run=cycle.run_number, notes=notes, warnings=warnings)


def run_report(session: Session, cycle: CycleRow) -> tuple[list[str], list[str]]:
    """(notes, warnings) of the cycle's current run; empty when that run recorded none (older runs)."""
    row = session.scalars(select(EventRow).where(EventRow.cycle_id == cycle.id, EventRow.kind == _KIND)
                          .order_by(EventRow.id.desc()).limit(1)).first()
    if row is None:
        return [], []
    detail = json.loads(row.detail_json)
    if detail.get("run") != cycle.run_number:
        return [], []
    return list(detail["notes"]), list(detail["warnings"])

"""A frozen cycle's context (mujun.engine.frozen), kept as an event of the cycle so no migration is needed.

The context is recorded when the cycle is frozen, for the run that was frozen; a cycle frozen before
contexts were kept gets one on first use. The newest event of the cycle's current run wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mujun.errors import NotFound
from mujun.store.cycles import event
from mujun.store.models import CycleRow, EventRow

__all__ = ["CycleState", "cycle_state", "record_context", "context_detail"]

_KIND = "frozen_context"


@dataclass(frozen=True)
class CycleState:
    """What scoring against a cycle needs to know of it, read without its stored data."""

    id: int
    region: str
    year: int
    state: str
    run_number: int
    pack_version_id: int | None


def cycle_state(session: Session, region: str, year: int) -> CycleState:
    row = session.execute(select(CycleRow.id, CycleRow.state, CycleRow.run_number, CycleRow.pack_version_id)
                          .where(CycleRow.region == region, CycleRow.year == year)).first()
    if row is None:
        raise NotFound(f"there is no {year} cycle for region {region}; start one with Cycles.Run",
                       location=f"cycles/{region}/{year}")
    return CycleState(row.id, region, year, row.state, row.run_number, row.pack_version_id)


def record_context(session: Session, cycle: CycleRow, run: int, context: dict[str, Any]) -> None:
    event(session, cycle, _KIND, run=run, context=context)


def context_detail(session: Session, cycle_id: int, run: int) -> dict[str, Any] | None:
    """The stored context (a JSON object) of the cycle's run ``run``; None when none was recorded."""
    rows = session.scalars(select(EventRow.detail_json).where(EventRow.cycle_id == cycle_id, EventRow.kind == _KIND)
                           .order_by(EventRow.id.desc()))
    for text in rows:
        detail = json.loads(text)
        if detail.get("run") == run:
            return detail["context"]
    return None

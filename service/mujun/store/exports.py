"""A cycle's current decisions read in pages for export (Cycles.ExportDecisions), without the ORM.

A million decisions do not fit a page of ListDecisions; here they come as plain rows from one
query, ``page_rows`` at a time, so the caller encodes and sends a page while the next is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mujun.store.cycles import _newest_versions
from mujun.store.models import CycleRow, DecisionRow

__all__ = ["COLUMNS", "current_pages", "first_input"]

#: The columns of each row :func:`current_pages` yields, in order.
COLUMNS = ("enterprise_id", "version", "reason", "created_at", "created_by", "result_json")


def current_pages(session: Session, cycle: CycleRow, page_rows: int) -> Iterator[list[Any]]:
    """The cycle's current decisions (the newest version of each) in enterprise-id order, page by page."""
    query = (select(*(getattr(DecisionRow, c) for c in COLUMNS))
             .where(DecisionRow.cycle_id == cycle.id, DecisionRow.version == _newest_versions(cycle.id))
             .order_by(DecisionRow.enterprise_id))
    yield from session.execute(query.execution_options(yield_per=page_rows)).partitions()


def first_input(session: Session, cycle: CycleRow) -> str | None:
    """One decision's input record (JSON), from which the export's column types are derived."""
    return session.scalars(select(DecisionRow.input_json).where(DecisionRow.cycle_id == cycle.id).limit(1)).first()

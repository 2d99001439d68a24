"""A cycle's current decisions read in pages for export (Cycles.ExportDecisions), without the ORM.

A million decisions do not fit a page of ListDecisions; here they come as plain rows of one Core
query, ``page_rows`` at a time, so the caller encodes and sends a page while the next is read. The
stored result rows come as UTF-8 bytes (SQLite hands a BLOB cast over without decoding it), ready
to be parsed as newline-delimited JSON without a round trip through Python strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import LargeBinary, cast, func, select
from sqlalchemy.orm import Session

from mujun.store.cycles import _newest_versions
from mujun.store.models import CycleRow, DecisionRow

__all__ = ["COLUMNS", "current_pages", "first_input"]

#: The columns of each row :func:`current_pages` yields, in order (``result_json`` as UTF-8 bytes).
COLUMNS = ("enterprise_id", "version", "reason", "created_at", "created_by", "result_json")


def _utf8(session: Session, column: Any) -> Any:
    """``column`` (text) as its UTF-8 bytes, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.convert_to(column, "UTF8")  # a cast to bytea would read backslashes as escapes
    return cast(column, LargeBinary)


def current_pages(session: Session, cycle: CycleRow, page_rows: int) -> Iterator[list[tuple[Any, ...]]]:
    """The cycle's current decisions (the newest version of each) in enterprise-id order, page by page."""
    query = (select(DecisionRow.enterprise_id, DecisionRow.version, DecisionRow.reason, DecisionRow.created_at,
                    DecisionRow.created_by, _utf8(session, DecisionRow.result_json))
             .where(DecisionRow.cycle_id == cycle.id, DecisionRow.version == _newest_versions(cycle.id))
             .order_by(DecisionRow.enterprise_id))
    result = session.connection().execution_options(yield_per=page_rows).execute(query)
    for rows in result.partitions():
        yield [tuple(row) for row in rows]


def first_input(session: Session, cycle: CycleRow) -> str | None:
    """One decision's input record (JSON), from which the export's column types are derived."""
    return session.scalars(select(DecisionRow.input_json).where(DecisionRow.cycle_id == cycle.id).limit(1)).first()

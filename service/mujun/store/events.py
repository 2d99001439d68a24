"""Enterprise events (append-only, idempotent by source and event id) and the outbox of decision changes.

Every function runs inside the caller's transaction: an event, the decision version it causes and that
version's outbox row are committed together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from mujun.store.models import CycleRow, DecisionChangeRow, DecisionRow, EnterpriseEventRow, utcnow

__all__ = ["find", "add", "of_firm", "listing", "firms_with_events", "record_change", "changes_after", "bounds",
           "prune_before", "MEASURE_PREFIX"]

MEASURE_PREFIX = "measure."  # how a result row names a measure's column (engine.columns.measure_col)


def find(session: Session, source: str, event_id: str) -> EnterpriseEventRow | None:
    return session.scalar(select(EnterpriseEventRow).where(EnterpriseEventRow.source == source,
                                                           EnterpriseEventRow.event_id == event_id))


def add(session: Session, *, source: str, event_id: str, region: str, year: int, enterprise_id: str, type_: str,
        date: dt.date, fields: dict[str, Any], result: dict[str, Any]) -> EnterpriseEventRow:
    row = EnterpriseEventRow(source=source, event_id=event_id, region=region, year=year, enterprise_id=enterprise_id,
                             type=type_, date=date, fields_json=json.dumps(fields, ensure_ascii=False, sort_keys=True),
                             received_at=utcnow(), result=json.dumps(result, ensure_ascii=False, default=str))
    session.add(row)
    session.flush()
    return row


def of_firm(session: Session, region: str, year: int, enterprise_id: str) -> list[EnterpriseEventRow]:
    """Every stored event of one firm in one cycle, in date order (the order they are applied in)."""
    return list(session.scalars(select(EnterpriseEventRow).where(
        EnterpriseEventRow.region == region, EnterpriseEventRow.year == year,
        EnterpriseEventRow.enterprise_id == enterprise_id).order_by(EnterpriseEventRow.date, EnterpriseEventRow.id)))


def listing(session: Session, *, regions: Iterable[str] | None, region: str = "", year: int = 0,
            enterprise_id: str = "", type_: str = "", date_from: dt.date | None = None,
            date_to: dt.date | None = None, after_id: int = 0, limit: int = 100) -> list[EnterpriseEventRow]:
    """Stored events in the order they were received, after ``after_id`` (keyset paging)."""
    query = select(EnterpriseEventRow).where(EnterpriseEventRow.id > after_id).order_by(EnterpriseEventRow.id)
    if regions is not None:
        query = query.where(EnterpriseEventRow.region.in_(list(regions)))
    for column, value in ((EnterpriseEventRow.region, region), (EnterpriseEventRow.year, year),
                          (EnterpriseEventRow.enterprise_id, enterprise_id), (EnterpriseEventRow.type, type_)):
        if value:
            query = query.where(column == value)
    if date_from is not None:
        query = query.where(EnterpriseEventRow.date >= date_from)
    if date_to is not None:
        query = query.where(EnterpriseEventRow.date <= date_to)
    return list(session.scalars(query.limit(limit)))


def firms_with_events(session: Session) -> list[tuple[str, int, str]]:
    """(region, year, enterprise) of every firm with stored events in a frozen or published cycle."""
    query = (select(EnterpriseEventRow.region, EnterpriseEventRow.year, EnterpriseEventRow.enterprise_id)
             .join(CycleRow, (CycleRow.region == EnterpriseEventRow.region) & (CycleRow.year == EnterpriseEventRow.year))
             .where(CycleRow.state.in_(("frozen", "published"))).distinct()
             .order_by(EnterpriseEventRow.region, EnterpriseEventRow.year, EnterpriseEventRow.enterprise_id))
    return [tuple(r) for r in session.execute(query)]  # type: ignore[misc]


def _measures(result_json: str | None) -> dict[str, Any]:
    if not result_json:
        return {}
    row = json.loads(result_json)
    return {k[len(MEASURE_PREFIX):]: v for k, v in row.items() if k.startswith(MEASURE_PREFIX)}


def record_change(session: Session, cycle: CycleRow, before: DecisionRow | None, after: DecisionRow,
                  cause: dict[str, Any]) -> DecisionChangeRow:
    """The outbox row of ``after``, a new version of a frozen or published decision (``before``: the version it
    replaces, None at publication); ``measures_changed`` maps each measure that moved to ``[before, after]``."""
    _serialize_outbox(session)
    old = _measures(before.result_json) if before is not None else {}
    new = _measures(after.result_json)
    changed = {name: [old.get(name), new.get(name)] for name in sorted(set(old) | set(new))
               if before is None or old.get(name) != new.get(name)}
    row = DecisionChangeRow(region=cycle.region, year=cycle.year, enterprise_id=after.enterprise_id,
                            version=after.version, tier_before=before.tier if before is not None else None,
                            tier_after=after.tier, measures_changed_json=json.dumps(changed, ensure_ascii=False,
                                                                                      default=str),
                            cause_json=json.dumps(cause, ensure_ascii=False, default=str), at=utcnow())
    session.add(row)
    return row


def _serialize_outbox(session: Session) -> None:
    """On PostgreSQL, outbox writers of every server take turns until they commit, so cursors become visible
    in cursor order and a watcher reading "after cursor N" never skips a row committed late (a sequence
    alone hands out numbers out of commit order). SQLite has one writer already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE decision_changes IN SHARE ROW EXCLUSIVE MODE"))


def record_publication(session: Session, cycle: CycleRow, decisions: Iterable[DecisionRow]) -> int:
    """One outbox row per current decision of a cycle being published (same transaction)."""
    count = 0
    for decision in decisions:
        record_change(session, cycle, None, decision, {"kind": "publication"})
        count += 1
    return count


def changes_after(session: Session, cursor: int, *, regions: Iterable[str] | None, limit: int = 500
                  ) -> list[DecisionChangeRow]:
    query = select(DecisionChangeRow).where(DecisionChangeRow.cursor > cursor).order_by(DecisionChangeRow.cursor)
    if regions is not None:
        query = query.where(DecisionChangeRow.region.in_(list(regions)))
    return list(session.scalars(query.limit(limit)))


def bounds(session: Session) -> tuple[int | None, int]:
    """(oldest retained cursor or None when empty, newest cursor or 0)."""
    oldest, newest = session.execute(select(func.min(DecisionChangeRow.cursor), func.max(DecisionChangeRow.cursor))).one()
    return oldest, newest or 0


def prune_before(session: Session, at: dt.datetime) -> int:
    """Drop outbox rows older than ``at`` (the retention); the newest row is always kept, so cursors go on."""
    newest = bounds(session)[1]
    result = session.execute(delete(DecisionChangeRow).where(DecisionChangeRow.at < at,
                                                             DecisionChangeRow.cursor < newest))
    return result.rowcount or 0

"""Cycles and their decisions: draft (scored, may be re-run) → frozen → published.

A run is two transactions around the evaluation: ``begin_run`` marks the cycle ``running`` by the
server's lease (so two runs cannot overlap), ``complete_run`` swaps in the new decisions and the
cycle's summary at once, only while that lease still owns the run. A process killed in between leaves
the previous decisions untouched; once its lease is dead (:mod:`mujun.store.leases`),
``recover_interrupted`` at a server's start, or the next ``begin_run`` of that cycle, puts it back to
``draft`` and records the interruption. A run whose owner is alive is never touched. ``begin_run``
locks the cycle's row (creating it if need be) before it reads the state, and every state change is a
conditional update (``WHERE state = …``), so two servers sharing a store cannot both win.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased, defer

from mujun.errors import NotFound, PreconditionFailed
from mujun.store import audit
from mujun.store.leases import alive_owners
from mujun.store.models import CycleRow, DecisionRow, EventRow, utcnow

__all__ = ["get", "find", "begin_run", "complete_run", "abort_run", "recover_interrupted", "freeze", "publish",
           "add_version", "current_decision", "decision_history", "list_current", "listing", "state_hash", "event"]


def event(session: Session, cycle: CycleRow | None, kind: str, **detail: Any) -> None:
    session.add(EventRow(cycle_id=cycle.id if cycle else None, kind=kind,
                         detail_json=json.dumps(detail, ensure_ascii=False, default=str)))


def state_hash(cycle: CycleRow, state: str | None = None) -> str:
    return audit.digest({"state": state or cycle.state, "run": cycle.run_number, "pack": cycle.pack_version_id,
                         "results": cycle.results_hash})


def find(session: Session, region: str, year: int) -> CycleRow | None:
    return session.scalar(select(CycleRow).where(CycleRow.region == region, CycleRow.year == year))


def get(session: Session, region: str, year: int) -> CycleRow:
    cycle = find(session, region, year)
    if cycle is None:
        raise NotFound(f"there is no {year} cycle for region {region}; start one with Cycles.Run",
                       location=f"cycles/{region}/{year}")
    return cycle


def _move(session: Session, cycle: CycleRow, *, source: str, owner: str | None, **values: Any) -> bool:
    """Change the cycle only if it is still ``source`` with run owner ``owner`` (another server may have moved it)."""
    owned = CycleRow.run_owner.is_(None) if owner is None else CycleRow.run_owner == owner
    moved = session.execute(update(CycleRow).where(CycleRow.id == cycle.id, CycleRow.state == source, owned)
                            .values(updated_at=utcnow(), **values).execution_options(synchronize_session=False))
    session.refresh(cycle, ["state", "run_owner", "updated_at"])  # not the stored cohort's blobs
    return moved.rowcount == 1


def _owner_gone(session: Session, cycle: CycleRow, asking: str | None) -> bool:
    """A lease never judges its own runs dead, even when a long write delayed its heartbeat."""
    if asking is not None and cycle.run_owner == asking:
        return False
    return cycle.run_owner is None or cycle.run_owner not in alive_owners(session)


#: Dialects with ``INSERT … ON CONFLICT DO NOTHING``: creating a cycle never fails on a concurrent insert.
_UPSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _claim(session: Session, region: str, year: int) -> CycleRow:
    """The cycle's row, created when missing, locked until this transaction ends.

    Two servers starting the same run must not both read "no cycle" or "draft" and go on: the insert
    waits for (and then yields to) another transaction's insert of the same cycle, and ``FOR UPDATE``
    makes the second reader wait for the first writer's commit and see its state. SQLite needs no row
    lock: a writer holds the whole database, and one server owns an SQLite store (its lease).
    """
    dialect = session.get_bind().dialect.name
    if dialect in _UPSERT:
        session.execute(_UPSERT[dialect](CycleRow).values(region=region, year=year, state="draft")
                        .on_conflict_do_nothing(index_elements=["region", "year"]))
    elif find(session, region, year) is None:
        session.add(CycleRow(region=region, year=year, state="draft"))
        session.flush()
    return session.scalars(select(CycleRow).where(CycleRow.region == region, CycleRow.year == year)
                           .with_for_update().execution_options(populate_existing=True)).one()


def begin_run(session: Session, region: str, year: int, actor: str, *, owner: str | None = None) -> CycleRow:
    """Mark the cycle ``running`` by ``owner`` (the server's lease); a run whose owner is dead is taken over."""
    cycle = _claim(session, region, year)
    if cycle.state == "running" and _owner_gone(session, cycle, owner):
        _interrupt(session, cycle)
    if cycle.state != "draft" or not _move(session, cycle, source="draft", owner=None, state="running",
                                           run_owner=owner):
        hint = ("another run is in progress; wait for it" if cycle.state == "running"
                else "corrections to a frozen or published cycle are appeals (Cycles.Appeal)")
        raise PreconditionFailed(f"cycle {region}/{year} is {cycle.state}: {hint}", location=f"cycles/{region}/{year}")
    event(session, cycle, "run_started", actor=actor)
    return cycle


def complete_run(session: Session, cycle_id: int, *, pack_version_id: int, decisions: list[dict[str, Any]],
                 tiers: list[dict[str, Any]], results_hash: str, data_arrow: bytes, prior_arrow: bytes | None,
                 history_arrow: bytes | None, actor: str, owner: str | None = None) -> CycleRow:
    """Replace the draft decisions with ``decisions`` (dicts of DecisionRow columns) in this transaction."""
    cycle = session.get_one(CycleRow, cycle_id)
    if not _move(session, cycle, source="running", owner=owner, run_owner=None):
        raise PreconditionFailed(f"cycle {cycle.region}/{cycle.year} is {cycle.state}"
                                 f"{' (run by another server)' if cycle.state == 'running' else ''}, not running "
                                 "by this server: the run was recovered as interrupted; run it again",
                                 location=f"cycles/{cycle.region}/{cycle.year}")
    before = state_hash(cycle, state="draft")
    session.execute(delete(DecisionRow).where(DecisionRow.cycle_id == cycle.id))
    now = utcnow()
    rows = [{**d, "cycle_id": cycle.id, "version": 1, "reason": "", "created_at": now, "created_by": actor}
            for d in decisions]
    if rows:
        session.execute(insert(DecisionRow), rows)
    cycle.state = "draft"
    cycle.run_number += 1
    cycle.pack_version_id = pack_version_id
    cycle.enterprises = len(rows)
    cycle.tiers_json = json.dumps(tiers, ensure_ascii=False)
    cycle.results_hash = results_hash
    cycle.data_arrow, cycle.prior_arrow, cycle.history_arrow = data_arrow, prior_arrow, history_arrow
    cycle.updated_at = now
    event(session, cycle, "run_completed", actor=actor, enterprises=len(rows), run=cycle.run_number)
    audit.record(session, actor=actor, action="cycle.run", target=f"cycles/{cycle.region}/{cycle.year}",
                 region=cycle.region, before=before, after=state_hash(cycle),
                 detail={"run": cycle.run_number, "enterprises": len(rows)})
    return cycle


def abort_run(session: Session, cycle_id: int, why: str, *, owner: str | None = None) -> None:
    cycle = session.get_one(CycleRow, cycle_id)
    if _move(session, cycle, source="running", owner=owner, state="draft", run_owner=None):
        event(session, cycle, "run_failed", error=why)


def _interrupt(session: Session, cycle: CycleRow) -> bool:
    gone = cycle.run_owner
    if _move(session, cycle, source="running", owner=gone, state="draft", run_owner=None):
        event(session, cycle, "run_interrupted", run=cycle.run_number, owner=gone)
        return True
    return False


def recover_interrupted(session: Session) -> list[CycleRow]:
    """Cycles left ``running`` by a dead server go back to ``draft`` with their previous decisions.

    Runs of a live lease (another server on the same store) are left alone.
    """
    alive = alive_owners(session)
    stuck = session.scalars(select(CycleRow).where(CycleRow.state == "running"))
    return [cycle for cycle in list(stuck) if cycle.run_owner not in alive and _interrupt(session, cycle)]


def _transition(session: Session, region: str, year: int, actor: str, *, source: str, target: str, hint: str) -> CycleRow:
    cycle = get(session, region, year)
    if cycle.state != source or (source == "draft" and cycle.run_number == 0):
        raise PreconditionFailed(f"cycle {region}/{year} is {cycle.state}" +
                                 (" and has never run" if cycle.run_number == 0 else "") + f": {hint}",
                                 location=f"cycles/{region}/{year}")
    before = state_hash(cycle)
    cycle.state = target
    cycle.updated_at = utcnow()
    event(session, cycle, target, actor=actor)
    audit.record(session, actor=actor, action=f"cycle.{'freeze' if target == 'frozen' else 'publish'}",
                 target=f"cycles/{region}/{year}", region=region, before=before, after=state_hash(cycle))
    return cycle


def freeze(session: Session, region: str, year: int, actor: str) -> CycleRow:
    return _transition(session, region, year, actor, source="draft", target="frozen",
                       hint="only a draft cycle with a completed run can be frozen")


def publish(session: Session, region: str, year: int, actor: str) -> CycleRow:
    return _transition(session, region, year, actor, source="frozen", target="published",
                       hint="freeze the cycle (Cycles.Freeze) before publishing it")


def _newest_versions(cycle_id: int):
    newest = aliased(DecisionRow)
    return (select(func.max(newest.version)).where(newest.cycle_id == cycle_id,
                                                   newest.enterprise_id == DecisionRow.enterprise_id)
            .scalar_subquery())


def current_decision(session: Session, cycle: CycleRow, enterprise_id: str) -> DecisionRow:
    row = session.scalars(select(DecisionRow).where(DecisionRow.cycle_id == cycle.id,
                                                    DecisionRow.enterprise_id == enterprise_id)
                          .order_by(DecisionRow.version.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"enterprise {enterprise_id} has no decision in cycle {cycle.region}/{cycle.year}",
                       location=f"cycles/{cycle.region}/{cycle.year}/decisions/{enterprise_id}")
    return row


def decision_history(session: Session, cycle: CycleRow, enterprise_id: str) -> list[DecisionRow]:
    return list(session.scalars(select(DecisionRow).where(DecisionRow.cycle_id == cycle.id,
                                                          DecisionRow.enterprise_id == enterprise_id)
                                .order_by(DecisionRow.version)))


def list_current(session: Session, cycle: CycleRow, *, tier: str = "", group: str = "", after: str = "",
                 limit: int = 100) -> list[DecisionRow]:
    """Current decisions in enterprise-id order (keyset paging on ``after``), filtered by tier and group."""
    query = (select(DecisionRow).where(DecisionRow.cycle_id == cycle.id,
                                       DecisionRow.version == _newest_versions(cycle.id),
                                       DecisionRow.enterprise_id > after)
             .order_by(DecisionRow.enterprise_id).limit(limit))
    if tier:
        query = query.where(DecisionRow.tier == tier)
    if group:
        query = query.where(DecisionRow.group_key == group)
    return list(session.scalars(query))


def listing(session: Session, *, regions: list[str] | None, year: int = 0, after_id: int = 0,
            limit: int = 100) -> list[CycleRow]:
    """Cycles in the order they were started, after ``after_id``; ``regions`` None means every region.

    The stored cohorts (Arrow blobs, megabytes each) are not loaded: a listing never needs them.
    """
    query = (select(CycleRow).options(*(defer(c) for c in (CycleRow.data_arrow, CycleRow.prior_arrow,
                                                            CycleRow.history_arrow)))
             .where(CycleRow.id > after_id).order_by(CycleRow.id).limit(limit))
    if regions is not None:
        query = query.where(CycleRow.region.in_(regions))
    if year:
        query = query.where(CycleRow.year == year)
    return list(session.scalars(query))


def add_version(session: Session, cycle: CycleRow, enterprise_id: str, *, decision: dict[str, Any], reason: str,
                actor: str) -> DecisionRow:
    """Record an appeal's result as the next version; earlier versions stay as they are."""
    if cycle.state not in ("frozen", "published"):
        raise PreconditionFailed(f"cycle {cycle.region}/{cycle.year} is {cycle.state}: appeals apply to frozen or "
                                 "published cycles; correct the data of a draft and run it again",
                                 location=f"cycles/{cycle.region}/{cycle.year}")
    previous = current_decision(session, cycle, enterprise_id)
    row = DecisionRow(**decision, cycle_id=cycle.id, enterprise_id=enterprise_id, version=previous.version + 1,
                      reason=reason, created_by=actor)
    session.add(row)
    session.flush()
    event(session, cycle, "appealed", enterprise_id=enterprise_id, version=row.version, actor=actor)
    audit.record(session, actor=actor, action="decision.appeal",
                 target=f"cycles/{cycle.region}/{cycle.year}/decisions/{enterprise_id}", region=cycle.region,
                 before=audit.digest(previous.result_json), after=audit.digest(row.result_json),
                 detail={"version": row.version, "reason": reason, "tier_before": previous.tier, "tier_after": row.tier})
    return row

"""Scoring against frozen cycles: the context recorded at freeze, cached, and used by RuleEngine.Evaluate
and Explain with ``cycle``, by appeals and by the traces of appealed decisions.

A cycle's context is built from a run of its stored data when it is frozen (and, for a cycle frozen
before contexts were kept, on first use) and stored with the cycle (:mod:`mujun.store.frozen`). A frozen
or published cycle never changes again (a run needs a draft, and a restore of the store needs every
server stopped), so once read its context is kept in memory by (region, year): a call that scores one
firm against it reads nothing from the store.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import polars as pl

import mujun
from mujun.engine.compile import calls
from mujun.engine.frozen import FrozenContext
from mujun.engine.rowwise import FrozenScores, score_against
from mujun.errors import PreconditionFailed, RequestInvalid
from mujun.services._arrow import from_ipc
from mujun.services.context import Context
from mujun.services.principal import Principal
from mujun.store import cycles, packs
from mujun.store import frozen as store
from mujun.store.models import CycleRow

__all__ = ["FrozenService", "FrozenEntry", "FROZEN_STATES", "CAUSE", "appeal_row"]

#: The states whose context is fixed: a frozen cycle, and the published list made from it.
FROZEN_STATES = ("frozen", "published")


@dataclass(frozen=True)
class FrozenEntry:
    """One frozen cycle, ready to score against: its context, pinned pack, and what its firms' own
    earlier cycles (``past``) and tier history read."""

    state: store.CycleState
    context: FrozenContext
    pack: mujun.Pack
    prior: pl.DataFrame | None
    history: pl.DataFrame | None


def _reads_past(pack: mujun.Pack) -> bool:
    return any(calls(node, "past") for node in pack.plan.exprs.values())


class FrozenService:
    def __init__(self, context: Context, *, cache_size: int = 16):
        self._db = context.db
        self._compiled = context.compiled
        self._cache: OrderedDict[tuple[str, int], FrozenEntry] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- freezing ---------------------------------------------------------------------------------

    def _build(self, cycle: CycleRow) -> tuple[FrozenContext, mujun.Pack]:
        """The context of the cycle's current run: that run scored again from its stored data."""
        with self._db.read() as session:
            pack = self._compiled(packs.by_id(session, cycle.pack_version_id))
        data, prior, history = from_ipc(cycle.data_arrow), from_ipc(cycle.prior_arrow), from_ipc(cycle.history_arrow)
        result = pack.evaluate(data, prior=prior, history=history, cycle=cycle.year)
        return FrozenContext.build(pack.plan, result, region=cycle.region, year=cycle.year), pack

    def freeze(self, principal: Principal, region: str, year: int) -> CycleRow:
        """Freeze the cycle and record its context in the same transaction (the run frozen is the one
        the context was built from: a run in between makes the freeze fail, to be asked again)."""
        principal.require_region(region)
        with self._db.read() as session:
            cycle = cycles.get(session, region, year)
            context = self._build(cycle)[0] if cycle.state == "draft" and cycle.run_number else None
            run = cycle.run_number
        with self._db.write() as session:
            frozen = cycles.freeze(session, region, year, principal.actor)  # refuses anything but a run draft
            if context is None or frozen.run_number != run:
                raise PreconditionFailed(f"cycle {region}/{year} ran again while it was being frozen; freeze it again",
                                         location=f"cycles/{region}/{year}")
            store.record_context(session, frozen, run, json.loads(context.to_json()))
            return frozen

    # -- reading ----------------------------------------------------------------------------------

    def entry(self, principal: Principal, region: str, year: int) -> FrozenEntry:
        """The frozen cycle to score against; PERMISSION_DENIED for another's region, FAILED_PRECONDITION
        for a draft (its cohort can still change)."""
        principal.require_region(region)
        key = (region, year)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        with self._db.read() as session:
            state = store.cycle_state(session, region, year)
        if state.state not in FROZEN_STATES:
            raise PreconditionFailed(f"cycle {region}/{year} is {state.state}: only a frozen or published cycle has "
                                     "fixed benchmarks and cut lines to score against; freeze it first "
                                     "(Cycles.Freeze), or evaluate without a cycle", location=f"cycles/{region}/{year}")
        found = self._load(state)
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found

    def _load(self, state: store.CycleState) -> FrozenEntry:
        with self._db.read() as session:
            detail = store.context_detail(session, state.id, state.run_number)
            cycle = cycles.get(session, state.region, state.year)
            pack = self._compiled(packs.by_id(session, cycle.pack_version_id))
        if detail is None:  # frozen before contexts were kept: built once, then kept like any other
            context, _ = self._build(cycle)
            with self._db.write() as session:
                store.record_context(session, cycles.get(session, state.region, state.year), state.run_number,
                                     json.loads(context.to_json()))
        else:
            context = FrozenContext.model_validate(detail)
        prior = from_ipc(cycle.prior_arrow) if _reads_past(pack) else None
        return FrozenEntry(state, context, pack, prior, from_ipc(cycle.history_arrow))

    # -- scoring ----------------------------------------------------------------------------------

    def evaluate(self, principal: Principal, region: str, year: int, records: list[dict[str, Any]]) -> FrozenScores:
        """Score ``records`` (canonical field names) against the frozen cycle; a record without a region
        is the cycle's, one of another region is refused."""
        entry = self.entry(principal, region, year)
        foreign = [r.get("enterprise_id") for r in records if r.get("region") not in (None, "", region)]
        if foreign:
            raise RequestInvalid(f"{len(foreign)} record(s) belong to other regions than the cycle's {region} "
                                 f"(e.g. {foreign[0]}); a frozen cycle scores firms of its own region",
                                 [("records.region", f"must be {region} or empty")])
        scoped = [{**r, "region": region} for r in records]
        return score_against(entry.pack.plan, entry.context, scoped, prior=entry.prior, history=entry.history)

    def rescore(self, principal: Principal, cycle: CycleRow, record: dict[str, Any]) -> FrozenScores | None:
        """One firm of a frozen cycle scored again against its context (an appeal, or the trace of an
        appealed version); None when the pack reads more of its cohort than the context keeps."""
        entry = self.entry(principal, cycle.region, cycle.year)
        if entry.context.unsupported:
            return None
        return score_against(entry.pack.plan, entry.context, [record], prior=entry.prior, history=entry.history)


#: Key of a stored decision's cause (why this version exists and what it was scored against): kept in
#: its result row like the recorded facts, never sent as a result field.
CAUSE = "__cause"


def appeal_row(scores: FrozenScores | None, base_version: int, reason: str) -> dict[str, Any] | None:
    """The published row of an appeal's new version, with its cause; None without frozen scores."""
    if scores is None:
        return None
    context = scores.context
    return {**scores.rows[0], CAUSE: {"kind": "appeal", "reason": reason, "base_version": base_version,
                                      "scored_against": "frozen cycle", "region": context.region,
                                      "year": context.year, "pack_hash": context.pack_hash}}

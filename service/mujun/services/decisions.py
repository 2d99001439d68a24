"""Decisions of a cycle: read, list and trace them, and appeal one against its cycle's cohort and pack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

import mujun
from mujun.engine.columns import GROUP_N, VETO
from mujun.engine.compile import CYCLE
from mujun.engine.explain import explain_row
from mujun.engine.prepare import prepare, take_in_data
from mujun.engine.result import input_sources
from mujun.errors import PreconditionFailed, RequestInvalid
from mujun.services._arrow import from_ipc
from mujun.services._paging import clamp_page_size, decode_token, encode_token
from mujun.services.context import Context
from mujun.services.corrections import corrected_cohort, typed_correction
from mujun.services.cycles import group_label
from mujun.services.export import Export, export_decisions
from mujun.services.frozen import FrozenService, appeal_row
from mujun.services.principal import Principal
from mujun.services.results import FACTS, Decision, Page
from mujun.store import cycles, groups, packs
from mujun.store.models import CycleRow, DecisionRow

__all__ = ["DecisionService"]


@dataclass(frozen=True)
class _Cohort:
    """What a cycle's run scored: its pinned pack and the stored records."""

    pack: mujun.Pack
    data: pl.DataFrame
    prior: pl.DataFrame | None
    history: pl.DataFrame | None


class DecisionService:
    def __init__(self, context: Context, frozen: FrozenService):
        self._context = context
        self._db = context.db
        self._frozen = frozen

    def appeal(self, principal: Principal, region: str, year: int, enterprise_id: str, correction: dict[str, Any],
               reason: str) -> Decision:
        """Re-score one enterprise with corrected input against its frozen cycle's context (benchmarks and cut
        lines; the pinned pack): no other firm's decision moves. A pack that reads more of its cohort than
        the context keeps is re-scored with the cycle's cohort instead."""
        principal.require_region(region)
        violations = []
        if not reason.strip():
            violations.append(("reason", "say why the decision changes (the appeal's grounds)"))
        if not correction:
            violations.append(("correction", "set at least one corrected field"))
        for name in ("enterprise_id", "region"):
            if name in correction and correction[name] != (enterprise_id if name == "enterprise_id" else region):
                violations.append((f"correction.{name}", "cannot be changed by an appeal"))
        if violations:
            raise RequestInvalid(f"appeal is incomplete: {violations[0][0]} {violations[0][1]}", violations)
        with self._db.read() as session:
            cycle = cycles.get(session, region, year)
            if cycle.state not in ("frozen", "published"):
                raise PreconditionFailed(f"cycle {region}/{year} is {cycle.state}: appeals apply to frozen or "
                                         "published cycles; correct the data of a draft and run it again")
            current = cycles.current_decision(session, cycle, enterprise_id)
        cohort = self._cohort(cycle)
        corrected = typed_correction(cohort.pack.plan, correction, cohort.data.columns)
        record = {**json.loads(current.input_json), **corrected}  # the latest version's input is the base
        row = appeal_row(self._frozen.rescore(principal, cycle, record), current.version, reason)
        if row is None:  # the pack reads more of its cohort than the frozen context keeps
            result, position = self._rescore(cycle, cohort, enterprise_id, record, corrected)
            row = result.table.row(position, named=True)
        decision = {"status": row["status"], "tier": row.get("tier"), "score": row.get("score"),
                    "group_key": None if row.get("group") is None else str(row["group"]),
                    "result_json": json.dumps(row, ensure_ascii=False, default=str),
                    "input_json": json.dumps(record, ensure_ascii=False, default=str)}
        with self._db.write() as session:
            cycle = cycles.get(session, region, year)
            added = cycles.add_version(session, cycle, enterprise_id, decision=decision, reason=reason,
                                       actor=principal.actor)
            return Decision.of(added, cycle)

    def get(self, principal: Principal, region: str, year: int, enterprise_id: str, with_history: bool,
            with_trace: bool = False) -> Decision:
        principal.require_region(region)
        with self._db.read() as session:
            cycle = cycles.get(session, region, year)
            current = cycles.current_decision(session, cycle, enterprise_id)
            history = cycles.decision_history(session, cycle, enterprise_id)[:-1] if with_history else []
        trace = None
        if with_trace:
            trace = self._recorded_trace(cycle, current)
            if trace is None and current.version > 1:  # an appeal's version: against the frozen context
                scored = self._frozen.rescore(principal, cycle, json.loads(current.input_json))
                trace = None if scored is None else scored.explain(enterprise_id)
            if trace is None:  # a run from before runs recorded their groups, or a pack beyond the context
                result, _ = self._rescore(cycle, self._cohort(cycle), enterprise_id, json.loads(current.input_json))
                trace = result.explain(enterprise_id)
        return Decision.of(current, cycle, history, trace)

    def listing(self, principal: Principal, region: str, year: int, *, tier: str, group: str, page_size: int,
                page_token: str) -> Page[Decision]:
        """Current decisions in enterprise-id order, filtered by tier and group."""
        principal.require_region(region)
        size = clamp_page_size(page_size)
        after = decode_token(page_token)
        with self._db.read() as session:
            cycle = cycles.get(session, region, year)
            rows = cycles.list_current(session, cycle, tier=tier, group=group, after=after, limit=size + 1)
        token = encode_token(rows[size - 1].enterprise_id) if len(rows) > size else ""
        return Page(tuple(Decision.of(r, cycle) for r in rows[:size]), token)

    def export(self, principal: Principal, region: str, year: int, columns: list[str]) -> Export:
        """The cycle's current decisions as Arrow pages (:mod:`mujun.services.export`)."""
        return export_decisions(self._context, principal, region, year, columns)

    def _cohort(self, cycle: CycleRow) -> _Cohort:
        with self._db.read() as session:
            pack = self._context.compiled(packs.by_id(session, cycle.pack_version_id))
        data = from_ipc(cycle.data_arrow)
        assert data is not None
        return _Cohort(pack, data, from_ipc(cycle.prior_arrow), from_ipc(cycle.history_arrow))

    def _rescore(self, cycle: CycleRow, cohort: _Cohort, enterprise_id: str, record: dict[str, Any],
                 corrected: dict[str, Any] | None = None) -> tuple[mujun.Result, int]:
        """The cycle's cohort, with this enterprise's row replaced by ``record``, scored by the pinned pack."""
        matches = cohort.data.with_row_index("__n").filter(pl.col("enterprise_id") == enterprise_id)["__n"]
        if matches.len() != 1:
            raise PreconditionFailed(f"decision {enterprise_id} has no row of its own in the cycle's data (a repeated "
                                     "or missing enterprise id); correct the data and run a new cycle",
                                     location=f"cycles/{cycle.region}/{cycle.year}/decisions/{enterprise_id}")
        position = matches[0]
        data = corrected_cohort(cohort.data, position, record, corrected or {})
        result = cohort.pack.evaluate(data, prior=cohort.prior, history=cohort.history, cycle=cycle.year)
        return result, position

    def _recorded_trace(self, cycle: CycleRow, decision: DecisionRow) -> dict[str, Any] | None:
        """A run's decision traced from what the run recorded, without scoring the cohort again.

        The stored result row holds every value the trace shows (indicators, benchmarks, items,
        score, tier, rank, measures, checks) and, under ``FACTS``, what the stages recorded (cohort
        statistics before their factor, item ratios and the rules applied, vetoes, tier streaks); the
        stored input row, prepared alone, gives the typed inputs; the run recorded how many firms each
        group ranked (the quota's n). None when the decision is an appeal's (scored against a changed
        cohort) or its run recorded no groups.
        """
        if decision.version != 1:
            return None
        with self._db.read() as session:
            ranked = groups.ranked_per_group(session, cycle)
            if ranked is None:
                return None
            pack = self._context.compiled(packs.by_id(session, cycle.pack_version_id))
        row = json.loads(decision.result_json)
        recorded = row.pop(FACTS, None) or {}
        group_size = ranked.get(group_label(row.get("group"))) if row.get("rank") else None
        record = take_in_data(pl.from_dicts([json.loads(decision.input_json)], infer_schema_length=None), pack.plan)
        inputs = prepare(record, pack.plan, tier_names=pack.plan.tier_names, messages=False).collect()
        vetoed = row.get("status") == "ok" and row.get("tier") is not None and row.get("rank") is None
        facts = {**inputs.select(list(pack.plan.inputs)).row(0, named=True), **row, GROUP_N: group_size,
                 VETO: row.get("tier") if vetoed else None, "tier_streak": None,
                 CYCLE: float(cycle.year), **recorded}
        return explain_row(pack.plan, facts, sources=input_sources(pack.plan, record, 0))


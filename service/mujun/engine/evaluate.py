"""Evaluation: the ordered stages of a compiled plan, run over a whole table at once.

The stages build one lazy Polars query; it is collected only where a stage needs whole columns
(group statistics, ranking), so the element-wise stages between run fused, in cache-sized morsels
on the streaming engine for a large table.
The same stages run over the prior-year table (up to the indicators) when a benchmark needs it;
for a large table that runs on a second thread while the current year is prepared (Polars and
numpy release the GIL, so the two years really overlap on a two-core machine), and only its
per-group statistics are kept.
Output keeps the input's row order and length: every input row appears exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mujun.engine.adjust import SCORE, score_and_adjust
from mujun.engine.benchmarks import BASIS, PriorStatistics, compute_benchmarks, prior_statistics
from mujun.engine.checks import DECISION, FAILED_REASONS, apply_checks, check_col
from mujun.engine.columns import (ERROR, FAILED, OK, REASON, STATUS, adjust_col, benchmark_col, indicator_col,
                                  item_col, measure_col)
from mujun.engine.compile import Plan
from mujun.engine.earlier import past_values, split_years, tier_counts, without_past
from mujun.engine.groups import Groups, derive_groups, group_codes
from mujun.engine.indicators import compute_indicators
from mujun.engine.items import score_items
from mujun.engine.measures import apply_measures, prepare_history
from mujun.engine.intake import Intake
from mujun.engine.lookups import unknown_key_columns
from mujun.engine.parks import evaluate_parks
from mujun.engine.prepare import prepare, take_in_data, to_frame
from mujun.engine.scope import apply_scope
from mujun.engine.tiers import GROUP, RANK, TIER, assign_tiers
from mujun.errors import InputError
from mujun.packs.fields import ID_FIELD

__all__ = ["Run", "run_plan", "output_columns", "STAGES", "Stage"]


@dataclass(frozen=True)
class Run:
    """The full evaluation frame: every input the pack reads and every intermediate column."""

    frame: pl.DataFrame
    intake: Intake | None = None  # how the input tables were read: columns, units, sources
    parks: pl.DataFrame | None = None  # one row per park, for a pack with a ``parks`` section


#: From this many rows a query runs on Polars' streaming engine: it evaluates the fused
#: element-wise stages in cache-sized morsels instead of writing every intermediate column out.
STREAMING_ROWS = 50_000


def collect(frame: pl.LazyFrame | pl.DataFrame, rows: int) -> pl.DataFrame:
    """Run what is queued on ``frame`` (a stage that needs whole columns calls this first)."""
    if isinstance(frame, pl.DataFrame):
        return frame
    return frame.collect(engine="streaming" if rows >= STREAMING_ROWS else "in-memory")


@dataclass(frozen=True)
class _Inputs:
    rows: int
    prior_year: Future[PriorStatistics | None]
    history: pl.DataFrame | None
    cycle: int | None
    years: dict[int, pl.DataFrame] = field(default_factory=dict)  # earlier cycles by how far back
    coded: dict[tuple[str, ...], Groups] = field(default_factory=dict)

    def collect(self, frame: pl.LazyFrame) -> pl.DataFrame:
        return collect(frame, self.rows)

    def groups_of(self, frame: pl.DataFrame, fields: list[str]) -> Groups:
        """Group codes of this year's rows, computed once per field list (rows never move in a run)."""
        key = tuple(fields)
        if key not in self.coded:
            self.coded[key] = group_codes(frame, fields)
        return self.coded[key]


Stage = Callable[[pl.LazyFrame, Plan, _Inputs], pl.LazyFrame]

#: Element-wise stages only queue expressions on the lazy frame; a stage that needs whole
#: columns (group statistics, ranking) collects what is queued first.
STAGES: tuple[tuple[str, Stage], ...] = (
    ("groups", lambda f, p, i: derive_groups(f, p)),  # derived text fields (industry group), read from scope on
    ("scope", lambda f, p, i: apply_scope(f, p)),
    ("earlier", lambda f, p, i: past_values(f, p, i.years)),  # past(x, k) columns, before indicators read them
    ("indicators", lambda f, p, i: compute_indicators(f, p)),
    # benchmarks need indicators of the current and the prior year
    ("benchmarks", lambda f, p, i: compute_benchmarks(i.collect(f), p, i.prior_year.result, i.groups_of)),
    ("items", lambda f, p, i: score_items(f, p)),
    ("score", lambda f, p, i: score_and_adjust(f, p)),
    ("tiers", lambda f, p, i: assign_tiers(i.collect(f), p, i.groups_of)),  # after score: vetoes and quotas need it
    ("history", lambda f, p, i: tier_counts(f, p, i.history, i.cycle)),  # tier_count(T, n) for measures, checks
    ("measures", lambda f, p, i: apply_measures(f, p, i.history, i.cycle)),
    ("checks", lambda f, p, i: apply_checks(f, p)),  # last: a condition may read a tier or a measure
)


def _prior_frame(plan: Plan, prior: pl.DataFrame) -> pl.DataFrame:
    """The prior year through the same stages up to the indicators."""
    frame = prepare(prior, plan, tier_names=plan.tier_names, messages=False)
    return collect(compute_indicators(without_past(apply_scope(derive_groups(frame, plan), plan), plan), plan), prior.height)


def _prior_statistics(plan: Plan, prior: pl.DataFrame | None) -> PriorStatistics | None:
    """The prior year kept only as its statistics."""
    if prior is None or not any(b.value is None and b.source != "current" for b in plan.pack.benchmarks.values()):
        return None
    return prior_statistics(_prior_frame(plan, prior), plan)


#: Below this many prior-year rows a second thread costs more than it saves.
_THREAD_PRIOR_ROWS = 50_000


def run_plan(plan: Plan, data: Any, *, prior: Any = None, history: Any = None, cycle: int | None = None,
             prefer: tuple[str, ...] = (), stages: tuple[tuple[str, Stage], ...] = STAGES) -> Run:
    """``stages``: :data:`STAGES`, or that table with some stages replaced (a frozen cycle's benchmarks
    and cut lines, see :mod:`mujun.engine.frozen`)."""
    if cycle is None and plan.cycle_readers:
        raise InputError(f"pack {plan.pack.id} reads the cycle year ({', '.join(plan.cycle_readers)}) and none was "
                         "given: give the cycle (--cycle YEAR, or the request's cycle), or every such value would be "
                         "missing", location="cycle")
    history_frame = prepare_history(None if history is None else to_frame(history))
    prior, years = split_years(None if prior is None else to_frame(prior), cycle, plan)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mujun-prior") as pool:
        if prior is not None and prior.height >= _THREAD_PRIOR_ROWS:
            prior_year = pool.submit(_prior_statistics, plan, prior)
        else:
            prior_year = Future()
            try:
                prior_year.set_result(_prior_statistics(plan, prior))
            except Exception as exc:  # noqa: BLE001 - re-raised where the benchmarks read it, as on the thread
                prior_year.set_exception(exc)
        intake = take_in_data(data, plan, prefer=prefer)
        inputs = _Inputs(rows=intake.frame.height, prior_year=prior_year, history=history_frame, cycle=cycle, years=years)
        frame = prepare(intake, plan, tier_names=plan.tier_names)
        for _name, stage in stages:
            frame = stage(frame, plan, inputs)
    done = inputs.collect(frame.with_columns(_publishable(plan, frame)))
    done = done.with_columns(unknown_key_columns(plan))  # a lookup of an unknown key is a fact, never silent
    earlier = _prior_frame(plan, prior) if plan.pack.parks is not None and prior is not None else None
    return Run(frame=done, intake=intake, parks=evaluate_parks(done, plan, earlier))


def _publishable(plan: Plan, frame: pl.LazyFrame) -> list[pl.Expr]:
    """Mask what a record's status does not allow to be published (no score for an unrated firm …).

    Applied to the evaluation frame itself, so the result table is a zero-copy selection of it.
    """
    ok = pl.col(STATUS) == OK
    graded = pl.col(TIER).is_not_null() & (pl.col(STATUS) != FAILED)
    pack = plan.pack
    masks = [
        pl.when(ok).then(pl.col(SCORE)).alias(SCORE),
        pl.when(graded).then(pl.col(TIER)).alias(TIER),
        pl.when(ok).then(pl.col(RANK)).alias(RANK),
        pl.when(pl.col(STATUS) != FAILED).then(pl.col(GROUP)).alias(GROUP),
    ]
    masks += [pl.when(ok).then(pl.col(item_col(n))).alias(item_col(n)) for n in pack.items]
    masks += [pl.when(ok).then(pl.col(adjust_col(a.name))).alias(adjust_col(a.name)) for a in pack.adjustments]
    masks += [pl.when(graded).then(pl.col(measure_col(n))).alias(measure_col(n)) for n in pack.measures]
    masks += [pl.when(pl.col(STATUS) != FAILED).then(pl.col(indicator_col(n))).alias(indicator_col(n))
              for n in pack.indicators]
    masks += [pl.when(ok).then(pl.col(benchmark_col(n))).alias(benchmark_col(n)) for n in pack.benchmarks]
    if BASIS in frame.collect_schema():
        masks.append(pl.when(ok).then(pl.col(BASIS)).alias(BASIS))
    return masks


def output_columns(plan: Plan, frame: pl.DataFrame) -> list[pl.Expr]:
    """The published result: per-record status, score, tier, rank, items, measures and provenance."""
    pack = plan.pack
    names = [ID_FIELD, STATUS, ERROR, REASON, SCORE, TIER, RANK, GROUP, *pack.groups,  # derived groups: published
             *(item_col(n) for n in pack.items), *(adjust_col(a.name) for a in pack.adjustments),
             *(measure_col(n) for n in pack.measures), *(indicator_col(n) for n in pack.indicators),
             *(benchmark_col(n) for n in pack.benchmarks)]
    if pack.checks:
        names += [DECISION, FAILED_REASONS, *(check_col(c.name) for c in pack.checks)]
    if BASIS in frame.columns:
        names.append(BASIS)
    return [*(pl.col(n).cast(pl.String) if n == STATUS else pl.col(n) for n in names), pl.lit(pack.id).alias("pack_id"),
            pl.lit(pack.version).alias("pack_version"), pl.lit(plan.pack_hash).alias("pack_hash")]

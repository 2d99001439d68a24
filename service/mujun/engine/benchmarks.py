"""Stage 4 — benchmarks (基准值): fixed numbers, or a statistic of an indicator over a cohort × factor.

A cohort is the rated firms sharing the benchmark's ``group_by`` fields (e.g. the same county),
optionally narrowed by ``where``. ``source: prior`` takes the statistic from the prior-year data,
evaluated through the same stages; ``prior_or_current`` falls back to the current year for a group
the prior year does not cover, and the fallback is stated in ``benchmark_basis``.
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import OK, STATUS, benchmark_col, compile_expr, indicator_col
from mujun.engine.compile import Plan
from mujun.packs.model import Benchmark

__all__ = ["compute_benchmarks", "BASIS", "cohort_mask", "statistic"]

BASIS = "benchmark_basis"
_PRIOR, _CURRENT_FALLBACK = "prior year", "current year (no prior-year data for this group)"


def cohort_mask(plan: Plan, name: str, bm: Benchmark) -> pl.Expr:
    mask = (pl.col(STATUS) == OK) & pl.col(indicator_col(bm.of)).is_not_null()  # type: ignore[arg-type]
    if bm.where is not None:
        mask = mask & compile_expr(plan, f"benchmarks.{name}.where").fill_null(False)
    return mask


def statistic(bm: Benchmark, values: pl.Expr) -> pl.Expr:
    if bm.stat == "mean":
        return values.mean()
    if bm.stat == "median":
        return values.median()
    if bm.stat == "percentile":
        return values.quantile(bm.percentile / 100.0, interpolation="linear")  # type: ignore[operator]
    return values.min() if bm.stat == "min" else values.max()


def compute_benchmarks(frame: pl.DataFrame, plan: Plan, prior: pl.DataFrame | None) -> pl.DataFrame:
    basis: list[pl.Expr] = []
    for name, bm in plan.pack.benchmarks.items():
        column = benchmark_col(name)
        if bm.value is not None:
            frame = frame.with_columns(compile_expr(plan, f"benchmarks.{name}.value").alias(column))
            continue
        factor = compile_expr(plan, f"benchmarks.{name}.factor")
        current = _current_stat(plan, name, bm)
        if bm.source == "current" or prior is None:
            frame = frame.with_columns((current * factor).alias(column))
            if bm.source != "current":
                basis.append(pl.lit(_CURRENT_FALLBACK))
            continue
        frame = _join_prior_stat(frame, plan, name, bm, prior)
        prior_value = pl.col(f"__prior.{name}")
        chosen = prior_value if bm.source == "prior" else pl.coalesce(prior_value, current)
        frame = frame.with_columns((chosen * factor).alias(column))
        basis.append(pl.when(prior_value.is_not_null()).then(pl.lit(_PRIOR)).otherwise(pl.lit(_CURRENT_FALLBACK)))
    if basis:
        frame = frame.with_columns(_combine_basis(basis).alias(BASIS))
    return frame.drop([c for c in frame.columns if c.startswith("__prior.")])


def _current_stat(plan: Plan, name: str, bm: Benchmark) -> pl.Expr:
    values = pl.when(cohort_mask(plan, name, bm)).then(pl.col(indicator_col(bm.of))).otherwise(None)  # type: ignore[arg-type]
    stat = statistic(bm, values)
    return stat.over(bm.group_by) if bm.group_by else stat


def _join_prior_stat(frame: pl.DataFrame, plan: Plan, name: str, bm: Benchmark, prior: pl.DataFrame) -> pl.DataFrame:
    cohort = prior.filter(cohort_mask(plan, name, bm))
    stat = statistic(bm, pl.col(indicator_col(bm.of))).alias(f"__prior.{name}")  # type: ignore[arg-type]
    if not bm.group_by:
        value = cohort.select(stat).item() if cohort.height else None
        return frame.with_columns(pl.lit(value, dtype=pl.Float64).alias(f"__prior.{name}"))
    table = cohort.group_by(bm.group_by).agg(stat)
    return frame.join(table, on=bm.group_by, how="left", maintain_order="left", nulls_equal=False)


def _combine_basis(parts: list[pl.Expr]) -> pl.Expr:
    """One statement per row: all prior, all current fallback, or mixed."""
    if len(parts) == 1:
        return parts[0]
    all_prior = pl.all_horizontal([p == _PRIOR for p in parts])
    all_current = pl.all_horizontal([p == _CURRENT_FALLBACK for p in parts])
    return (pl.when(all_prior).then(pl.lit(_PRIOR)).when(all_current).then(pl.lit(_CURRENT_FALLBACK))
            .otherwise(pl.lit("mixed: prior year where the group has prior-year data, else current year")))

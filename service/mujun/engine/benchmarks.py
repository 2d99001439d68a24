"""Stage 4 — benchmarks (基准值): fixed numbers, or a statistic of an indicator over a cohort × factor.

A cohort is the rated firms (optionally those matching ``where``) sharing the benchmark's
``group_by`` fields, e.g. the same county. ``source: prior`` takes the statistic from the prior-year
data, evaluated through the same stages; ``prior_or_current`` falls back to the current year for a
group the prior year does not cover, and the fallback is stated in ``benchmark_basis``.

Groups are coded once as integers shared by both years (dictionary encoding), so a mean is
two ``bincount`` passes and no string is hashed per benchmark.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from mujun.engine.columns import OK, STATUS, benchmark_col, compile_expr, indicator_col
from mujun.engine.compile import Plan
from mujun.engine.groups import group_codes
from mujun.packs.model import Benchmark

__all__ = ["compute_benchmarks", "BASIS"]

BASIS = "benchmark_basis"
_PRIOR, _CURRENT_FALLBACK = "prior year", "current year (no prior-year data for this group)"


def _stat_per_group(bm: Benchmark, codes: np.ndarray, values: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """The statistic of each group over the masked rows; NaN for a group with no such row."""
    use = mask & (codes >= 0)
    if bm.stat == "mean":
        totals = np.bincount(codes[use], weights=values[use], minlength=size)
        counts = np.bincount(codes[use], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, totals / counts, np.nan)
    frame = pl.DataFrame({"code": codes[use], "x": values[use]})
    x = pl.col("x")
    stat = {"median": x.median(), "min": x.min(), "max": x.max(),
            "percentile": x.quantile((bm.percentile or 0) / 100.0, interpolation="linear")}[bm.stat]  # type: ignore[index]
    table = frame.group_by("code").agg(stat.alias("stat"))
    out = np.full(size, np.nan)
    out[table["code"].to_numpy()] = table["stat"].to_numpy()
    return out


def _cohort(frame: pl.DataFrame, plan: Plan, name: str, bm: Benchmark) -> tuple[np.ndarray, np.ndarray]:
    """(indicator values, cohort mask) as arrays: rated rows with a value, narrowed by ``where``."""
    indicator = pl.col(indicator_col(bm.of))  # type: ignore[arg-type]
    mask = (pl.col(STATUS) == OK) & indicator.is_not_null()
    if bm.where is not None:
        mask = mask & compile_expr(plan, f"benchmarks.{name}.where").fill_null(False)
    both = frame.select(indicator.fill_null(np.nan).alias("x"), mask.alias("m"))
    return both["x"].to_numpy(), both["m"].to_numpy()


def compute_benchmarks(frame: pl.DataFrame, plan: Plan, prior: pl.DataFrame | None) -> pl.DataFrame:
    columns: list[pl.Series] = []
    basis: list[np.ndarray] = []  # per prior-sourced benchmark: did the row's group have prior data?
    coded: dict[tuple[str, ...], tuple[list[np.ndarray], int]] = {}
    fixed = [compile_expr(plan, f"benchmarks.{n}.value").alias(benchmark_col(n))
             for n, bm in plan.pack.benchmarks.items() if bm.value is not None]
    for name, bm in plan.pack.benchmarks.items():
        if bm.value is not None:
            continue
        use_prior = prior is not None and bm.source != "current"
        key = tuple(bm.group_by)
        if key not in coded:
            coded[key] = group_codes([frame] if prior is None else [frame, prior], list(key))
        codes, size = coded[key]
        factor = pl.select(compile_expr(plan, f"benchmarks.{name}.factor")).item()
        current = _stat_per_group(bm, codes[0], *_cohort(frame, plan, name, bm), size)
        chosen = current
        if use_prior:
            previous = _stat_per_group(bm, codes[1], *_cohort(prior, plan, name, bm), size)  # type: ignore[arg-type]
            chosen = previous if bm.source == "prior" else np.where(np.isnan(previous), current, previous)
            basis.append(~np.isnan(previous[codes[0]]) & (codes[0] >= 0))
        elif bm.source != "current":
            basis.append(np.zeros(frame.height, dtype=bool))
        per_row = np.where(codes[0] >= 0, chosen[np.maximum(codes[0], 0)], np.nan) * factor
        columns.append(pl.Series(benchmark_col(name), per_row, nan_to_null=True))
    frame = frame.with_columns([*fixed, *columns])
    if basis:
        frame = frame.with_columns(_basis(basis))
    return frame


def _basis(had_prior: list[np.ndarray]) -> pl.Series:
    """One statement per row: prior year, current year fallback, or a mix of both."""
    all_prior = np.logical_and.reduce(had_prior)
    no_prior = ~np.logical_or.reduce(had_prior)
    labels = pl.Series(BASIS, [_PRIOR, _CURRENT_FALLBACK,
                               "mixed: prior year where the group has prior-year data, else current year"])
    return labels.gather(np.where(all_prior, 0, np.where(no_prior, 1, 2)))

"""Stage 4 — benchmarks (基准值): fixed numbers, or a statistic of an indicator over a cohort × factor.

A cohort is the rated firms (optionally those matching ``where``) sharing the benchmark's
``group_by`` fields, e.g. the same county. ``source: prior`` takes the statistic from the prior-year
data, evaluated through the same stages; ``prior_or_current`` falls back to the current year for a
group the prior year does not cover, and the fallback is stated in ``benchmark_basis``.

Groups are coded as integers (dictionary encoding), so a mean is two ``bincount`` passes and no
string is hashed per benchmark; the prior year's statistics are matched to this year's groups by
their field values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from mujun.engine.columns import OK, STATUS, benchmark_col, compile_expr, indicator_col, select
from mujun.engine.compile import Plan
from mujun.engine.groups import GroupCoder, Groups, group_codes
from mujun.engine.schema import BASIS, cohort_n_col, stat_col
from mujun.packs.model import Benchmark

__all__ = ["compute_benchmarks", "prior_statistics", "PriorStatistics", "BASIS", "stat_col", "cohort_n_col"]

_PRIOR, _CURRENT_FALLBACK = "prior year", "current year (no prior-year data for this group)"



def _count_per_group(slots: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    counts = np.bincount(slots, weights=mask, minlength=size + 1).astype(np.float64)
    counts[0] = np.nan
    return counts


def _stat_per_group(bm: Benchmark, slots: np.ndarray, size: int, values: np.ndarray, mask: np.ndarray,
                    denominators: np.ndarray | None = None) -> np.ndarray:
    """The statistic of each group slot over the masked rows; NaN for slot 0 (no group) and empty groups.

    A mean is two weighted ``bincount`` passes over every row (masked rows weigh 0), which adds
    in row order exactly like summing the cohort alone, without copying it out first. Read as a
    ratio of sums, ``values`` are the numerators and the counts are the summed ``denominators``.
    """
    if bm.stat == "mean":
        totals = np.bincount(slots, weights=np.where(mask, values, 0.0), minlength=size + 1)
        counts = np.bincount(slots, weights=mask if denominators is None else np.where(mask, denominators, 0.0),
                             minlength=size + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(counts != 0, totals / counts, np.nan)
    else:
        use = mask & (slots > 0)
        x = pl.col("x")
        stat = {"median": x.median(), "min": x.min(), "max": x.max(),
                "percentile": x.quantile((bm.percentile or 0) / 100.0, interpolation="linear")}[bm.stat]  # type: ignore[index]
        table = pl.DataFrame({"slot": slots[use], "x": values[use]}).group_by("slot").agg(stat.alias("stat"))
        out = np.full(size + 1, np.nan)
        out[table["slot"].to_numpy()] = table["stat"].to_numpy()
    out[0] = np.nan
    return out


def _cohorts(frame: pl.DataFrame, plan: Plan, names: list[str]) -> dict[str, tuple[np.ndarray, ...]]:
    """Per benchmark (indicator values, cohort mask[, denominators]) as arrays, in one pass over the frame.

    The cohort is the rated rows with a value, narrowed by the benchmark's ``where``; a ratio of
    sums reads the indicator's numerator in place of its values, and its denominator.
    """
    columns = []
    for name in names:
        bm = plan.pack.benchmarks[name]
        indicator = pl.col(indicator_col(bm.of))  # type: ignore[arg-type]
        mask = (pl.col(STATUS) == OK) & indicator.is_not_null()
        if bm.where is not None:
            mask = mask & compile_expr(plan, f"benchmarks.{name}.where").fill_null(False)
        if bm.reading == "ratio_of_sums":
            mask = mask & compile_expr(plan, f"benchmarks.{name}.denominator").is_not_null()
            indicator = compile_expr(plan, f"benchmarks.{name}.numerator").cast(pl.Float64)
            columns.append(compile_expr(plan, f"benchmarks.{name}.denominator").cast(pl.Float64)
                           .fill_null(np.nan).alias(f"d.{name}"))
        columns += [indicator.fill_null(np.nan).alias(f"x.{name}"), mask.alias(f"m.{name}")]
    both = select(frame, *columns)
    return {name: (both[f"x.{name}"].to_numpy(), both[f"m.{name}"].to_numpy(),
                   *([both[f"d.{name}"].to_numpy()] if f"d.{name}" in both.columns else []))
            for name in names}


@dataclass(frozen=True)
class PriorStatistics:
    """The prior year reduced to what benchmarks read: per group, each prior-sourced statistic.

    Computed as soon as the prior year is prepared (on its own thread), so its rows are freed
    long before the current year is scored.
    """

    tables: dict[tuple[str, ...], pl.DataFrame]  # group fields + one column per benchmark name

    def aligned(self, name: str, key: tuple[str, ...], labels: pl.DataFrame) -> np.ndarray:
        """The prior-year statistic of each current group slot (slot 0, no group: NaN)."""
        table = self.tables[key]
        if key:
            table = labels.join(table, on=list(key), how="left", maintain_order="left")
        return np.concatenate([[np.nan], table[name].fill_null(np.nan).to_numpy()])


def prior_statistics(prior: pl.DataFrame, plan: Plan) -> PriorStatistics:
    names = [n for n, bm in plan.pack.benchmarks.items() if bm.value is None and bm.source != "current"]
    cohorts = _cohorts(prior, plan, names)
    tables = {}
    for key in dict.fromkeys(tuple(plan.pack.benchmarks[n].group_by) for n in names):
        groups = group_codes(prior, list(key))
        mine = [n for n in names if tuple(plan.pack.benchmarks[n].group_by) == key]
        stats = [pl.Series(n, _stat_per_group(plan.pack.benchmarks[n], groups.codes + 1, groups.size, *cohorts[n])[1:])
                 for n in mine]
        stats += [pl.Series(cohort_n_col(n), _count_per_group(groups.codes + 1, cohorts[n][1], groups.size)[1:])
                  for n in mine]
        tables[key] = groups.labels.with_columns(stats)
    return PriorStatistics(tables)


def compute_benchmarks(frame: pl.DataFrame, plan: Plan, prior_of: Callable[[], PriorStatistics | None],
                       groups_of: GroupCoder = group_codes) -> pl.LazyFrame:
    """``prior_of`` gives the prior year's statistics (None without a prior year); it is asked only
    after this year's are computed, so a prior year still being prepared on its thread is waited for last."""
    columns: list[pl.Series] = []
    basis: list[np.ndarray] = []  # per prior-sourced benchmark: did the row's group have prior data?
    coded: dict[tuple[str, ...], tuple[Groups, np.ndarray]] = {}
    fixed = [compile_expr(plan, f"benchmarks.{n}.value").alias(benchmark_col(n))
             for n, bm in plan.pack.benchmarks.items() if bm.value is not None]
    computed = [n for n, bm in plan.pack.benchmarks.items() if bm.value is None]
    now = _cohorts(frame, plan, computed)
    current = {}
    for name in computed:
        key = tuple(plan.pack.benchmarks[name].group_by)
        if key not in coded:  # slots: group code + 1, so slot 0 is "no group" and indexes a NaN
            groups = groups_of(frame, list(key))
            coded[key] = groups, groups.codes + 1
        groups, slots = coded[key]
        current[name] = _stat_per_group(plan.pack.benchmarks[name], slots, groups.size, *now[name])
    prior = prior_of()  # None unless a benchmark reads the prior year and one was given
    for name in computed:
        bm = plan.pack.benchmarks[name]
        key = tuple(bm.group_by)
        groups, slots = coded[key]
        factor = pl.select(compile_expr(plan, f"benchmarks.{name}.factor")).item()
        chosen = current[name]
        count = _count_per_group(slots, now[name][1], groups.size)
        if prior is not None and bm.source != "current":
            previous = prior.aligned(name, key, groups.labels)
            prior_count = prior.aligned(cohort_n_col(name), key, groups.labels)
            use_prior = ~np.isnan(previous) if bm.source == "prior_or_current" else np.ones(len(previous), dtype=bool)
            chosen = np.where(use_prior, previous, chosen)
            count = np.where(use_prior, prior_count, count)
            basis.append(~np.isnan(previous)[slots])
        elif bm.source != "current":
            basis.append(np.zeros(frame.height, dtype=bool))
        columns += [pl.Series(benchmark_col(name), chosen[slots] * factor, nan_to_null=True),
                    pl.Series(stat_col(name), chosen[slots], nan_to_null=True),
                    pl.Series(cohort_n_col(name), count[slots], nan_to_null=True).cast(pl.UInt32)]
    return frame.lazy().with_columns(*fixed, *columns, *([_basis(basis)] if basis else []))


def _basis(had_prior: list[np.ndarray]) -> pl.Series:
    """One statement per row: prior year, current year fallback, or a mix of both."""
    all_prior = np.logical_and.reduce(had_prior)
    no_prior = ~np.logical_or.reduce(had_prior)
    labels = pl.Series(BASIS, [_PRIOR, _CURRENT_FALLBACK,
                               "mixed: prior year where the group has prior-year data, else current year"])
    return labels.gather(np.where(all_prior, 0, np.where(no_prior, 1, 2)))

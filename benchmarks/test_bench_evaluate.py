"""Benchmarks: the engine against the hand-written numpy baseline and the read floor, 10k → 4M enterprises.

All three run in the same session on the same tables, so their ratios are meaningful even on a busy
machine.  Each is timed with pytest-benchmark's pedantic mode after one warm-up round, a few rounds,
best round reported.
"""

from __future__ import annotations

import polars as pl
import pytest

import baseline_numpy
from conftest import sizes

#: Rounds per size: more where a run is short and noise is proportionally larger.
ROUNDS = {10_000: 10, 100_000: 5, 1_000_000: 3, 4_000_000: 3}
READ_COLUMNS = ["land_mu", "tax_wan", "revenue_wan", "energy_tce", "electricity_kwh", "years_in_production"]


def read_floor(current: pl.DataFrame, prior: pl.DataFrame) -> float:
    """One pass summing every numeric input the pack reads, in both years: no engine can do less."""
    return sum(frame.select(pl.col(READ_COLUMNS).sum()).sum_horizontal().item() for frame in (current, prior))


IMPLEMENTATIONS = ("read_floor", "numpy", "engine")


def _cases() -> list:
    """(n, impl) by size first, so each size's tables are generated once and shared by all three."""
    return [pytest.param(n.values[0], impl, id=f"{impl}-{n.id}", marks=n.marks)
            for n in sizes() for impl in IMPLEMENTATIONS]


@pytest.mark.timeout(1800)
@pytest.mark.parametrize(("n", "impl"), _cases())
def test_evaluate(benchmark, record, dataset, request, n, impl):
    current, prior = dataset(n)
    if impl == "engine":
        pack = request.getfixturevalue("pack")
        run = lambda: pack.evaluate(current, prior=prior).table  # noqa: E731 — the published table, as numpy returns
    elif impl == "numpy":
        run = lambda: baseline_numpy.evaluate(current, prior)  # noqa: E731
    else:
        run = lambda: read_floor(current, prior)  # noqa: E731
    benchmark.group = f"evaluate {n:,}"
    # one untimed round first at every size, for both: a process's first pass over a new size pays
    # for growing its heap (the cold, fresh-process figure is the RSS probe's eval_s)
    benchmark.pedantic(run, rounds=ROUNDS[n], iterations=1, warmup_rounds=1)
    stats = benchmark.stats.stats
    record("evaluate", impl, n=n, seconds=stats.min, median_seconds=stats.median, rounds=ROUNDS[n])

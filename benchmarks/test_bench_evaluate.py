"""Benchmarks: the engine against the hand-written numpy baseline and the read floor, 10k → 4M enterprises.

All three run in the same session on the same tables.  Each is timed with pytest-benchmark's pedantic
mode after one warm-up round, a few rounds, best round reported (pytest-benchmark's table).

The engine/numpy ratio itself comes from ``test_evaluate_paired``: engine and numpy rounds alternate
(engine first in odd pairs, numpy first in even ones, so drift in the machine's load falls on both),
each round timed in process CPU seconds (every thread of the process, ``time.process_time``) and in
wall seconds; the ratio reported is the median over pairs of engine ÷ numpy, for both clocks.  On a
shared machine wall time measures the queue for a core as much as the work: the engine spreads its work
over Polars' thread pool and waits for the slowest thread, numpy runs on one, so load inflates the
engine's wall time more; CPU time counts the work done, wherever it ran.
"""

from __future__ import annotations

import statistics
import time

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


#: Engine/numpy pairs per size for the paired ratio (after one untimed round of each).
PAIRS = {10_000: 20, 100_000: 10, 1_000_000: 7, 4_000_000: 3}


def _timed(run) -> tuple[float, float]:
    """(process CPU seconds, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def paired_rounds(engine, numpy, pairs: int) -> dict[str, list[float]]:
    """Interleaved rounds: per pair, engine and numpy back to back, the order alternating pair by pair."""
    engine(), numpy()  # untimed: each pays once for growing its heap at this size
    out: dict[str, list[float]] = {"engine_cpu": [], "engine_wall": [], "numpy_cpu": [], "numpy_wall": []}
    for pair in range(pairs):
        for name in (("engine", "numpy") if pair % 2 == 0 else ("numpy", "engine")):
            cpu, wall = _timed(engine if name == "engine" else numpy)
            out[f"{name}_cpu"].append(cpu)
            out[f"{name}_wall"].append(wall)
    return out


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("n", sizes())
def test_evaluate_paired(benchmark, record, dataset, pack, n):
    current, prior = dataset(n)
    engine = lambda: pack.evaluate(current, prior=prior).table  # noqa: E731
    numpy = lambda: baseline_numpy.evaluate(current, prior)  # noqa: E731
    rounds: dict[str, list[float]] = {}
    benchmark.group = f"evaluate {n:,} (paired engine + numpy)"
    benchmark.pedantic(lambda: rounds.update(paired_rounds(engine, numpy, PAIRS[n])), rounds=1, iterations=1)
    ratio = {clock: statistics.median(e / b for e, b in zip(rounds[f"engine_{clock}"], rounds[f"numpy_{clock}"]))
             for clock in ("cpu", "wall")}
    record("paired", "engine_over_numpy", n=n, pairs=PAIRS[n], cpu_ratio=ratio["cpu"], wall_ratio=ratio["wall"],
           **{k: statistics.median(v) for k, v in rounds.items()}, rounds=rounds)
    assert all(len(v) == PAIRS[n] for v in rounds.values())

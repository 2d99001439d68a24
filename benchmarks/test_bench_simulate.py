"""Benchmarks: a simulation (OLD + NEW + comparison + report.json + HTML) and a sweep of 10 values, each as a
multiple of one evaluation of the same data in the same session (targets: 3× and 12×).

The sweep is timed in this process (Polars' threads) and with one worker process per core, so the
README can say which helps on this machine; the sensitivity runs (two evaluations per numeric
parameter) are timed apart, as they are not part of the 3× target.
"""

from __future__ import annotations

import time

import pytest

from conftest import MAX_N
from mujun.simulate import parse_sweep, render_html, simulate
from mujun.simulate.data import narrowed
from mujun.simulate.runner import default_workers

N = min(1_000_000, MAX_N)
#: ten values, none of them OLD's own 45, so each is a full evaluation (a value equal to OLD's is reused)
SWEEP = "weight_tax=46:55:1"


def _best(run, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


@pytest.fixture(scope="module")
def one_evaluation(dataset, pack) -> float:
    """One evaluation of the columns the pack reads: what ``mujun score`` evaluates after reading a Parquet
    file (the simulation narrows its data the same way)."""
    current, prior = (narrowed(t, pack.input_headers) for t in dataset(N))
    pack.evaluate(current, prior=prior).table  # warm-up: heap growth, plan cache
    return _best(lambda: pack.evaluate(current, prior=prior).table, 3)


def _report(impact) -> None:
    impact.model_dump_json(indent=2)
    render_html(impact)


@pytest.mark.timeout(1800)
def test_simulation_within_three_evaluations(record, dataset, pack, one_evaluation):
    current, prior = dataset(N)
    run = lambda: _report(simulate(pack, None, current, prior, overrides={"weight_tax": 50}, sensitivity=False))  # noqa: E731
    seconds = _best(run, 2)
    record("simulate", "engine", n=N, key="simulate_over_evaluate", seconds=seconds, evaluate_seconds=one_evaluation,
           ratio=seconds / one_evaluation)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("workers", sorted({1, default_workers()}), ids=lambda w: f"workers-{w}")
def test_sweep_of_ten_values_within_twelve_evaluations(record, dataset, pack, one_evaluation, workers):
    current, prior = dataset(N)
    spec = parse_sweep(SWEEP)
    assert len(spec.values) == 10
    timings: dict[str, float] = {}
    run = lambda: _report(simulate(pack, None, current, prior, sweep=spec, sensitivity=False, workers=workers,  # noqa: E731
                                   timings=timings))
    seconds = _best(run, 1)
    assert timings["run_count"] == 10
    record("simulate", f"sweep-workers-{workers}", n=N, key=f"sweep10_over_evaluate_workers{workers}", seconds=seconds,
           evaluate_seconds=one_evaluation, ratio=seconds / one_evaluation, workers=workers)


@pytest.mark.timeout(1800)
def test_sensitivity_runs(record, dataset, pack, one_evaluation):
    current, prior = dataset(N)
    timings: dict[str, float] = {}
    seconds = _best(lambda: simulate(pack, None, current, prior, overrides={"weight_tax": 50}, timings=timings), 1)
    record("simulate", "sensitivity", n=N, key="sensitivity_over_evaluate", seconds=seconds,
           evaluate_seconds=one_evaluation, ratio=seconds / one_evaluation, runs=timings["run_count"])

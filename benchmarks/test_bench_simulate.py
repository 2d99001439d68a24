"""Benchmarks: a simulation (OLD + NEW + comparison + report.json + HTML) and a sweep of 10 values, each as a
multiple of one evaluation of the same data in the same session (targets: 3× and 12×).

Each ratio is measured twice: in wall-clock time and in CPU time (this process's threads plus any worker
processes). On a shared machine whose load is far above its core count, wall time swings by a factor of
two between identical runs; CPU time does not, so the target verdict reads the CPU ratio and the wall
ratio is recorded beside it. Evaluation and simulation rounds alternate, best round of each.

The sweep is timed in this process (Polars' threads) and with one worker process per core, so the README
can say which helps on this machine; the sensitivity runs (two evaluations per numeric parameter) are
timed apart, as they are not part of the 3× target.
"""

from __future__ import annotations

import os
import resource
import time

import pytest

from conftest import MAX_N
from mujun.simulate import parse_sweep, render_html, simulate
from mujun.simulate.data import narrowed
from mujun.simulate.runner import default_workers

N = min(int(os.environ.get("MUJUN_BENCH_SIMULATE_N", 1_000_000)), MAX_N)
#: ten values, none of them OLD's own 45, so each is a full evaluation (a value equal to OLD's is reused)
SWEEP = "weight_tax=46:55:1"


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(run) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    run()
    return time.perf_counter() - wall, _cpu() - cpu


def _alternating(evaluate, run, rounds: int) -> dict[str, float]:
    """Best wall and CPU seconds of one evaluation and of ``run``, their rounds interleaved."""
    evaluate()  # warm-up: heap growth, plan cache
    seen: dict[str, list[tuple[float, float]]] = {"evaluate": [], "run": []}
    for _ in range(rounds):
        seen["evaluate"].append(_timed(evaluate))
        seen["run"].append(_timed(run))
    best = {f"{k}_{kind}": min(t[i] for t in v) for k, v in seen.items() for i, kind in enumerate(("wall", "cpu"))}
    return {**best, "ratio": best["run_cpu"] / best["evaluate_cpu"], "wall_ratio": best["run_wall"] / best["evaluate_wall"]}


@pytest.fixture(scope="module")
def tables(dataset, pack):
    """The columns the pack reads: what ``mujun score`` evaluates after reading a Parquet file (the
    simulation narrows its data the same way)."""
    return tuple(narrowed(t, pack.input_headers) for t in dataset(N))


def _report(impact) -> None:
    impact.model_dump_json(indent=2)
    render_html(impact)


@pytest.mark.timeout(1800)
def test_simulation_within_three_evaluations(record, tables, pack):
    current, prior = tables
    figures = _alternating(lambda: pack.evaluate(current, prior=prior).table,
                           lambda: _report(simulate(pack, None, current, prior, overrides={"weight_tax": 50},
                                                    sensitivity=False)), rounds=3)
    record("simulate", "engine", n=N, key="simulate_over_evaluate", **figures)


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("workers", sorted({1, default_workers()}), ids=lambda w: f"workers-{w}")
def test_sweep_of_ten_values_within_twelve_evaluations(record, tables, pack, workers):
    current, prior = tables
    spec = parse_sweep(SWEEP)
    assert len(spec.values) == 10
    timings: dict[str, float] = {}
    figures = _alternating(lambda: pack.evaluate(current, prior=prior).table,
                           lambda: _report(simulate(pack, None, current, prior, sweep=spec, sensitivity=False,
                                                    workers=workers, timings=timings)), rounds=1)
    assert timings["run_count"] == 10
    record("simulate", f"sweep-workers-{workers}", n=N, key=f"sweep10_over_evaluate_workers{workers}", workers=workers,
           **figures)


@pytest.mark.timeout(3600)
def test_sensitivity_runs(record, tables, pack):
    current, prior = tables
    timings: dict[str, float] = {}
    figures = _alternating(lambda: pack.evaluate(current, prior=prior).table,
                           lambda: simulate(pack, None, current, prior, overrides={"weight_tax": 50}, workers=1,
                                            timings=timings), rounds=1)
    record("simulate", "sensitivity", n=N, key="sensitivity_over_evaluate", runs=timings["run_count"], **figures)

"""Benchmarks: per-enterprise rule engines (GoRules Zen, durable_rules) on the same pack, at ~30 s each.

Each is first timed on a sample of ``CALIBRATION_N`` to estimate its speed, then run once at the size
it should finish in ``BUDGET_S`` (they slow down somewhat on large inputs, so runs land near 30 s).  Only the engine's own work is timed (see the baselines' docstrings for what
is precomputed with numpy and handed to them), which favours them.
"""

from __future__ import annotations

import pytest

import baseline_durable
import baseline_zen

BUDGET_S = 15.0
CALIBRATION_N = 9_000
LARGEST_N = 1_000_000


def _size_for(per_second: float) -> int:
    """Enterprises that fit into the time budget, rounded down to a thousand."""
    return int(max(CALIBRATION_N, min(LARGEST_N, per_second * BUDGET_S)) // 1_000 * 1_000)


def _calibrated(dataset, build, run):
    """(inputs, rated firms) for as many enterprises as ``run`` gets through in the budget, judged by
    timing it on ``CALIBRATION_N`` of them; ``build`` turns (current, prior) tables into its inputs."""
    inputs, _ = build(*dataset(10_000))
    _, seconds = run(inputs[:CALIBRATION_N])
    n = _size_for(CALIBRATION_N / seconds)
    inputs, rated = build(*dataset(max(10_000, int(n / 0.93) + 1_000)))  # ~93 % of generated firms are rated
    return inputs[:n], rated.head(n)


@pytest.mark.timeout(900)
def test_zen_evaluate_batch(benchmark, record, dataset):
    inputs, rated = _calibrated(dataset, baseline_zen.contexts, baseline_zen.evaluate_batch)
    outcome = {}
    benchmark.group = "per-enterprise engines"
    benchmark.pedantic(lambda: outcome.update(run=baseline_zen.evaluate_batch(inputs)), rounds=1, iterations=1)
    results, zen_seconds = outcome["run"]
    record("throughput", "zen_batch", n=len(inputs), seconds=zen_seconds, per_second=len(inputs) / zen_seconds,
           **baseline_zen.agreement(results, rated))


@pytest.mark.timeout(900)
def test_zen_evaluate_per_call(benchmark, record, dataset):
    inputs, rated = baseline_zen.contexts(*dataset(100_000))
    _, seconds = baseline_zen.evaluate_each(inputs[:1_000])
    n = min(len(inputs), _size_for(1_000 / seconds))
    outcome = {}
    benchmark.group = "per-enterprise engines"
    benchmark.pedantic(lambda: outcome.update(run=baseline_zen.evaluate_each(inputs[:n])), rounds=1, iterations=1)
    results, zen_seconds = outcome["run"]
    record("throughput", "zen_each", n=n, seconds=zen_seconds, per_second=n / zen_seconds,
           **baseline_zen.agreement(results, rated.head(n)))


@pytest.mark.timeout(900)
def test_durable_rules(benchmark, record, dataset):
    facts, rated = _calibrated(dataset, baseline_durable.facts, baseline_durable.evaluate)
    n = len(facts)
    outcome = {}
    benchmark.group = "per-enterprise engines"
    benchmark.pedantic(lambda: outcome.update(run=baseline_durable.evaluate(facts)), rounds=1, iterations=1)
    decided, rules_seconds = outcome["run"]
    record("throughput", "durable", n=n, seconds=rules_seconds, per_second=n / rules_seconds,
           tier_agreement=baseline_durable.agreement(decided, rated))

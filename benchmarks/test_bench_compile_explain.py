"""Benchmarks: pack compilation, explanations for random firms, and the explain-everything export."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import MAX_N, PACK_ID

EXPLAIN_N = min(1_000_000, MAX_N)
EXPLAIN_COUNT = 1_000

_COLD_COMPILE = f"""
import json, time
import mujun
began = time.perf_counter()
mujun.load_pack({PACK_ID!r})
print(json.dumps({{"seconds": time.perf_counter() - began}}))
"""


def test_pack_compilation(benchmark, record):
    """Cold: first load in a fresh process (after ``import mujun``); warm: repeated loads in one process."""
    cold = min(json.loads(subprocess.run([sys.executable, "-c", _COLD_COMPILE], check=True, capture_output=True,
                                         text=True).stdout)["seconds"] for _ in range(3))
    import mujun

    benchmark.group = "compile"
    benchmark.pedantic(lambda: mujun.load_pack(PACK_ID), rounds=20, iterations=1, warmup_rounds=1)
    record("compile", "engine", cold_ms=1e3 * cold, warm_ms=1e3 * benchmark.stats.stats.min)


@pytest.mark.timeout(900)
def test_explain_random_enterprises(benchmark, record, dataset, pack):
    current, prior = dataset(EXPLAIN_N)
    result = pack.evaluate(current, prior=prior)
    ids = current["enterprise_id"].gather(np.random.default_rng(0).choice(current.height, EXPLAIN_COUNT)).to_list()
    began = time.perf_counter()
    result.explain(ids[0])  # the first call also builds the id index
    first_call = time.perf_counter() - began
    benchmark.group = "explain"
    benchmark.pedantic(lambda: [result.explain(i) for i in ids], rounds=3, iterations=1)
    record("explain", "engine", n=EXPLAIN_N, count=EXPLAIN_COUNT, seconds=benchmark.stats.stats.min,
           first_call_s=first_call)


@pytest.mark.timeout(900)
def test_explain_everything(benchmark, record, dataset, pack, tmp_path):
    """The export an auditor asks for: every intermediate value of every firm, written to Parquet."""
    current, prior = dataset(EXPLAIN_N)
    result = pack.evaluate(current, prior=prior)
    benchmark.group = "explain"
    benchmark.pedantic(lambda: result.explain_table().write_parquet(tmp_path / "explain.parquet"), rounds=1,
                       iterations=1)
    record("explain_all", "engine", n=EXPLAIN_N, seconds=benchmark.stats.stats.min,
           method="Result.explain_table().write_parquet()")

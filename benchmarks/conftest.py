"""Benchmark harness: shared data, the engine under test, and the report written when the run ends.

Every figure that matters is a *ratio* between two things measured in the same run, because these
machines are shared and their absolute speed drifts.  Each benchmark calls ``record`` with what it
measured; at the end of the session ``report`` turns the records into the ratio table printed on the
terminal, ``results/results.json`` and ``results/scaling.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

import report  # benchmarks/ is on sys.path: pytest puts a package-less conftest's folder there

#: Largest size the engine and numpy are timed at; ``MUJUN_BENCH_MAX=4000000 make bench`` adds 4M.
MAX_N = int(os.environ.get("MUJUN_BENCH_MAX", "1000000"))
SIZES = [10_000, 100_000, 1_000_000, 4_000_000]
PACK_ID = "js-huaian-2024"
SEED = 2024

_RECORDS = pytest.StashKey[list]()
_DATA = pytest.StashKey[dict]()


def regions_for(n: int) -> int:
    """About 2,000 firms per county, as in a mid-sized Chinese county, between 10 and 1,500 counties."""
    return min(1_500, max(10, n // 2_000))


def sizes() -> list:
    """The benchmark sizes as pytest params; sizes above ``MAX_N`` are skipped, not silently dropped."""
    return [pytest.param(n, id=f"{n:_}", marks=pytest.mark.skipif(n > MAX_N, reason=f"MUJUN_BENCH_MAX={MAX_N}"))
            for n in SIZES]


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RECORDS] = []
    config.stash[_DATA] = {}


@pytest.fixture(scope="session")
def record(pytestconfig):
    """``record(kind, impl, n=..., seconds=..., **extra)`` adds one measurement to the report."""

    def add(kind: str, impl: str, **values) -> None:
        pytestconfig.stash[_RECORDS].append({"kind": kind, "impl": impl, **values})

    return add


@pytest.fixture(scope="session")
def dataset(pytestconfig):
    """``dataset(n)`` → (current, prior) from ``mujun.synth``; generated once per size and kept."""
    from mujun.synth import generate

    cache = pytestconfig.stash[_DATA]

    def get(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        if n not in cache:
            for big in [size for size in cache if size >= 1_000_000 and n >= 1_000_000]:
                del cache[big]  # one large size in memory at a time: 4M current + prior is ~1.3 GB
            cache[n] = generate(n, regions_for(n), SEED)
        return cache[n]

    return get


@pytest.fixture(scope="session")
def pack():
    """The compiled js-huaian-2024 pack; loaded once, as a service would, so runs reuse its plan."""
    import mujun

    return mujun.load_pack(PACK_ID)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    records = config.stash.get(_RECORDS, [])
    if records:
        out = Path(__file__).parent / "results"
        summary = report.write(records, out, max_n=MAX_N)
        terminalreporter.write_sep("=", "mujun benchmark ratios (written to benchmarks/results/)")
        terminalreporter.write_line(report.table(summary))

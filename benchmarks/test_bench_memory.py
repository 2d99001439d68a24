"""Benchmarks: peak RSS and Parquet I/O time at 1M and 4M, each measured in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MAX_N

PROBE = Path(__file__).with_name("rss_probe.py")


def _cases() -> list:
    return [pytest.param(n, impl, id=f"{impl}-{n // 1_000_000}M",
                         marks=pytest.mark.skipif(n > MAX_N, reason=f"MUJUN_BENCH_MAX={MAX_N}"))
            for n in (1_000_000, 4_000_000) for impl in ("numpy", "engine")]


@pytest.fixture(scope="session")
def parquet_inputs(tmp_path_factory, dataset):
    """``parquet_inputs(n)`` → (current, prior) Parquet paths, written once per size."""
    written = {}

    def get(n: int) -> tuple[Path, Path]:
        if n not in written:
            folder = tmp_path_factory.mktemp(f"rss-{n}")
            current, prior = dataset(n)
            written[n] = (folder / "current.parquet", folder / "prior.parquet")
            current.write_parquet(written[n][0])
            prior.write_parquet(written[n][1])
        return written[n]

    return get


@pytest.mark.timeout(1800)
@pytest.mark.parametrize(("n", "impl"), _cases())
def test_peak_rss(record, parquet_inputs, tmp_path, n, impl):
    current, prior = parquet_inputs(n)
    probe = subprocess.run([sys.executable, str(PROBE), impl, str(current), str(prior), str(tmp_path / "out.parquet")],
                           check=True, capture_output=True, text=True)
    record("rss", impl, n=n, **json.loads(probe.stdout.strip().splitlines()[-1]))

"""Peak-memory probe, run in a fresh process: read Parquet, evaluate, write the result, report RSS and times.

A process of its own is the only honest way to see peak RSS: in the pytest session the tables and
results of earlier benchmarks are still alive.  Both sides read only the columns they use, as
`mujun score` does and as a hand-written script would.  Prints one JSON object on stdout.

    python benchmarks/rss_probe.py engine|numpy CURRENT.parquet PRIOR.parquet OUTPUT.parquet
"""

from __future__ import annotations

import json
import sys
import time

import polars as pl
import psutil


def _mb(value: float) -> float:
    return value / 2**20


def _peak_rss_bytes() -> int:
    """High-water mark of this process's RSS (``VmHWM``).

    Not ``getrusage().ru_maxrss``: Linux carries that across ``exec``, so a child of a big pytest
    process would report its parent's peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(impl: str, current_path: str, prior_path: str, output_path: str) -> dict:
    process = psutil.Process()
    if impl == "engine":
        import mujun

        pack = mujun.load_pack("js-huaian-2024")
        read = lambda path: mujun.read_table(path, pack.input_headers)  # noqa: E731 — as `mujun score` reads
        evaluate = lambda c, p: pack.evaluate(c, prior=p).table  # noqa: E731
        write = mujun.write_table
    else:
        import baseline_numpy

        read = lambda path: pl.read_parquet(path, columns=baseline_numpy.COLUMNS)  # noqa: E731
        evaluate = baseline_numpy.evaluate
        write = lambda frame, path: frame.write_parquet(path)  # noqa: E731
    rss_start = process.memory_info().rss
    began = time.perf_counter()
    current, prior = read(current_path), read(prior_path)
    read_s = time.perf_counter() - began
    rss_after_read = process.memory_info().rss
    began = time.perf_counter()
    table = evaluate(current, prior)
    eval_s = time.perf_counter() - began
    began = time.perf_counter()
    write(table, output_path)
    write_s = time.perf_counter() - began
    return {
        "rss_start_mb": _mb(rss_start),
        "rss_after_read_mb": _mb(rss_after_read),
        "peak_rss_mb": _mb(_peak_rss_bytes()),
        "read_s": read_s,
        "eval_s": eval_s,
        "write_s": write_s,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))

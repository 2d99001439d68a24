"""The agency hot path: one firm scored against a frozen cycle, as ratios to Health/Check on the same channel.

* one firm (RuleEngine.Evaluate with ``cycle``) p50 against Health/Check p50 (goal ≤ 2×), p99 (goal ≤ 5 ms);
* Explain of one firm against the frozen cycle, p50 (goal ≤ 5 ms);
* 64 concurrent clients for 30 s: p50, p99, errors, the server's peak RSS;
* in process: the row path against the vectorized frozen stages, per number of records (where
  ``ROWWISE_MAX_RECORDS`` comes from).

The server is a ``mujun serve`` process on 127.0.0.1 with a frozen county of 2,000 firms (js-huaian-2024,
prior year given). Figures go to ``results/latency.json``. ``MUJUN_BENCH_LOAD_S`` shortens the load run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import polars as pl
import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))

from recorded import results_file  # noqa: E402 - benchmarks/ is on sys.path
from serverkit import ServerProcess  # noqa: E402
import mujun  # noqa: E402
from mujun.engine.frozen import FrozenContext  # noqa: E402
from mujun.engine.rowwise import score_against  # noqa: E402
from mujun.synth import generate  # noqa: E402
from mujun_client import AsyncClient, Client  # noqa: E402

PACK = "js-huaian-2024"
REGION, YEAR, FIRMS = "320102", 2024, 2_000
LOAD_SECONDS = float(os.environ.get("MUJUN_BENCH_LOAD_S", "30"))
RESULTS = Path(__file__).resolve().parent / "results" / "latency.json"

latency_results = results_file(RESULTS)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.fixture(scope="module")
def county():
    data, prior = generate(FIRMS, 1, 2024, bad_fraction=0.01)
    return data, prior


@pytest.fixture(scope="module")
def frozen_server(tmp_path_factory, county):
    data, prior = county
    process = ServerProcess(tmp_path_factory.mktemp("latency") / "data", env={"MUJUN_WORKERS": "8"}).start()
    with Client(process.address, process.token, timeout=120) as admin:
        admin.run_cycle(REGION, YEAR, data, prior=prior)
        admin.freeze_cycle(REGION, YEAR)
    yield process
    process.stop()


def _one_firm(county) -> list[dict]:
    return county[0].filter(pl.col("tax_wan").is_not_null()).head(1).to_dicts()


def test_one_firm_against_a_frozen_cycle_against_health_check(frozen_server, county, latency_results):
    firm = _one_firm(county)
    with Client(frozen_server.address, frozen_server.token, timeout=30) as client:
        assert client.evaluate(firm, cycle=(REGION, YEAR)).results[0].tier
        for _ in range(100):
            client.health()
            client.evaluate(firm, cycle=(REGION, YEAR))
        health, frozen = [], []
        for _ in range(1000):
            started = time.perf_counter()
            client.health()
            health.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.evaluate(firm, cycle=(REGION, YEAR))
            frozen.append(time.perf_counter() - started)
        unfrozen = []
        for _ in range(100):  # today's meaning, for the record: the firm as its own cohort
            started = time.perf_counter()
            client.evaluate(firm, PACK)
            unfrozen.append(time.perf_counter() - started)
    latency_results.update(
        health_p50_ms=round(1e3 * statistics.median(health), 3),
        health_p99_ms=round(1e3 * _percentile(health, 0.99), 3),
        frozen_evaluate_p50_ms=round(1e3 * statistics.median(frozen), 3),
        frozen_evaluate_p99_ms=round(1e3 * _percentile(frozen, 0.99), 3),
        frozen_evaluate_over_health_p50=round(statistics.median(frozen) / statistics.median(health), 2),
        unfrozen_evaluate_p50_ms=round(1e3 * statistics.median(unfrozen), 3))


def test_explain_of_one_firm_against_a_frozen_cycle(frozen_server, county, latency_results):
    firm = _one_firm(county)
    ident = firm[0]["enterprise_id"]
    with Client(frozen_server.address, frozen_server.token, timeout=30) as client:
        for _ in range(50):
            client.explain(firm, ident, cycle=(REGION, YEAR))
        times = []
        for _ in range(300):
            started = time.perf_counter()
            response = client.explain(firm, ident, cycle=(REGION, YEAR))
            times.append(time.perf_counter() - started)
    assert response.trace["tier"]["frozen"]
    latency_results.update(frozen_explain_p50_ms=round(1e3 * statistics.median(times), 3),
                           frozen_explain_p99_ms=round(1e3 * _percentile(times, 0.99), 3))


def test_64_concurrent_clients_against_a_frozen_cycle(frozen_server, county, latency_results):
    firms = county[0].filter(pl.col("tax_wan").is_not_null()).head(64).to_dicts()
    server = psutil.Process(frozen_server.process.pid)
    latencies: list[float] = []
    errors: list[str] = []
    rss: list[int] = [server.memory_info().rss]
    deadline = time.monotonic() + LOAD_SECONDS

    async def one_client(firm: dict) -> None:
        async with AsyncClient(frozen_server.address, frozen_server.token, timeout=30) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    await client.evaluate([firm], cycle=(REGION, YEAR))
                    latencies.append(time.perf_counter() - started)
                except Exception as error:  # noqa: BLE001 - every failure is counted and reported
                    errors.append(type(error).__name__)

    async def watch_rss() -> None:
        while time.monotonic() < deadline:
            rss.append(server.memory_info().rss)
            await asyncio.sleep(0.5)

    async def everything() -> None:
        await asyncio.gather(watch_rss(), *(one_client(f) for f in firms))

    started = time.perf_counter()
    asyncio.run(everything())
    elapsed = time.perf_counter() - started
    assert latencies and not errors, errors[:5]
    latency_results.update(load_clients=len(firms), load_seconds=round(elapsed, 1), load_calls=len(latencies),
                           load_errors=len(errors), load_calls_per_s=round(len(latencies) / elapsed, 1),
                           load_p50_ms=round(1e3 * _percentile(latencies, 0.5), 2),
                           load_p99_ms=round(1e3 * _percentile(latencies, 0.99), 2),
                           server_rss_start_mb=round(rss[0] / 2**20, 1), server_rss_peak_mb=round(max(rss) / 2**20, 1))


def test_row_path_against_the_vectorized_frozen_stages_in_process(county, latency_results):
    data, prior = county
    pack = mujun.load_pack(PACK)
    context = FrozenContext.build(pack.plan, pack.evaluate(data, prior=prior, cycle=YEAR), region=REGION, year=YEAR)
    records = data.head(256).to_dicts()
    found = {}
    for n in (1, 8, 32, 128):
        for rowwise in (True, False):
            times = []
            for _ in range(30 if rowwise else 5):
                started = time.perf_counter()
                score_against(pack.plan, context, records[:n], rowwise=rowwise)
                times.append(time.perf_counter() - started)
            found[f"{'rowwise' if rowwise else 'vectorized'}_{n}_ms"] = round(1e3 * statistics.median(times), 3)
    latency_results.update(found)
    assert found["rowwise_1_ms"] < found["vectorized_1_ms"]

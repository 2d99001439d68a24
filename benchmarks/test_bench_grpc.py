"""gRPC service benchmarks: what crossing the wire costs, as ratios measured in one run.

* EvaluateBatch of 1M enterprises end to end (client Arrow encode → server evaluate → client decode)
  against the in-process evaluation of the same table (target ≤ 3×);
* unary Evaluate p50 against a grpc Health/Check round trip on the same channel (target ≤ 2×);
* unary Evaluate p50/p99 with 64 concurrent clients (reported).

The server runs as a separate ``mujun serve`` process on 127.0.0.1, as agencies would see it. The
numbers go to ``results/grpc.json`` (not to the engine report's records, so running this file alone
leaves ``results/results.json`` alone).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))

from recorded import results_file  # noqa: E402 - benchmarks/ is on sys.path
from serverkit import ServerProcess  # noqa: E402
from mujun_client import AsyncClient, Client  # noqa: E402

PACK = "js-huaian-2024"
BATCH_N = int(os.environ.get("MUJUN_BENCH_GRPC_N", "1000000"))
RESULTS = Path(__file__).resolve().parent / "results" / "grpc.json"
RECORD = [{"enterprise_id": "E1", "region": "320102", "land_mu": 12.5, "tax_wan": 80.0, "revenue_wan": 2400.0,
           "energy_tce": 300.0, "electricity_kwh": 1.2e6, "years_in_production": 8}]


grpc_results = results_file(RESULTS)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("bench") / "data",
                            env={"MUJUN_MAX_MESSAGE_BYTES": str(64 * 1024 * 1024), "MUJUN_WORKERS": "8"}).start()
    yield process
    process.stop()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_evaluate_batch_end_to_end_against_in_process(server, dataset, pack, grpc_results):
    data, _prior = dataset(BATCH_N)
    local_times, remote_times = [], []
    with Client(server.address, server.token, timeout=600, max_message_bytes=64 * 1024 * 1024, chunk_bytes=8 * 1024 * 1024) as client:
        client.evaluate_batch(data.head(10_000), PACK)  # warm the server's pack cache and the channel
        for _ in range(2):
            started = time.perf_counter()
            local = pack.evaluate(data).table
            local_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            remote, _summary = client.evaluate_batch(data, PACK)
            remote_times.append(time.perf_counter() - started)
    assert remote.num_rows == local.height == BATCH_N
    ratio = min(remote_times) / min(local_times)
    grpc_results.update(batch_n=BATCH_N, in_process_s=round(min(local_times), 3),
                        evaluate_batch_s=round(min(remote_times), 3), batch_over_in_process=round(ratio, 2))


def test_unary_evaluate_p50_against_health_check(server, grpc_results):
    with Client(server.address, server.token, timeout=30) as client:
        for _ in range(50):
            client.health()
            client.evaluate(RECORD, PACK)
        health, evaluate = [], []
        for _ in range(500):
            started = time.perf_counter()
            client.health()
            health.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.evaluate(RECORD, PACK)
            evaluate.append(time.perf_counter() - started)
    ratio = statistics.median(evaluate) / statistics.median(health)
    grpc_results.update(health_p50_ms=round(1e3 * statistics.median(health), 3),
                        evaluate_p50_ms=round(1e3 * statistics.median(evaluate), 3),
                        evaluate_over_health_p50=round(ratio, 2))


def test_unary_latency_with_64_concurrent_clients(server, grpc_results):
    clients, calls_each = 64, 30

    async def one_client(latencies: list[float]) -> None:
        async with AsyncClient(server.address, server.token, timeout=60) as client:
            for _ in range(calls_each):
                started = time.perf_counter()
                await client.evaluate(RECORD, PACK)
                latencies.append(time.perf_counter() - started)

    async def all_clients() -> list[float]:
        latencies: list[float] = []
        await asyncio.gather(*(one_client(latencies) for _ in range(clients)))
        return latencies

    started = time.perf_counter()
    latencies = asyncio.run(all_clients())
    elapsed = time.perf_counter() - started
    assert len(latencies) == clients * calls_each
    grpc_results.update(concurrent_clients=clients, concurrent_p50_ms=round(1e3 * _percentile(latencies, 0.5), 2),
                        concurrent_p99_ms=round(1e3 * _percentile(latencies, 0.99), 2),
                        concurrent_calls_per_s=round(len(latencies) / elapsed, 1))

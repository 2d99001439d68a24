"""Benchmark: in-year events through a real server — applied per second with their decision versions and
outbox rows committed, and the latency from Events.Post to a WatchDecisions watcher's receipt.

A published cycle of ``FIRMS`` firms (js-huaian-2024); events are posted in batches of ``BATCH`` by one
client (one writer applies them, each event in its own transaction: event row, decision version, outbox
row). Every event changes a decision: a ``safety_accident`` for a firm not yet in D. The latency run posts
one event at a time while a watcher streams, and measures Post sent → the change received, p50 and p99.
SQLite always; PostgreSQL too when the store tests' throw-away cluster can start (or
MUJUN_TEST_POSTGRES_URL is set). Figures go to ``results/event_stream.json``.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from recorded import results_file  # noqa: E402 - benchmarks/ is on sys.path
from serverkit import ServerProcess  # noqa: E402
from mujun.synth import generate  # noqa: E402
from mujun_client import Client  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "event_stream.json"
REGION, YEAR = "320102", 2024
FIRMS = 600
BATCH = 50
LATENCY_SAMPLES = 100

stream_results = results_file(RESULTS)


def _postgres_url() -> str | None:
    """A fresh database on the store tests' PostgreSQL (None when there is none)."""
    import os

    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("MUJUN_TEST_POSTGRES_URL")
    if not admin_url:
        from store.conftest import _start_cluster  # noqa: PLC0415 - the store tests' throw-away cluster

        started = _start_cluster()
        if isinstance(started, str):
            return None
        admin_url, stop = started
        _STOPS.append(stop)
    name = f"mujun_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


_STOPS: list = []


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cycle_server(request, tmp_path_factory):
    args = []
    if request.param == "postgresql":
        url = _postgres_url()
        if url is None:
            pytest.skip("no PostgreSQL for the benchmark (apt-get install postgresql-15 or MUJUN_TEST_POSTGRES_URL)")
        args = ["--database-url", url]
    process = ServerProcess(tmp_path_factory.mktemp(f"stream-{request.param}") / "data", args,
                            env={"MUJUN_EVENTS_TODAY": "2024-12-31"}).start()
    data, prior = generate(FIRMS, 1, 5, bad_fraction=0)
    data, prior = (t.with_columns(pl.lit(REGION).alias("region")) for t in (data, prior))
    with Client(process.address, process.token, timeout=120) as admin:
        admin.run_cycle(REGION, YEAR, data, prior=prior)
        admin.freeze_cycle(REGION, YEAR)
        admin.publish_cycle(REGION, YEAR)
        firms = [d.result.enterprise_id for d in admin.iter_decisions(REGION, YEAR)
                 if d.result.tier not in ("", "D") and d.result.status == "ok"]
    process.backend = request.param  # type: ignore[attr-defined]
    yield process, firms
    process.stop()
    while _STOPS:
        _STOPS.pop()()


def test_events_applied_per_second_with_decisions_and_outbox_committed(cycle_server, stream_results):
    server, firms = cycle_server
    half = firms[: len(firms) // 2]
    rows = [{"event_id": f"tp-{f}", "enterprise_id": f, "type": "safety_accident", "date": "2024-05-01",
             "severity": "general"} for f in half]
    with Client(server.address, server.token, timeout=300) as client:
        started = time.perf_counter()
        outcomes = []
        for i in range(0, len(rows), BATCH):
            outcomes += client.post_events(REGION, YEAR, rows[i:i + BATCH]).outcomes
        elapsed = time.perf_counter() - started
    assert [o.status for o in outcomes] == ["applied"] * len(rows)
    rate = len(rows) / elapsed
    stream_results[f"{server.backend}_events_per_second"] = round(rate, 1)
    stream_results[f"{server.backend}_ms_per_event"] = round(1000 / rate, 2)


def test_post_to_watcher_latency(cycle_server, stream_results):
    server, firms = cycle_server
    rest = firms[len(firms) // 2:][:LATENCY_SAMPLES]
    received: dict[str, float] = {}
    ready = threading.Event()
    with Client(server.address, server.token, timeout=300) as watcher, \
            Client(server.address, server.token, timeout=300) as poster:
        def watch() -> None:
            stream = watcher.watch_decisions(REGION)
            ready.set()
            for change in stream:
                received[change.enterprise_id] = time.perf_counter()
                if len(received) == len(rest):
                    return

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        ready.wait(10)
        time.sleep(0.5)  # the stream is open on the server
        sent = {}
        for firm in rest:
            sent[firm] = time.perf_counter()
            outcome = poster.post_events(REGION, YEAR, [{"event_id": f"lat-{firm}", "enterprise_id": firm,
                                                         "type": "safety_accident", "date": "2024-06-01",
                                                         "severity": "general"}]).outcomes[0]
            assert outcome.status == "applied"
            deadline = time.monotonic() + 10
            while firm not in received and time.monotonic() < deadline:
                time.sleep(0.0005)
        thread.join(10)
    latencies = sorted((received[f] - sent[f]) * 1000 for f in rest)
    assert len(latencies) == len(rest)
    stream_results[f"{server.backend}_post_to_watcher_ms_p50"] = round(statistics.median(latencies), 2)
    stream_results[f"{server.backend}_post_to_watcher_ms_p99"] = round(latencies[int(0.99 * (len(latencies) - 1))], 2)

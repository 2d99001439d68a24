"""Bulk over the wire: what a million enterprises cost to score remotely, as ratios measured in one run.

* EvaluateBatch of ``MUJUN_BENCH_BULK_N`` (1M) enterprises end to end (client encode → upload → server
  decode and evaluate → answer → client decode) against the in-process ``pack.evaluate(...).table`` of
  the same table: uncompressed, LZ4 and ZSTD (target ≤ 2× with compression), and with LZ4 and only the
  published list's columns (``columns``);
* the same evaluation behind a tiny Arrow Flight server (``flight_server.py``, DoExchange) on the same
  data in the same run: is Flight clearly faster than the mujun stream?
* Cycles.ExportDecisions of a published cycle of ``MUJUN_BENCH_EXPORT_N`` (1M) decisions to a Parquet
  file with the client (seconds, MB on the wire), against reading 10,000 through ListDecisions, and the
  share of it the store takes (the same pages read and parsed in-process, nothing sent): what any
  transport, Flight included, could at most save.

Both servers run as separate processes on 127.0.0.1. Bytes on the wire are the Arrow IPC chunks of
each direction (gRPC framing aside). The numbers go to ``results/bulk.json``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.flight as flight
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))

from recorded import results_file  # noqa: E402 - benchmarks/ is on sys.path
from serverkit import ServerProcess, server_env  # noqa: E402
from mujun_client import Client  # noqa: E402
from mujun_client import _messages as m  # noqa: E402

PACK = "js-huaian-2024"
BATCH_N = int(os.environ.get("MUJUN_BENCH_BULK_N", "1000000"))
EXPORT_N = int(os.environ.get("MUJUN_BENCH_EXPORT_N", "1000000"))
ROUNDS = int(os.environ.get("MUJUN_BENCH_BULK_ROUNDS", "2"))
RESULTS = Path(__file__).resolve().parent / "results" / "bulk.json"
HERE = Path(__file__).resolve().parent
#: The published list: who, status, score, tier, rank, group and what each firm pays or gets.
LIST_COLUMNS = ["enterprise_id", "status", "score", "tier", "rank", "group", "measure.*"]
EXPORT_REGION, EXPORT_YEAR = "320102", 2024

bulk_results = results_file(RESULTS)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("bulk") / "data", env={"MUJUN_WORKERS": "8"}).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def flight_port():
    process = subprocess.Popen([sys.executable, str(HERE / "flight_server.py")], stdout=subprocess.PIPE, text=True,
                               env=server_env())
    try:
        line = process.stdout.readline()
        assert line.startswith("port "), f"the Flight server did not start: {line!r}"
        yield int(line.split()[1])
    finally:
        process.terminate()
        process.wait(30)


class _Counted:
    """Bytes of Arrow IPC chunks passing through a request or response iterator."""

    def __init__(self) -> None:
        self.bytes = 0

    def requests(self, requests: Iterator[Any]) -> Iterator[Any]:
        for request in requests:
            part = request.WhichOneof("part")
            if part != "header":
                self.bytes += len(getattr(request, part))
            yield request

    def responses(self, responses: Iterator[Any], part: str) -> Iterator[Any]:
        for response in responses:
            if response.WhichOneof("part") == part:
                self.bytes += len(getattr(response, part))
            yield response


def _remote_batch(client: Client, data: pl.DataFrame, compression: str, columns: list[str] | None = None
                  ) -> tuple[pa.Table, int, int]:
    """One EvaluateBatch through the client's own request builder and reader: (table, bytes up, bytes down)."""
    up, down = _Counted(), _Counted()
    requests = m.batch_requests(m.pack_ref(PACK), data, None, None, client.chunk_bytes, compression=compression,
                                columns=columns)
    responses = client.engine.EvaluateBatch(up.requests(requests), timeout=600, metadata=client.metadata)
    table, _summary = m.read_results(down.responses(responses, "result_chunk"), [False])
    return table, up.bytes, down.bytes


def _flight_batch(client: flight.FlightClient, data: pl.DataFrame, compression: str) -> pa.Table:
    table = data.to_arrow()
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_command(compression.encode()))
    writer.begin(table.schema, options=pa.ipc.IpcWriteOptions(compression=None if compression == "none" else compression))
    for batch in table.to_batches(max_chunksize=65_536):
        writer.write_batch(batch)
    writer.done_writing()
    result = reader.read_all()
    writer.close()
    return result


def _export_in_process(data_dir: Path) -> float:
    """Seconds to read and parse the export's pages from the server's store in this process (nothing sent)."""
    from mujun.server.metrics import Metrics
    from mujun.services.context import Context, PackCache
    from mujun.services.export import export_decisions
    from mujun.services.principal import Principal
    from mujun.store import open_database, sqlite_url

    db = open_database(sqlite_url(data_dir))
    try:
        started = time.perf_counter()
        export = export_decisions(Context(db, Metrics(), PackCache()), Principal("bench", "admin", None),
                                  EXPORT_REGION, EXPORT_YEAR, [])
        rows = sum(page.num_rows for page in export.pages)
        seconds = time.perf_counter() - started
    finally:
        db.close()
    assert rows == EXPORT_N
    return seconds


def _best(call: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(ROUNDS):
        started = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - started)
    return min(times), out


@pytest.mark.timeout(1200)
def test_evaluate_batch_and_flight_against_in_process(server, flight_port, dataset, pack, bulk_results):
    data, _prior = dataset(BATCH_N)
    local_s, local = _best(lambda: pack.evaluate(data).table)
    figures: dict[str, Any] = {"batch_n": BATCH_N, "in_process_s": round(local_s, 3)}
    with Client(server.address, server.token, timeout=600) as client:
        client.evaluate_batch(data.head(10_000), PACK)  # warm the server's pack cache and the channel
        for name, compression, columns in (("none", "none", None), ("lz4", "lz4", None), ("zstd", "zstd", None),
                                           ("lz4_list", "lz4", LIST_COLUMNS)):
            seconds, (table, up, down) = _best(lambda: _remote_batch(client, data, compression, columns))
            assert table.num_rows == BATCH_N
            if columns is None:
                assert table.column_names == local.columns
            figures.update({f"batch_{name}_s": round(seconds, 3), f"batch_{name}_over_in_process": round(seconds / local_s, 2),
                            f"batch_{name}_mb_up": round(up / 1e6, 1), f"batch_{name}_mb_down": round(down / 1e6, 1)})
    flight_client = flight.FlightClient(f"grpc://127.0.0.1:{flight_port}")
    _flight_batch(flight_client, data.head(10_000), "none")
    for compression in ("none", "lz4"):
        seconds, table = _best(lambda: _flight_batch(flight_client, data, compression))
        assert table.num_rows == BATCH_N
        figures.update({f"flight_{compression}_s": round(seconds, 3),
                        f"flight_{compression}_over_in_process": round(seconds / local_s, 2)})
    flight_client.close()
    figures["mujun_lz4_over_flight_lz4"] = round(figures["batch_lz4_s"] / figures["flight_lz4_s"], 2)
    bulk_results.update(figures)


@pytest.mark.timeout(2400)  # the 1M cycle's run takes minutes: every decision is stored with its facts
def test_export_of_a_published_cycle_to_parquet(server, dataset, bulk_results, tmp_path):
    data = dataset(EXPORT_N)[0].with_columns(pl.lit(EXPORT_REGION).alias("region"))
    with Client(server.address, server.token, timeout=1800) as client:
        started = time.perf_counter()
        client.run_cycle(EXPORT_REGION, EXPORT_YEAR, data)
        run_s = time.perf_counter() - started
        client.freeze_cycle(EXPORT_REGION, EXPORT_YEAR)
        client.publish_cycle(EXPORT_REGION, EXPORT_YEAR)
        started = time.perf_counter()
        for _page in range(10):
            client.list_decisions(EXPORT_REGION, EXPORT_YEAR, page_size=1000)
        listed_s = time.perf_counter() - started
        down = _Counted()
        request = m.export_request(EXPORT_REGION, EXPORT_YEAR, None, "lz4", client.chunk_bytes)
        started = time.perf_counter()
        responses = client.cycles.ExportDecisions(request, timeout=1800, metadata=client.metadata)
        path, summary = m.read_export(down.responses(responses, "chunk"), request, tmp_path / "list.parquet")
        export_s = time.perf_counter() - started
    assert summary.rows == pl.scan_parquet(path).select(pl.len()).collect().item() == EXPORT_N
    store_s = _export_in_process(server.data_dir)
    bulk_results.update(export_n=EXPORT_N, cycle_run_s=round(run_s, 1), export_s=round(export_s, 2),
                        export_store_s=round(store_s, 2), export_store_share=round(store_s / export_s, 2),
                        export_mb_on_wire=round(down.bytes / 1e6, 1),
                        export_parquet_mb=round(path.stat().st_size / 1e6, 1),
                        list_decisions_10k_s=round(listed_s, 2),
                        list_decisions_extrapolated_s=round(listed_s * EXPORT_N / 10_000, 1))

"""Building requests and reading responses, shared by the sync and asyncio clients (no Polars needed).

Tables may be given as a pyarrow Table, a Polars or pandas DataFrame, or a list of dicts; results come
back as pyarrow Tables (``pl.from_arrow(table)`` or ``table.to_pandas()`` where those are installed).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from mujun_wire.arrow import ChunkReader, codec, compression_value, decoded, table_to_chunks
from mujun_wire.records import record_message
from mujun_wire.v1 import common_pb2, cycles_pb2, events_pb2, rule_engine_pb2

__all__ = ["arrow_table", "pack_ref", "records", "read_results", "chunks_to_table", "batch_requests", "run_requests",
           "run_records_request", "several", "export_request", "read_export", "export_metadata"]


def pack_ref(pack_id: str | None = None, *, region: str | None = None, version: str = "", as_of: str = "",
             parameters: dict[str, float] | None = None) -> common_pb2.PackRef:
    if bool(pack_id) == bool(region):
        raise ValueError("give exactly one of pack_id or region")
    ref = common_pb2.PackRef(version=version, as_of=as_of, parameters=parameters or {})
    if pack_id:
        ref.pack_id = pack_id
    else:
        ref.region = region or ""
    return ref


def arrow_table(data: Any) -> pa.Table:
    """A pyarrow Table from any table the caller has, without importing Polars or pandas."""
    if isinstance(data, pa.Table):
        return data
    if hasattr(data, "to_arrow"):  # a Polars DataFrame
        return data.to_arrow()
    if type(data).__module__.split(".")[0] == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    return pa.Table.from_pylist(list(data))


def records(data: Any) -> list[common_pb2.Record]:
    if data is None:
        return []
    rows: Iterable[dict[str, Any]] = data if isinstance(data, (list, tuple)) else arrow_table(data).to_pylist()
    return [record_message(row) for row in rows]


def read_results(responses: Iterator[Any], received: list[bool]) -> tuple[pa.Table, Any]:
    """Decode an EvaluateBatch response stream as it arrives: (result table, summary).

    ``received[0]`` turns True with the first response, so a caller knows whether a retry is safe.
    """
    summary: list[Any] = []

    def chunks() -> Iterator[bytes]:
        for response in responses:
            received[0] = True
            if response.WhichOneof("part") == "result_chunk":
                yield response.result_chunk
            else:
                summary.append(response.summary)

    stream = chunks()
    table = pa.ipc.open_stream(io.BufferedReader(ChunkReader(stream), buffer_size=1 << 20)).read_all()
    for _ in stream:  # the summary follows the last chunk
        pass
    # The server sends few-valued string columns as dictionaries; the local engine's table has strings.
    return decoded(table), summary[0] if summary else None


#: Rows per Parquet row group of a written export (the stream's batches are smaller).
PARQUET_ROW_GROUP = 131_072


def export_request(region: str, year: int, columns: Iterable[str] | None, compression: str | int | None,
                   chunk_bytes: int) -> cycles_pb2.ExportDecisionsRequest:
    return cycles_pb2.ExportDecisionsRequest(region=region, year=year, columns=list(columns or ()),
                                             compression=compression_value(compression),
                                             response_chunk_bytes=chunk_bytes)


def export_metadata(request: cycles_pb2.ExportDecisionsRequest, summary: Any) -> dict[bytes, bytes]:
    """What a written export says about itself: which cycle, in which state, under which pack."""
    values = {"region": request.region, "year": str(request.year)}
    if summary is not None:
        values.update(cycle_state=summary.cycle_state, run_number=str(summary.run_number), pack_id=summary.pack_id,
                      pack_version=summary.pack_version, pack_hash=summary.pack_hash,
                      results_hash=summary.results_hash, rows=str(summary.rows))
    return {f"mujun:{key}".encode(): value.encode() for key, value in values.items()}


def read_export(responses: Iterator[Any], request: cycles_pb2.ExportDecisionsRequest,
                output: str | Path | None) -> tuple[pa.Table | Path, Any]:
    """Decode an ExportDecisions stream as it arrives: (table, summary), or with ``output`` the batches
    written to that Parquet file as they come (memory stays one batch) and (path, summary)."""
    summary: list[Any] = []

    def chunks() -> Iterator[bytes]:
        for response in responses:
            if response.WhichOneof("part") == "chunk":
                yield response.chunk
            else:
                summary.append(response.summary)

    stream = chunks()
    reader = pa.ipc.open_stream(io.BufferedReader(ChunkReader(stream), buffer_size=1 << 20))
    if output is None:
        table = reader.read_all()
        for _ in stream:  # the summary follows the last chunk
            pass
        return table, summary[0] if summary else None
    path = Path(output)
    with pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
        pending: list[pa.RecordBatch] = []
        for batch in itertools.chain(reader, [None]):
            if batch is not None:
                pending.append(batch)
            if pending and (batch is None or sum(b.num_rows for b in pending) >= PARQUET_ROW_GROUP):
                writer.write_table(pa.Table.from_batches(pending), row_group_size=PARQUET_ROW_GROUP)
                pending = []
        for _ in stream:
            pass
        writer.add_key_value_metadata(export_metadata(request, summary[0] if summary else None))
    return path, summary[0] if summary else None


def chunks_to_table(chunks: list[bytes]) -> pa.Table:
    return decoded(pa.ipc.open_stream(pa.py_buffer(b"".join(chunks))).read_all())


def _uploads(message: type, header: Any, data: Any, prior: Any, history: Any,
             chunk_bytes: int, compression: str | None = None) -> Iterator[Any]:
    """The header (declaring each table's rows, which the server checks), then each table's stream
    (its buffers compressed with ``compression``, a pyarrow codec)."""
    tables = {"data": data, "prior": prior, "history": history}
    arrow = {name: arrow_table(table) for name, table in tables.items() if table is not None}
    header.rows.CopyFrom(common_pb2.UploadRows(**{name: table.num_rows for name, table in arrow.items()}))
    yield message(header=header)
    for name, table in arrow.items():
        for chunk in table_to_chunks(table, chunk_bytes, compression):
            yield message(**{f"{name}_chunk": chunk})


def batch_requests(ref: common_pb2.PackRef, data: Any, prior: Any, history: Any, chunk_bytes: int,
                   cycle: int | None = None, prefer: tuple[str, ...] = (), compression: str | int | None = None,
                   columns: Iterable[str] | None = None) -> Iterator[rule_engine_pb2.EvaluateBatchRequest]:
    """The upload; ``compression`` ("none", "lz4", "zstd") codes its buffers and the answer's."""
    header = rule_engine_pb2.BatchHeader(pack=ref, response_chunk_bytes=chunk_bytes, cycle=cycle or 0, prefer=prefer,
                                         compression=compression_value(compression), columns=list(columns or ()))
    return _data_uploads(rule_engine_pb2.EvaluateBatchRequest, header, data, prior, history, chunk_bytes,
                         codec(compression))


def several(data: Any) -> dict[str, Any] | None:
    """Several bureaus' tables by name (a mapping, or a list of tables named "input 1" …, as the
    local ``pack.evaluate``); None for one table (a list of dicts is one table of records)."""
    if isinstance(data, Mapping):
        return {str(name): table for name, table in data.items()}
    if isinstance(data, (list, tuple)) and data and not isinstance(data[0], dict):
        return {f"input {number}": table for number, table in enumerate(data, start=1)}
    return None


def run_requests(region: str, year: int, as_of: str, data: Any, prior: Any, history: Any, chunk_bytes: int,
                 prefer: tuple[str, ...] = (), compression: str | int | None = None
                 ) -> Iterator[cycles_pb2.RunCycleRequest]:
    header = cycles_pb2.RunCycleHeader(region=region, year=year, as_of=as_of, prefer=prefer)
    return _data_uploads(cycles_pb2.RunCycleRequest, header, data, prior, history, chunk_bytes, codec(compression))


def _data_uploads(message: type, header: Any, data: Any, prior: Any, history: Any, chunk_bytes: int,
                  compression: str | None) -> Iterator[Any]:
    sources = several(data)
    if sources is None:
        return _uploads(message, header, data, prior, history, chunk_bytes, compression)
    return _source_uploads(message, header, {name: arrow_table(t) for name, t in sources.items()}, prior, history,
                           chunk_bytes, compression)


def _source_uploads(message: type, header: Any, sources: dict[str, pa.Table], prior: Any, history: Any,
                    chunk_bytes: int, compression: str | None) -> Iterator[Any]:
    """The header naming each source with its rows, each source's stream in order, then prior and history."""
    header.data_sources.extend(common_pb2.DataSource(name=name, rows=t.num_rows) for name, t in sources.items())
    uploads = _uploads(message, header, None, prior, history, chunk_bytes, compression)
    yield next(uploads)  # the header (it declares rows.data = 0: the sources carry the data)
    for index, table in enumerate(sources.values()):
        for chunk in table_to_chunks(table, chunk_bytes, compression):
            yield message(source_chunk=common_pb2.SourceChunk(source=index, chunk=chunk))
    yield from uploads


def run_records_request(region: str, year: int, as_of: str, data: Any, prior: Any,
                        history: list[dict] | None) -> cycles_pb2.RunCycleRecordsRequest:
    return cycles_pb2.RunCycleRecordsRequest(region=region, year=year, as_of=as_of, records=records(data),
                                             prior=records(prior),
                                             history=[common_pb2.HistoryEntry(**h) for h in history or []])


CURSOR_HEADER = "mujun-cursor"  # WatchDecisions' initial metadata: the stream's end when the call started


def watch_request(region: str, tiers: Iterable[str], measures: Iterable[str],
                  cursor: int | None) -> events_pb2.WatchDecisionsRequest:
    """A WatchDecisions request from ``cursor`` (None: from the server's current end)."""
    request = events_pb2.WatchDecisionsRequest(region=region, tiers=list(tiers), measures=list(measures))
    if cursor is not None:
        request.from_cursor = cursor
    return request


def start_cursor(initial_metadata: Any) -> int | None:
    """Where a watch that began "from now on" resumes after a reconnect (the server's end at its start)."""
    start = dict(initial_metadata).get(CURSOR_HEADER)
    return int(start) if start is not None else None

"""Building requests and reading responses, shared by the sync and asyncio clients."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl
import pyarrow as pa

from mujun._proto import common_pb2, cycles_pb2, rule_engine_pb2
from mujun_client import wire

__all__ = ["pack_ref", "records", "table_to_chunks", "chunks_to_frame", "read_results", "batch_requests",
           "run_requests"]


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


def records(data: pl.DataFrame | Iterable[dict[str, Any]] | None) -> list[common_pb2.Record]:
    if data is None:
        return []
    rows = data.iter_rows(named=True) if isinstance(data, pl.DataFrame) else data
    return [wire.record_message(row) for row in rows]


def _arrow(data: pl.DataFrame | pa.Table | Iterable[dict[str, Any]]) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pl.DataFrame):
        return data.to_arrow()
    return pl.DataFrame(list(data)).to_arrow()


def table_to_chunks(data: Any, chunk_bytes: int) -> Iterator[bytes]:
    return wire.table_to_chunks(_arrow(data), chunk_bytes)


def read_results(responses: Iterator[Any], received: list[bool]) -> tuple[pl.DataFrame, Any]:
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
    table = pa.ipc.open_stream(io.BufferedReader(wire.ChunkReader(stream), buffer_size=1 << 20)).read_all()
    for _ in stream:  # the summary follows the last chunk
        pass
    # The server sends few-valued string columns as dictionaries; the local engine's table has strings.
    return wire.to_frame(table), summary[0] if summary else None


def chunks_to_frame(chunks: list[bytes]) -> pl.DataFrame:
    return wire.to_frame(pa.ipc.open_stream(pa.py_buffer(b"".join(chunks))).read_all())


def _uploads(message: type, header: Any, data: Any, prior: Any, history: Any,
             chunk_bytes: int) -> Iterator[Any]:
    """The header (declaring each table's rows, which the server checks), then each table's stream."""
    tables = {"data": data, "prior": prior, "history": history}
    arrow = {name: _arrow(table) for name, table in tables.items() if table is not None}
    header.rows.CopyFrom(common_pb2.UploadRows(**{name: table.num_rows for name, table in arrow.items()}))
    yield message(header=header)
    for name, table in arrow.items():
        for chunk in wire.table_to_chunks(table, chunk_bytes):
            yield message(**{f"{name}_chunk": chunk})


def batch_requests(ref: common_pb2.PackRef, data: Any, prior: Any, history: Any, chunk_bytes: int,
                   cycle: int | None = None) -> Iterator[rule_engine_pb2.EvaluateBatchRequest]:
    header = rule_engine_pb2.BatchHeader(pack=ref, response_chunk_bytes=chunk_bytes, cycle=cycle or 0)
    return _uploads(rule_engine_pb2.EvaluateBatchRequest, header, data, prior, history, chunk_bytes)


def run_requests(region: str, year: int, as_of: str, data: Any, prior: Any, history: Any, chunk_bytes: int
                 ) -> Iterator[cycles_pb2.RunCycleRequest]:
    header = cycles_pb2.RunCycleHeader(region=region, year=year, as_of=as_of)
    return _uploads(cycles_pb2.RunCycleRequest, header, data, prior, history, chunk_bytes)

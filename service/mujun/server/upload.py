"""Uploads of whole tables (EvaluateBatch, Cycles.Run): Arrow IPC decoded while the chunks arrive.

The stream is a header, then the chunks of one IPC stream per table in a fixed order: data, then
optionally prior-year data, then history. Decoding pulls chunks straight from the request iterator,
so a large batch is never held twice in memory and decoding overlaps the transfer.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from mujun.errors import InputError
from mujun_client.wire import ChunkReader, to_frame
from mujun.store.errors import LimitExceeded, RequestInvalid

__all__ = ["Upload", "read_upload"]

_ORDER = ("data_chunk", "prior_chunk", "history_chunk")


@dataclass(frozen=True)
class Upload:
    header: Any
    data: pl.DataFrame
    prior: pl.DataFrame | None
    history: pl.DataFrame | None


class _Parts:
    """The request stream with one part of look-ahead, counting bytes against the limit."""

    def __init__(self, requests: Iterator[Any], max_bytes: int):
        self._requests = iter(requests)
        self._max_bytes = max_bytes
        self._total = 0
        first = next(self._requests, None)
        if first is None or first.WhichOneof("part") != "header":
            raise RequestInvalid("the stream must start with a header", [("header", "send it as the first message")])
        self.header = first.header
        self.pending: tuple[str, bytes] | None = None
        self._rank = 0
        self.advance()

    def advance(self) -> None:
        for request in self._requests:
            part = request.WhichOneof("part")
            if part is None:
                continue
            if part == "header":
                raise RequestInvalid("a second header in the stream", [("header", "send exactly one, first")])
            rank = _ORDER.index(part)
            if rank < self._rank:
                raise RequestInvalid(f"{part} after {_ORDER[self._rank]}: send data, then prior, then history",
                                     [(part, "out of order")])
            self._rank = rank
            chunk = getattr(request, part)
            self._total += len(chunk)
            if self._total > self._max_bytes:
                raise LimitExceeded(f"the upload exceeds {self._max_bytes} bytes; split the table into several "
                                    "batches", location=part)
            self.pending = (part, chunk)
            return
        self.pending = None

    def chunks(self, part: str) -> Iterator[bytes]:
        while self.pending is not None and self.pending[0] == part:
            chunk = self.pending[1]
            self.advance()
            yield chunk


def _read_table(parts: _Parts, part: str, what: str, max_rows: int) -> pl.DataFrame | None:
    if parts.pending is None or parts.pending[0] != part:
        return None
    source = io.BufferedReader(ChunkReader(parts.chunks(part)), buffer_size=1 << 20)
    try:
        reader = pa.ipc.open_stream(source)
        batches, rows = [], 0
        for batch in reader:
            rows += batch.num_rows
            if rows > max_rows:
                raise LimitExceeded(f"{what}: more than {max_rows} rows; the limit per batch is {max_rows}",
                                    location=what)
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise InputError(f"{what}: not a valid Arrow IPC stream ({exc}); encode the table with "
                         "pyarrow.ipc.new_stream and send its bytes in order", location=what) from exc
    for _ in parts.chunks(part):  # bytes after the end-of-stream marker are ignored, not left pending
        pass
    _require_unique_names(table, what)
    return to_frame(table)  # columns dictionary-encoded for the wire come back as strings


def read_upload(requests: Iterator[Any], *, max_bytes: int, max_rows: int) -> Upload:
    parts = _Parts(requests, max_bytes)
    data = _read_table(parts, "data_chunk", "data", max_rows)
    if data is None:
        raise RequestInvalid("the stream carried no data", [("data_chunk", "send the table as Arrow IPC stream bytes")])
    prior = _read_table(parts, "prior_chunk", "prior", max_rows)
    history = _read_table(parts, "history_chunk", "history", max_rows)
    if parts.pending is not None:
        raise RequestInvalid(f"unexpected {parts.pending[0]} at the end of the stream",
                             [(parts.pending[0], "send data, then prior, then history")])
    return Upload(parts.header, data, prior, history)


def _require_unique_names(table: pa.Table, what: str) -> None:
    """Arrow allows a column name twice, a table of records does not: say which, before Polars fails."""
    names = table.column_names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"{what}: column(s) {', '.join(map(repr, repeated))} appear more than once; "
                         "give each column once", location=what)

"""The Arrow IPC wire format of mujun.v1 batches (tables as chunked IPC streams), for client and server.

Tables travel as one IPC stream split into chunks that fit a gRPC message. Few-valued string
columns are sent as dictionaries marked in field metadata, and the receiver casts exactly those
back to strings. The buffers may be compressed with Arrow's own IPC compression (LZ4 frame or ZSTD,
``mujun.v1.Compression``), which every Arrow reader decodes without being told.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["BATCH_ROWS", "CODECS", "DICTIONARY_MARK", "ChunkReader", "codec", "compression_value", "decoded",
           "dictionary_encoded", "few_valued", "parts_to_chunks", "table_to_chunks"]

#: Field metadata of string columns sent dictionary-encoded; the receiver casts exactly those back.
DICTIONARY_MARK = b"mujun:dictionary_encoded"

#: ``mujun.v1.Compression`` values (0 unspecified, 1 none, 2 LZ4, 3 ZSTD) → pyarrow's IPC codec names.
CODECS: dict[int, str | None] = {0: None, 1: None, 2: "lz4", 3: "zstd"}
_NAMES = {"none": 1, "lz4": 2, "zstd": 3}


def codec(compression: int | str | None) -> str | None:
    """pyarrow's codec for a ``mujun.v1.Compression`` value or name ("none", "lz4", "zstd"); ValueError else."""
    if compression is None:
        return None
    if isinstance(compression, str):
        if compression.lower() not in _NAMES:
            raise ValueError(f"compression {compression!r}: give none, lz4 or zstd")
        compression = _NAMES[compression.lower()]
    if compression not in CODECS:
        raise ValueError(f"compression {compression} is not a mujun.v1.Compression value (0 to 3)")
    return CODECS[compression]


def compression_value(compression: int | str | None) -> int:
    """The ``mujun.v1.Compression`` value of a name or value (None: unspecified)."""
    if compression is None:
        return 0
    if isinstance(compression, str):
        codec(compression)
        return _NAMES[compression.lower()]
    codec(compression)
    return compression


def few_valued(table: pa.Table) -> list[str]:
    """String columns with few distinct values in their first 10,000 rows (region, status, tier, pack hash …)."""
    names = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
            sample = column.slice(0, 10_000)
            if pc.count_distinct(sample).as_py() <= max(16, len(sample) // 20):
                names.append(field.name)
    return names


def dictionary_encoded(table: pa.Table, names: list[str] | None = None) -> pa.Table:
    """Few-valued string columns (``names``, default :func:`few_valued`) as marked dictionaries: fewer
    bytes for much less CPU than compression, which matters more than bandwidth on a fast network."""
    chosen = set(few_valued(table) if names is None else names)
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.name in chosen:
            column = pc.dictionary_encode(column.cast(pa.large_string()))
            field = pa.field(field.name, column.type, field.nullable, {DICTIONARY_MARK: b"1"})
        columns.append(column)
        fields.append(field)
    return pa.table(columns, schema=pa.schema(fields))


def decoded(table: pa.Table) -> pa.Table:
    """The marked dictionary columns back as plain strings: the table as the sender had it."""
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if (field.metadata or {}).get(DICTIONARY_MARK):
            column = column.cast(pa.large_string())
            field = pa.field(field.name, column.type, field.nullable)
        columns.append(column)
        fields.append(field)
    return pa.table(columns, schema=pa.schema(fields))


#: Rows per record batch: a batch is encoded, compressed and sent while the next is prepared.
BATCH_ROWS = 65_536


def table_to_chunks(table: pa.Table | Iterable[pa.Table], chunk_bytes: int, compression: str | None = None
                    ) -> Iterator[bytes]:
    """Arrow IPC stream bytes of ``table`` in pieces that fit a gRPC message; ``compression``: a pyarrow
    codec (:func:`codec`). ``table`` may also come as parts with the same columns (a result converted
    slice by slice). Each part is dictionary-encoded, written and sent in turn (the few-valued columns
    are chosen on the first), so the first bytes leave before the whole table is encoded; a part's
    dictionaries replace the previous part's, as the IPC stream format allows."""
    parts = _slices(table) if isinstance(table, pa.Table) else iter(table)
    first = next(parts, None)
    if first is None:
        raise ValueError("a table in no parts has no schema")
    names = few_valued(first)
    encoded = (dictionary_encoded(part, names) for part in itertools.chain([first], parts))
    head = next(encoded)
    return parts_to_chunks(itertools.chain([head], encoded), head.schema, chunk_bytes, compression)


def _slices(table: pa.Table) -> Iterator[pa.Table]:
    yield from (table.slice(offset, BATCH_ROWS) for offset in range(0, max(table.num_rows, 1), BATCH_ROWS))


def parts_to_chunks(parts: Iterable[pa.Table], schema: pa.Schema, chunk_bytes: int,
                    compression: str | None = None) -> Iterator[bytes]:
    """One IPC stream of ``schema`` from tables that come one after another (a table read page by page),
    each encoded and sent as it arrives."""
    buffer = io.BytesIO()

    def drain() -> Iterator[bytes]:
        encoded = memoryview(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        for offset in range(0, len(encoded), chunk_bytes):
            yield bytes(encoded[offset:offset + chunk_bytes])

    with pa.ipc.new_stream(buffer, schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
        for part in parts:
            for batch in part.to_batches(max_chunksize=BATCH_ROWS):
                writer.write_batch(batch)
                if buffer.tell() >= chunk_bytes:
                    yield from drain()
    yield from drain()


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks, so pyarrow decodes while chunks arrive."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._current:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._current = memoryview(chunk)
        size = min(len(target), len(self._current))
        target[:size] = self._current[:size]
        self._current = self._current[size:]
        return size

"""The Arrow IPC wire format of mujun.v1 batches (tables as chunked IPC streams), for client and server.

Tables travel as one IPC stream split into chunks that fit a gRPC message. Few-valued string
columns are sent as dictionaries marked in field metadata, and the receiver casts exactly those
back to strings.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["DICTIONARY_MARK", "ChunkReader", "decoded", "dictionary_encoded", "table_to_chunks"]

#: Field metadata of string columns sent dictionary-encoded; the receiver casts exactly those back.
DICTIONARY_MARK = b"mujun:dictionary_encoded"

def dictionary_encoded(table: pa.Table) -> pa.Table:
    """Few-valued string columns (region, status, tier, pack hash …) as marked dictionaries: fewer
    bytes for much less CPU than compression, which matters more than bandwidth on a fast network."""
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
            sample = column.slice(0, 10_000)
            if pc.count_distinct(sample).as_py() <= max(16, len(sample) // 20):
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


def table_to_chunks(table: pa.Table, chunk_bytes: int) -> Iterator[bytes]:
    """Arrow IPC stream bytes of ``table`` in pieces that fit a gRPC message, encoded batch by batch
    so sending starts before the whole table is encoded."""
    table = dictionary_encoded(table)
    buffer = io.BytesIO()

    def drain() -> Iterator[bytes]:
        encoded = memoryview(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        for offset in range(0, len(encoded), chunk_bytes):
            yield bytes(encoded[offset:offset + chunk_bytes])

    with pa.ipc.new_stream(buffer, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=65_536):
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

"""A cycle's stored cohort: Polars frames to compressed Arrow IPC bytes and back."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

__all__ = ["to_ipc", "from_ipc"]


def to_ipc(frame: pl.DataFrame | None) -> bytes | None:
    if frame is None:
        return None
    table = frame.to_arrow()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes | None) -> pl.DataFrame | None:
    if data is None:
        return None
    frame = pl.from_arrow(pa.ipc.open_stream(pa.py_buffer(data)).read_all())
    assert isinstance(frame, pl.DataFrame)
    return frame

"""A hash of the data a simulation read, so that a report can be traced to what it was computed from.

Only the columns either pack reads count (matched as the readers match headers: width, blanks, case, a
trailing unit), so a file read whole, a file read for the packs' columns and a stored cycle's table hash
the same. Each table is hashed from those columns' names and types and Polars' row hashes (columns in
name order, so a reordered file hashes the same); the tables' hashes in order (not their names: the same data from a file or from a stored cycle hashes
the same) and the cycle make the data hash.
Row hashes are stable for one Polars version; ``DataRef.files`` adds each input file's own SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import polars as pl

from mujun.engine.intake import Source, is_several
from mujun.engine.prepare import to_frame
from mujun.packs.fields import normalise_header, split_unit

__all__ = ["tables_of", "narrowed", "table_hash", "data_hash", "file_sha256"]


def tables_of(data: Any) -> list[tuple[str, pl.DataFrame]]:
    """Every table of an input as the engine takes it: one table, several, a mapping, or Sources."""
    if data is None:
        return []
    if isinstance(data, Source):
        return [(data.name, data.frame)]
    if not is_several(data):
        return [("input", to_frame(data))]
    items = data.items() if isinstance(data, Mapping) else ((None, d) for d in data)
    found = []
    for number, (name, table) in enumerate(items, start=1):
        if isinstance(table, Source):
            found.append((str(name) if name is not None else table.name, table.frame))
        else:
            found.append((str(name) if name is not None else f"input {number}", to_frame(table)))
    return found


def _read(header: str, keep: frozenset[str] | None) -> bool:
    if keep is None:
        return True
    name = normalise_header(header)
    return name in keep or split_unit(name)[0] in keep


def _narrow_frame(frame: pl.DataFrame, keep: frozenset[str]) -> pl.DataFrame:
    kept = [c for c in frame.columns if _read(c, keep)]
    return frame.select(kept) if kept else frame  # none of them: whole, so the engine says what is missing


def narrowed(data: Any, headers: frozenset[str]) -> Any:
    """The data with only the columns the packs read (as ``mujun score`` reads a file): every run of a
    simulation then carries no column it does not need. A table with none of them is kept whole."""
    keep = frozenset(normalise_header(h) for h in headers)
    if data is None:
        return None
    if isinstance(data, Source):
        return Source(data.name, _narrow_frame(data.frame, keep), data.columns or tuple(data.frame.columns))
    if not is_several(data):
        return _narrow_frame(to_frame(data), keep)
    if isinstance(data, Mapping):
        return {name: narrowed(table, headers) for name, table in data.items()}
    return [narrowed(table, headers) for table in data]


def table_hash(frame: pl.DataFrame, headers: frozenset[str] | None = None) -> str:
    """SHA-256 of a table's content; ``headers`` (normalised, as ``Pack.input_headers``) keeps only those columns."""
    digest = hashlib.sha256()
    keep = None if headers is None else frozenset(normalise_header(h) for h in headers)
    columns = sorted(c for c in frame.columns if _read(c, keep))
    for column in columns:
        digest.update(f"{column}\x1f{frame.schema[column]}\x1e".encode())
    if columns and frame.height:
        digest.update(frame.select(columns).hash_rows(seed=0).to_numpy().tobytes())
    digest.update(f"rows={frame.height}".encode())
    return digest.hexdigest()


def data_hash(data: Any, prior: Any = None, history: Any = None, cycle: int | None = None, *,
              headers: frozenset[str] | None = None) -> str:
    """The hash of everything an evaluation reads; ``headers``: the columns of data and prior that count."""
    digest = hashlib.sha256()
    for part, value in (("data", data), ("prior", prior), ("history", history)):
        for _, frame in tables_of(value):
            digest.update(f"{part}\x1f{table_hash(frame, None if part == 'history' else headers)}\x1e".encode())  # not the name: a file or a stored table
    digest.update(f"cycle={cycle}".encode())
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

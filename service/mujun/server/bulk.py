"""Answer stage of bulk calls (EvaluateBatch, Cycles.ExportDecisions): the columns asked for, compressed as asked.

A caller names the result columns it wants (``columns``: exact names or shell patterns such as
``indicator.*``) and the compression of the Arrow IPC buffers (``mujun.v1.Compression``). Nothing
unasked is sent: a million firms' tiers are a few megabytes where the whole result table is 175.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import polars as pl
from mujun_wire.arrow import codec

import mujun
from mujun.store.errors import RequestInvalid

__all__ = ["wire_codec", "chosen_columns", "result_columns"]


def wire_codec(compression: int, field: str = "header.compression") -> str | None:
    """pyarrow's codec for a request's ``mujun.v1.Compression``; an unknown value is refused, not ignored."""
    try:
        return codec(compression)
    except ValueError as exc:
        raise RequestInvalid(f"{field}: {exc}", [(field, "COMPRESSION_NONE, COMPRESSION_LZ4 or COMPRESSION_ZSTD")]) \
            from None


def chosen_columns(available: Sequence[str], asked: Sequence[str], field: str = "header.columns") -> list[str]:
    """The columns of ``available`` that ``asked`` names, in the order asked (each once); every name or
    pattern must match at least one column, so a typing error is refused rather than sent as nothing."""
    chosen: list[str] = []
    missing = []
    for index, name in enumerate(asked):
        matches = [c for c in available if fnmatch.fnmatchcase(c, name)]
        if not matches:
            missing.append((f"{field}[{index}]", f"{name!r} names no column"))
        chosen += [c for c in matches if c not in chosen]
    if missing:
        shown = ", ".join(available[:40]) + (" …" if len(available) > 40 else "")
        raise RequestInvalid(f"{missing[0][0]}: {missing[0][1]}; the columns are {shown}", missing)
    return chosen


def result_columns(result: mujun.Result, asked: Sequence[str]) -> pl.DataFrame:
    """The published table (``asked`` empty), or the asked columns of it and of the run's intermediate
    values (the local ``Result.explain_table``), which are computed only when one of them is asked."""
    table = result.table
    if not asked:
        return table
    published = table.columns
    if all(any(c == name or fnmatch.fnmatchcase(c, name) for c in published) for name in asked):
        return table.select(chosen_columns(published, asked))
    everything = result.explain_table()
    extra = [c for c in everything.columns if c not in published]
    chosen = chosen_columns([*published, *extra], asked)
    return pl.concat([table, everything.select(extra)], how="horizontal").select(chosen)

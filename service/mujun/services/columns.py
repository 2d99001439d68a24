"""The result columns a bulk caller asks for (EvaluateBatch, Cycles.ExportDecisions): names or patterns.

A caller names the columns it wants (exact names or shell patterns such as ``indicator.*``); nothing
unasked is sent, and a name that matches nothing is refused rather than answered with nothing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import polars as pl

import mujun
from mujun.errors import RequestInvalid

__all__ = ["chosen_columns", "result_columns"]


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

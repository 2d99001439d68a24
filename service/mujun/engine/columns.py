"""Column names of the evaluation frame, where each pack name lives, and the lowered expressions the stages read.

One place decides that indicator ``tax_per_mu`` lives in column ``indicator.tax_per_mu``, so the
stages, the explanation and the reference evaluator cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from mujun.lang import Node, names

if TYPE_CHECKING:
    from mujun.engine.compile import Plan

__all__ = ["ROW", "STATUS", "ERROR", "REASON", "VETO", "SCOPE_TIER", "GROUP_N", "OK", "UNRATED",
           "FAILED", "STATUS_TYPE", "status_lit", "indicator_col", "benchmark_col", "item_col", "adjust_col", "measure_col",
           "column_of", "compile_expr", "compile_part", "reads", "with_columns_batched", "join_messages", "scatter",
           "select"]

ROW = "__row"
STATUS, ERROR, REASON = "status", "error", "reason"
VETO, SCOPE_TIER, GROUP_N = "__veto", "__scope_tier", "__group_n"
OK, UNRATED, FAILED = "ok", "unrated", "error"
#: ``status`` inside the run: an enum compares as a small integer (``status == "ok"`` is asked in
#: nearly every stage); the published table has it as text.
STATUS_TYPE = pl.Enum([OK, UNRATED, FAILED])


def status_lit(status: str) -> pl.Expr:
    return pl.lit(status, dtype=STATUS_TYPE)


def indicator_col(name: str) -> str:
    return f"indicator.{name}"


def benchmark_col(name: str) -> str:
    return f"benchmark.{name}"


def item_col(name: str) -> str:
    return f"item.{name}"


def adjust_col(name: str) -> str:
    return f"adjust.{name}"


def measure_col(name: str) -> str:
    return f"measure.{name}"


def column_of(plan: Plan, name: str) -> str | None:
    """The frame column holding a pack name, or None for a parameter (a literal)."""
    if name in plan.numbers:
        return None
    if name in plan.pack.indicators:
        return indicator_col(name)
    if name in plan.pack.benchmarks:
        return benchmark_col(name)
    return name  # fields, item.x, measure.x, score, tier, rank, tier_streak keep their own names


def join_messages(parts: list[pl.Expr]) -> pl.Expr:
    """Per-record messages joined by '; ', or missing when there is none."""
    text = pl.concat_str(parts, separator="; ", ignore_nulls=True) if parts else pl.lit("")
    return pl.when(text != "").then(text)


#: Below this many rows an eager select is the faster road (see ``select``).
SMALL_ROWS = 10_000


def select(frame: pl.DataFrame, *exprs: pl.Expr | str) -> pl.DataFrame:
    """``frame.select(*exprs)`` through the lazy engine, which reads only the columns named.

    An eager select on a frame whose columns are chunked differently (as the streaming engine
    leaves them) first copies every column into one chunk: +300 MB at a million rows. On a small
    frame that copy costs nothing and the eager path plans faster.
    """
    if frame.height < SMALL_ROWS:
        return frame.select(*exprs)
    return frame.lazy().select(*exprs).collect()


def scatter(values: pl.Series, rows: np.ndarray) -> pl.Series:
    """A full-length column holding ``values`` at the rows where the mask ``rows`` is set, else missing.

    One gather from the short series: no join on a row number, no per-row Python.
    """
    index = np.cumsum(rows, dtype=np.int64) - 1
    return values.gather(pl.Series(index, dtype=pl.Int64).set(pl.Series(~rows), None))


def compile_expr(plan: Plan, path: str) -> pl.Expr:
    """The Polars expression for the pack expression at YAML ``path`` (lowered once, by the compiler)."""
    return plan.lowered[path]


def compile_part(plan: Plan, node: Node) -> pl.Expr:
    """The Polars expression of a part of a record expression (a quotient's denominator, a lookup's key)."""
    return plan.parts[node]


def reads(plan: Plan, *paths: str) -> frozenset[str]:
    """The frame columns the pack expressions at ``paths`` read (parameters are literals, not columns)."""
    found = (names(plan.node(p)) for p in paths if plan.expr_at(p) is not None)
    return frozenset(c for n in set().union(*found) if (c := column_of(plan, n)) is not None)


def with_columns_batched(frame: pl.LazyFrame, columns: Iterable[tuple[str, frozenset[str], pl.Expr]]) -> pl.LazyFrame:
    """Queue ``(name, columns it reads, expression)`` in as few ``with_columns`` as the reads allow.

    Each ``with_columns`` is a plan node that carries the whole schema, so one per column costs
    memory and time quadratic in their number (3,000 indicators: 1.5 GB for two rows). A column
    joins the pending batch unless it reads one already in it; declaration order still holds.
    """
    batch: dict[str, pl.Expr] = {}
    for name, read, expr in columns:
        if not read.isdisjoint(batch):
            frame, batch = frame.with_columns(list(batch.values())), {}
        batch[name] = expr
    return frame.with_columns(list(batch.values())) if batch else frame

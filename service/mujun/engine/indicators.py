"""Stage 3 — indicators: per-enterprise yields such as 亩均税收 (tax per mu), one column each.

Indicators are computed in declaration order, so one may read another (a later stage never can
change an earlier one).
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import compile_expr, indicator_col, reads, with_columns_batched
from mujun.engine.compile import Plan

__all__ = ["compute_indicators"]


def compute_indicators(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    paths = {name: f"indicators.{name}" for name in plan.pack.indicators}
    return with_columns_batched(frame, (
        (indicator_col(name), reads(plan, path), compile_expr(plan, path).cast(pl.Float64).alias(indicator_col(name)))
        for name, path in paths.items()))

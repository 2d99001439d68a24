"""Stage 3 — indicators: per-enterprise yields such as 亩均税收 (tax per mu), one column each.

Indicators are computed in declaration order, so one may read another (a later stage never can
change an earlier one).
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import compile_expr, indicator_col
from mujun.engine.compile import Plan

__all__ = ["compute_indicators"]


def compute_indicators(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    for name in plan.pack.indicators:
        frame = frame.with_columns(compile_expr(plan, f"indicators.{name}").cast(pl.Float64).alias(indicator_col(name)))
    return frame

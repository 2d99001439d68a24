"""Stage 8, cohort part — allocations: a fixed budget per group shared by weight (用能指标 from a county budget).

A share is ``budget_units × weight / Σ weights`` in whole ``unit`` s: floored, then the units left
over go one each to the largest fractional remainders (ties: larger weight, then enterprise id).
So a group's allocations add up to ``floor(budget / unit)`` units exactly, never more than the
budget. Shares are rounded to 9 decimals before flooring so that 70.0 computed as 69.99999999999999
still counts as 70 units; the oracle (tests/oracle) does the same.
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import compile_expr
from mujun.engine.compile import Plan
from mujun.engine.tiers import TIER
from mujun.packs.fields import ID_FIELD
from mujun.packs.model import Allocation

__all__ = ["allocate", "DECIMALS"]

DECIMALS = 9


def allocate(frame: pl.DataFrame, plan: Plan, path: str, spec: Allocation) -> pl.Series:
    """The allocation of every row of ``frame``, in row order (None for firms without a tier)."""
    weight = compile_expr(plan, f"{path}.weight")
    budget = compile_expr(plan, f"{path}.budget")
    work = frame.select(
        pl.int_range(pl.len()).alias("__pos"),
        pl.col(ID_FIELD),
        pl.col(TIER),
        *[pl.col(g) for g in spec.group_by],
        pl.when(pl.col(TIER).is_not_null() & (weight > 0)).then(weight).otherwise(0.0).fill_null(0.0).alias("__w"),
        (budget / spec.unit).round(DECIMALS).floor().alias("__units"),
    )
    over = spec.group_by or None
    total = pl.col("__w").sum().over(over) if over else pl.col("__w").sum()
    raw = pl.when(total > 0).then(pl.col("__units") * pl.col("__w") / total).otherwise(0.0)
    work = work.with_columns(raw.alias("__raw")).with_columns(
        pl.col("__raw").round(DECIMALS).floor().alias("__base"),
    ).with_columns(
        (pl.col("__raw") - pl.col("__base")).alias("__frac"),
    )
    left = pl.col("__units") - (pl.col("__base").sum().over(over) if over else pl.col("__base").sum())
    keys = [*(spec.group_by), "__frac", "__w", ID_FIELD]
    ordered = work.with_columns(left.fill_null(0.0).alias("__left")).sort(
        keys, descending=[*(False for _ in spec.group_by), True, True, False], nulls_last=True)
    place = pl.int_range(pl.len()).over(over) if over else pl.int_range(pl.len())
    ordered = ordered.with_columns(
        (pl.col("__base") + pl.when((pl.col("__w") > 0) & (place < pl.col("__left"))).then(1.0).otherwise(0.0))
        .alias("__alloc")
    ).sort("__pos")
    value = pl.when(pl.col(TIER).is_not_null() & pl.col("__units").is_not_null()).then(
        pl.col("__alloc") * spec.unit).otherwise(None)
    return ordered.select(value.alias("__value")).to_series()

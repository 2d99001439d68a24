"""Stage 7 — tiers and ranks: thresholds on the score, quotas within groups, or a tier given as input.

Ranks are positions within the tier group in ``order_by`` order, with the enterprise id as the last
key so that equal firms always rank the same way. A quota's cumulative count for each tier is
``share × n`` rounded by the pack's rule in integer arithmetic (no 0.6 × 5 = 3.0000000000000004).
Vetoed firms take the veto tier and no place in the ranking.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from mujun.engine.adjust import SCORE
from mujun.engine.columns import GROUP_N, OK, ROW, SCOPE_TIER, STATUS, VETO, column_of
from mujun.engine.compile import Plan
from mujun.engine.ranking import rank_within_groups
from mujun.packs.fields import ID_FIELD

__all__ = ["assign_tiers", "GROUP", "TIER", "RANK", "cumulative_cuts", "BASIS_POINTS"]

GROUP, TIER, RANK = "group", "tier", "rank"
BASIS_POINTS = 10_000


def cumulative_cuts(percents: list[float], rounding: str, n: Any) -> list[Any]:
    """Cumulative last rank of each tier for a group of ``n`` firms (an int or an integer column).

    >>> cumulative_cuts([20, 40, 35, 5], "half_up", 7)
    [1, 4, 7, 7]
    >>> cumulative_cuts([20, 40, 35, 5], "floor", 7)
    [1, 4, 6, 7]
    """
    cuts = []
    running = 0
    for percent in percents:
        running += round(percent * 100)  # basis points: exact integers
        scaled = n * running
        if rounding == "floor":
            cuts.append(scaled // BASIS_POINTS)
        elif rounding == "ceil":
            cuts.append(-((-scaled) // BASIS_POINTS))
        else:
            cuts.append((2 * scaled + BASIS_POINTS) // (2 * BASIS_POINTS))
    return cuts


def assign_tiers(frame: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    tiers = plan.pack.tiers
    fields = tiers.group_by if tiers else []
    group_expr = (pl.col(fields[0]) if len(fields) == 1 else pl.concat_str([pl.col(c) for c in fields], separator="/")
                  if fields else pl.lit("all"))
    frame = frame.with_columns(group_expr.alias(GROUP))
    if tiers is None:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias(TIER), pl.lit(None, dtype=pl.UInt32).alias(RANK),
                                  pl.lit(None, dtype=pl.UInt32).alias(GROUP_N))
    eligible = (pl.col(STATUS) == OK) & pl.col(VETO).is_null()
    frame = _rank(frame, plan, eligible)
    if tiers.method == "quota":
        cuts = cumulative_cuts([q.percent for q in tiers.quotas], tiers.rounding, pl.col(GROUP_N).cast(pl.Int64))
        chain: pl.Expr | pl.When | pl.Then = pl
        for quota, cut in zip(tiers.quotas, cuts):
            chain = chain.when(pl.col(RANK) <= cut).then(pl.lit(quota.tier))  # type: ignore[union-attr]
        tier = chain.otherwise(pl.lit(tiers.quotas[-1].tier))  # type: ignore[union-attr]
    elif tiers.method == "thresholds":
        chain = pl
        for threshold in tiers.thresholds:
            cond = pl.lit(True) if threshold.min is None else pl.col(SCORE) >= threshold.min
            chain = chain.when(cond).then(pl.lit(threshold.tier))  # type: ignore[union-attr]
        tier = chain.otherwise(None)  # type: ignore[union-attr]
    else:
        tier = pl.col(TIER)
    return frame.with_columns(
        pl.when(eligible).then(tier)
        .when(pl.col(STATUS) == OK).then(pl.col(VETO))
        .otherwise(pl.col(SCOPE_TIER)).cast(pl.String).alias(TIER)
    )


def _rank(frame: pl.DataFrame, plan: Plan, eligible: pl.Expr) -> pl.DataFrame:
    """Rank only the eligible firms, then scatter ranks back: the input order is never disturbed."""
    keys = [(column_of(plan, name) or name, desc) for name, desc in plan.order_by]
    keys.append((ID_FIELD, False))
    sub = frame.filter(eligible).select([ROW, GROUP, *dict.fromkeys(k for k, _ in keys)])
    rank, size = rank_within_groups(sub, GROUP, keys)
    rows = sub[ROW].to_numpy()
    full_rank = np.zeros(frame.height, dtype=np.uint32)
    full_size = np.zeros(frame.height, dtype=np.uint32)
    full_rank[rows], full_size[rows] = rank, size
    placed = np.zeros(frame.height, dtype=bool)
    placed[rows] = True
    return frame.with_columns(
        pl.when(pl.Series(placed)).then(pl.Series(full_rank)).otherwise(None).alias(RANK),
        pl.when(pl.Series(placed)).then(pl.Series(full_size)).otherwise(None).alias(GROUP_N),
    )

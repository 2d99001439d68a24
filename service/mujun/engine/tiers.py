"""Stage 7 — tiers and ranks: thresholds on the score, quotas within groups, or a tier given as input.

Ranks are positions within the tier group in ``order_by`` order, with the enterprise id as the last
key so that equal firms always rank the same way. A quota's cumulative count for each tier is
``share × n`` rounded by the pack's rule in integer arithmetic (no 0.6 × 5 = 3.0000000000000004).
Vetoed firms take the veto tier and no place in the ranking. A quota records, per ranked firm, the
last rank of every tier in its group as the cuts were applied (:func:`cut_col`), so the explanation
states the cut lines instead of working them out again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from mujun.engine.adjust import SCORE
from mujun.engine.columns import GROUP_N, OK, SCOPE_TIER, STATUS, VETO, column_of, select
from mujun.engine.compile import Plan
from mujun.engine.groups import GroupCoder, Groups, group_codes
from mujun.engine.ranking import rank_within_groups
from mujun.packs.fields import ID_FIELD

__all__ = ["assign_tiers", "GROUP", "TIER", "RANK", "cumulative_cuts", "minimum_counts", "cut_col", "score_bounds",
           "BASIS_POINTS", "FROZEN_BASIS", "FROZEN_CUTS"]

GROUP, TIER, RANK = "group", "tier", "rank"
#: Internal columns of a record scored later against a frozen cycle (:mod:`mujun.engine.frozen`): what it
#: was scored against, and the cut lines it was placed against; the explanation reads them.
FROZEN_BASIS, FROZEN_CUTS = "__frozen.basis", "__frozen.cuts"
BASIS_POINTS = 10_000


def cut_col(tier: str) -> str:
    """Internal column: the last rank of ``tier`` in the firm's group, after ``min_count`` moved the cuts."""
    return f"__quota.{tier}.last_rank"


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


def minimum_counts(cuts: list[Any], least: list[int | None], n: Any) -> list[Any]:
    """Move the cumulative cuts so that each tier with a ``min_count`` holds that many firms (or all
    of a smaller group): a tier takes them from the tail of the tier above, the first tier from the
    head of the one below; the minimums are met in the order of the tiers.

    >>> minimum_counts([1, 4, 7, 7], [None, None, None, 1], 7)   # D 类不少于 1 家
    [1, 4, 6, 7]
    """
    cuts = list(cuts)
    for k, least_k in enumerate(least):
        if not least_k:
            continue
        if k == 0:
            cuts[0] = np.maximum(cuts[0], np.minimum(least_k, n))
            for j in range(1, len(cuts)):
                cuts[j] = np.maximum(cuts[j], cuts[j - 1])
        else:
            cuts[k - 1] = np.minimum(cuts[k - 1], np.maximum(cuts[k] - least_k, 0))
            for j in range(k - 2, -1, -1):
                cuts[j] = np.minimum(cuts[j], cuts[j + 1])
    return [c.tolist() if isinstance(c, np.generic) else c for c in cuts]


def score_bounds(position: np.ndarray, score: np.ndarray, quotas: list) -> np.ndarray:
    """A firm below its quota tier's ``min_score`` goes down a tier until it meets the floor (or is
    last); then one above its tier's ``max_score`` goes up, but not into a tier whose floor it misses.
    Places are not refilled: a floor can leave A with fewer firms than its share."""
    low = np.array([-np.inf if q.min_score is None else q.min_score for q in quotas])
    high = np.array([np.inf if q.max_score is None else q.max_score for q in quotas])
    last = len(quotas) - 1
    for _ in range(last):
        position = position + ((score < low[position]) & (position < last))
    for _ in range(last):
        above = np.maximum(position - 1, 0)
        position = position - ((score > high[position]) & (position > 0) & ~(score < low[above]))
    return position


def assign_tiers(frame: pl.DataFrame, plan: Plan, groups_of: GroupCoder = group_codes) -> pl.LazyFrame:
    """Tier, rank and group size columns, queued on the frame (an eager ``with_columns`` would
    first copy a streaming result's unaligned chunks)."""
    tiers = plan.pack.tiers
    fields = tiers.group_by if tiers else []
    group_expr = (pl.col(fields[0]) if len(fields) == 1 else pl.concat_str([pl.col(c) for c in fields], separator="/")
                  if fields else pl.lit("all"))
    lazy = frame.lazy().with_columns(group_expr.alias(GROUP))
    if tiers is None:
        return lazy.with_columns(pl.lit(None, dtype=pl.String).alias(TIER), pl.lit(None, dtype=pl.UInt32).alias(RANK),
                                  pl.lit(None, dtype=pl.UInt32).alias(GROUP_N))
    # tiers are computed as positions in the pack's tier list (-1: none), then named in one gather
    names = plan.tier_names
    enum = pl.Enum(names)
    status = select(
        frame,
        ((pl.col(STATUS) == OK) & pl.col(VETO).is_null()).alias("eligible"),
        # a vetoed firm takes the veto tier, an unrated one its scope rule's tier, if any
        pl.when(pl.col(STATUS) == OK).then(pl.col(VETO)).otherwise(pl.col(SCOPE_TIER))
        .cast(enum).to_physical().cast(pl.Int64).fill_null(-1).alias("forced"),
    )
    eligible = status["eligible"].to_numpy()
    rank, codes, counts = _rank(frame, plan, eligible, groups_of(frame, fields))
    placed = pl.Series(rank > 0)
    recorded: list[pl.Expr] = []
    if tiers.method == "quota":  # cuts per group, then compared row by row
        cuts = cumulative_cuts([q.percent for q in tiers.quotas], tiers.rounding, counts)
        if any(q.min_count for q in tiers.quotas):
            cuts = minimum_counts(cuts, [q.min_count for q in tiers.quotas], counts)
        position = sum((rank > cut[codes]).astype(np.int64) for cut in cuts[:-1])  # past k cuts: tier k+1
        recorded = [pl.when(placed).then(pl.Series(np.asarray(cut)[codes].astype(np.uint32))).alias(cut_col(q.tier))
                    for q, cut in zip(tiers.quotas, cuts)]
        if any(q.min_score is not None or q.max_score is not None for q in tiers.quotas):
            position = score_bounds(position, frame[SCORE].cast(pl.Float64).fill_null(np.nan).to_numpy(), tiers.quotas)
        index = np.array([names.index(q.tier) for q in tiers.quotas])[position]
    elif tiers.method == "thresholds":
        score = frame[SCORE].cast(pl.Float64).to_numpy()  # missing is NaN: meets no minimum
        index = np.full(frame.height, -1, dtype=np.int64)
        for threshold in reversed(tiers.thresholds):  # the first threshold met wins
            met = True if threshold.min is None else score >= threshold.min
            index = np.where(met, names.index(threshold.tier), index)
    else:
        index = select(frame, pl.col(TIER).cast(enum, strict=False).to_physical().cast(pl.Int64).fill_null(-1)).to_series().to_numpy()
    index = np.where(eligible, index, status["forced"].to_numpy())
    return lazy.with_columns(
        pl.Series(names, dtype=pl.String).gather(pl.Series(index).set(pl.Series(index < 0), None)).alias(TIER),
        pl.when(placed).then(pl.Series(rank)).alias(RANK),
        pl.when(placed).then(pl.Series(counts[codes].astype(np.uint32))).alias(GROUP_N),
        *recorded,
    )


def _rank(frame: pl.DataFrame, plan: Plan, eligible: np.ndarray,
          groups: Groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rank per row, 0 where not ranked; group code per row; ranked firms per group code).

    Only the eligible firms are ranked; the input order is never disturbed. Firms whose group field
    is missing rank together as one group of their own.
    """
    keys = [(column_of(plan, name) or name, desc) for name, desc in plan.order_by]
    keys.append((ID_FIELD, False))
    size = groups.size
    codes = np.where(groups.codes < 0, size, groups.codes)
    rows = np.flatnonzero(eligible)
    sub = select(frame, *dict.fromkeys(k for k, _ in keys)).filter(pl.Series(eligible))
    rank, counts = rank_within_groups(sub, codes[rows], keys)
    full_rank = np.zeros(frame.height, dtype=np.uint32)
    full_rank[rows] = rank
    return full_rank, codes, np.pad(counts, (0, size + 1 - len(counts)))

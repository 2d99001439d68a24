"""Stage 6 — score and adjustments: sum of items, plus bonuses, minus deductions; vetoes force a tier.

Each adjustment records whether it applied (:func:`hit_col`): its condition reads ``score`` as the
item total, which the published score no longer is, so the explanation cannot ask it again.
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import OK, STATUS, VETO, adjust_col, compile_expr, item_col
from mujun.engine.compile import Plan
from mujun.engine.rounding import round_half_away_expr

__all__ = ["score_and_adjust", "hit_col", "SCORE"]

SCORE = "score"


def hit_col(name: str) -> str:
    """Internal column: the adjustment's condition held for a rated firm."""
    return f"__adjust.{name}.hit"


def score_and_adjust(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    total = _left_to_right([pl.col(item_col(name)) for name in plan.pack.items])
    rated = pl.col(STATUS) == OK
    # adjustments read `score` as the item total, before any adjustment
    frame = frame.with_columns(pl.when(rated).then(total).otherwise(None).alias(SCORE))
    adjustments: list[pl.Expr] = []
    veto: pl.Expr | pl.When | pl.Then = pl
    has_veto = False
    for i, adj in enumerate(plan.pack.adjustments):
        hit = rated & compile_expr(plan, f"adjustments.{i}.when").fill_null(False)
        if adj.veto is not None:
            veto = veto.when(hit).then(pl.lit(adj.veto))  # type: ignore[union-attr]
            has_veto = True
        points = compile_expr(plan, f"adjustments.{i}.points")
        adjustments += [pl.when(hit).then(points).when(rated).then(0.0).otherwise(None).alias(adjust_col(adj.name)),
                        pl.when(rated).then(hit).alias(hit_col(adj.name))]
    frame = frame.with_columns([*adjustments,
                                (veto.otherwise(None) if has_veto else pl.lit(None, dtype=pl.String)).alias(VETO)])  # type: ignore[union-attr]
    if adjustments:
        adjusted = pl.col(SCORE) + _left_to_right([pl.col(adjust_col(a.name)) for a in plan.pack.adjustments])
        frame = frame.with_columns(adjusted.alias(SCORE))
    digits = plan.pack.tiers.score_round if plan.pack.tiers else None
    if digits is not None:
        frame = frame.with_columns(round_half_away_expr(pl.col(SCORE), digits))
    return frame


def _left_to_right(columns: list[pl.Expr]) -> pl.Expr:
    """0 + a + b + c …, in declaration order, missing as 0. ``sum_horizontal`` adds in another order,
    which can differ in the last bit: enough to turn a tie the oracle sees into an order."""
    total = pl.lit(0.0)
    for column in columns:
        total = total + column.fill_null(0.0)
    return total

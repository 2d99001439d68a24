"""Stage 2 — scope: who is rated. The first matching rule makes a firm ``unrated`` with its reason."""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import OK, REASON, SCOPE_TIER, STATUS, UNRATED, compile_expr, status_lit
from mujun.engine.compile import Plan

__all__ = ["apply_scope"]


def apply_scope(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    rules = plan.pack.scope
    if not rules:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias(SCOPE_TIER))
    is_ok = pl.col(STATUS) == OK
    reason: pl.Expr | pl.When | pl.Then = pl
    tier: pl.Expr | pl.When | pl.Then = pl
    for i, rule in enumerate(rules):
        hit = is_ok & compile_expr(plan, f"scope.{i}.when").fill_null(False)
        reason = reason.when(hit).then(pl.lit(rule.reason))  # type: ignore[union-attr]
        tier = tier.when(hit).then(pl.lit(rule.tier, dtype=pl.String))  # type: ignore[union-attr]
    reason_expr = reason.otherwise(pl.col(REASON))  # type: ignore[union-attr]
    return frame.with_columns(
        reason_expr.alias(REASON),
        tier.otherwise(None).alias(SCOPE_TIER),  # type: ignore[union-attr]
    ).with_columns(
        pl.when(is_ok & pl.col(REASON).is_not_null()).then(status_lit(UNRATED)).otherwise(pl.col(STATUS)).alias(STATUS)
    )

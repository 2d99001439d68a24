"""Stage 5 — items: each indicator becomes points (ratio to benchmark, min–max, steps or a formula).

Order inside an item: raw points → ``negative`` policy → ``floor`` and ``cap`` → ``missing`` policy
(zero, the cohort's average item score, unrated, error). Statuses change only after every item is
scored, so one item's policy never shifts another item's cohort.
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import (ERROR, FAILED, OK, REASON, STATUS, UNRATED, compile_expr, indicator_col, item_col,
                                  join_messages, status_lit)
from mujun.engine.compile import Plan
from mujun.packs.model import Item

__all__ = ["score_items", "applies", "raw_points"]


def applies(plan: Plan, name: str, item: Item) -> pl.Expr:
    rated = pl.col(STATUS) == OK
    if item.when is None:
        return rated
    return rated & compile_expr(plan, f"items.{name}.when").fill_null(False)


def raw_points(plan: Plan, name: str, item: Item) -> pl.Expr:
    """Points before policies; missing when the indicator or benchmark is missing."""
    path = f"items.{name}"
    weight = compile_expr(plan, f"{path}.weight")
    x = pl.col(indicator_col(item.indicator)) if item.indicator else None
    if item.method == "ratio":
        bm = compile_expr(plan, f"{path}.benchmark")
        ratio = pl.when(bm > 0).then(x / bm).otherwise(None)  # type: ignore[operator]
        if item.cap_ratio is not None:
            ratio = pl.when(ratio > item.cap_ratio).then(pl.lit(item.cap_ratio)).otherwise(ratio)
        return weight * ratio
    if item.method == "minmax":
        cohort = applies(plan, name, item) & x.is_not_null()  # type: ignore[union-attr]
        in_cohort = pl.when(cohort).then(x).otherwise(None)
        low, high = in_cohort.min(), in_cohort.max()
        if item.cohort:
            low, high = low.over(item.cohort), high.over(item.cohort)
        spread = pl.when(high > low).then(20 + 80 * (x - low) / (high - low)).otherwise(100.0)  # type: ignore[operator]
        return pl.when(x.is_not_null()).then(weight * spread / 100)  # type: ignore[union-attr]
    if item.method == "steps":
        chain: pl.Expr | pl.When | pl.Then = pl
        for i, step in enumerate(item.steps):
            points = compile_expr(plan, f"{path}.steps.{i}.points")
            cond = x.is_not_null() if step.min is None else x >= step.min  # type: ignore[union-attr,operator]
            chain = chain.when(cond).then(points)  # type: ignore[union-attr]
        return chain.otherwise(None)  # type: ignore[union-attr]
    return compile_expr(plan, f"{path}.expr")


def score_items(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    columns: list[pl.Expr] = []
    unrated: list[pl.Expr] = []
    failed: list[pl.Expr] = []
    for name, item in plan.pack.items.items():
        path = f"items.{name}"
        applicable = applies(plan, name, item)
        x = pl.col(indicator_col(item.indicator)) if item.indicator else None
        points = raw_points(plan, name, item)
        negative = (x < 0).fill_null(False) if x is not None else pl.lit(False)
        if item.negative == "zero":
            points = pl.when(negative).then(0.0).otherwise(points)
        if item.floor is not None:
            floor = compile_expr(plan, f"{path}.floor")
            points = pl.when(points < floor).then(floor).otherwise(points)
        if item.cap is not None:
            cap = compile_expr(plan, f"{path}.cap")
            points = pl.when(points > cap).then(cap).otherwise(points)
        missing = points.is_null()
        if item.missing == "zero":
            points = points.fill_null(0.0)
        elif item.missing == "cohort_mean":
            mean = pl.when(applicable).then(points).otherwise(None).mean()
            points = points.fill_null(mean.over(item.cohort) if item.cohort else mean)
        label = f"{item.indicator or name}"
        if item.missing in ("unrated", "error"):
            target = unrated if item.missing == "unrated" else failed
            target.append(pl.when(applicable & missing).then(pl.lit(f"{label}: missing, item {name} cannot be scored")))
        if item.negative in ("unrated", "error"):
            target = unrated if item.negative == "unrated" else failed
            target.append(pl.when(applicable & negative).then(pl.lit(f"{label}: negative, item {name} cannot be scored")))
        columns.append(pl.when(applicable).then(points).otherwise(None).cast(pl.Float64).alias(item_col(name)))
    frame = frame.with_columns(columns)
    return _apply_policy_statuses(frame, unrated, failed)


def _apply_policy_statuses(frame: pl.LazyFrame, unrated: list[pl.Expr], failed: list[pl.Expr]) -> pl.LazyFrame:
    """An item policy of ``error`` beats one of ``unrated``; both keep the record in the output."""
    frame = frame.with_columns(join_messages(failed).alias("__item_error"), join_messages(unrated).alias("__item_unrated"))
    fail, unrate = pl.col("__item_error").is_not_null(), pl.col("__item_unrated").is_not_null()
    return frame.with_columns(
        pl.when(fail).then(status_lit(FAILED)).when(unrate).then(status_lit(UNRATED)).otherwise(pl.col(STATUS)).alias(STATUS),
        pl.when(fail).then(pl.col("__item_error")).otherwise(pl.col(ERROR)).alias(ERROR),
        pl.when(~fail & unrate).then(pl.col("__item_unrated")).otherwise(pl.col(REASON)).alias(REASON),
    ).drop("__item_error", "__item_unrated")

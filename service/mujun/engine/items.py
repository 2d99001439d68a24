"""Stage 5 — items: each indicator becomes points (ratio to benchmark, min–max, steps or a formula).

Order inside an item: raw points → ``negative`` policy → ``floor`` and ``cap`` → ``missing`` policy
(zero, the cohort's average item score, unrated, error). Statuses change only after every item is
scored, so one item's policy never shifts another item's cohort. An indicator whose denominator was
0 under policy ``full`` scores the item's full capped points (ratio: weight × cap_ratio, else the
cap; minmax: the weight; steps: the first step).

Each item records what it did (:func:`ratio_col`: the ratio before any cap; :func:`step_col`: the
step a steps item reached; :func:`applied_col`: the rules that changed the points, as a bit mask
over :data:`APPLIED`), so the explanation
states what happened instead of inferring it from ``points == cap``.
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import (ERROR, FAILED, OK, REASON, STATUS, UNRATED, indicator_col, item_col,
                                  join_messages, status_lit)
from mujun.engine.compile import Plan
from mujun.engine.nodes import ItemNode, MinmaxItem, RatioItem, StepsItem
from mujun.engine.schema import applied_col, ratio_col, step_col, zero_col

__all__ = ["score_items", "applies", "raw_points", "ratio_col", "step_col", "applied_col", "applied_codes", "APPLIED"]

#: What an item's ``applied`` column may name, in the order the rules run.
APPLIED = ("zero_denominator_full", "cap_ratio", "negative_zero", "floor", "cap", "missing_zero",
           "missing_cohort_mean", "missing_unrated", "missing_error", "negative_unrated", "negative_error")



def applied_codes(mask: int | None) -> list[str]:
    """The codes of an ``applied`` mask, in the order the rules run."""
    return [code for bit, code in enumerate(APPLIED) if mask and mask & (1 << bit)]


def _mark(condition: pl.Expr, code: str) -> pl.Expr:
    return pl.when(condition).then(pl.lit(1 << APPLIED.index(code), dtype=pl.UInt16)).otherwise(pl.lit(0, dtype=pl.UInt16))


def full_points(item: ItemNode) -> pl.Expr:
    """An item's best points, given to an indicator whose zero denominator means the best result."""
    weight = item.weight.polars
    if isinstance(item, RatioItem):
        return weight * item.cap_ratio if item.cap_ratio is not None else item.cap.polars  # type: ignore[union-attr]
    if isinstance(item, MinmaxItem):
        return weight
    return item.steps[0].points.polars  # type: ignore[union-attr]


def applies(item: ItemNode) -> pl.Expr:
    rated = pl.col(STATUS) == OK
    return rated if item.when is None else rated & item.when.polars.fill_null(False)


def raw_points(item: ItemNode) -> pl.Expr:
    """Points before policies; missing when the indicator or benchmark is missing."""
    weight = item.weight.polars
    x = pl.col(indicator_col(item.indicator)) if item.indicator else None
    if isinstance(item, RatioItem):
        bm = item.benchmark.polars
        ratio = pl.when(bm > 0).then(x / bm).otherwise(None)  # type: ignore[operator]
        if item.cap_ratio is not None:
            ratio = pl.when(ratio > item.cap_ratio).then(pl.lit(item.cap_ratio)).otherwise(ratio)
        return weight * ratio
    if isinstance(item, MinmaxItem):
        cohort = applies(item) & x.is_not_null()  # type: ignore[union-attr]
        in_cohort = pl.when(cohort).then(x).otherwise(None)
        low, high = in_cohort.min(), in_cohort.max()
        if item.cohort:
            low, high = low.over(item.cohort), high.over(item.cohort)
        spread = pl.when(high > low).then(20 + 80 * (x - low) / (high - low)).otherwise(100.0)  # type: ignore[operator]
        return pl.when(x.is_not_null()).then(weight * spread / 100)  # type: ignore[union-attr]
    if isinstance(item, StepsItem):
        chain: pl.Expr | pl.When | pl.Then = pl
        for step, cond in zip(item.steps, _step_conditions(item)):
            chain = chain.when(cond).then(step.points.polars)  # type: ignore[union-attr]
        return chain.otherwise(None)  # type: ignore[union-attr]
    return item.expr.polars


def _step_conditions(item: StepsItem) -> list[pl.Expr]:
    """Per step, whether the indicator reaches it; the first that holds is the step reached."""
    x = pl.col(indicator_col(item.indicator))  # type: ignore[arg-type]
    return [x.is_not_null() if step.min is None else x >= step.min for step in item.steps]


def _step_reached(item: StepsItem) -> pl.Expr:
    chain: pl.Expr | pl.When | pl.Then = pl
    for i, cond in enumerate(_step_conditions(item)):
        chain = chain.when(cond).then(pl.lit(i, dtype=pl.UInt8))  # type: ignore[union-attr]
    return chain.otherwise(None)  # type: ignore[union-attr]


def score_items(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    columns: list[pl.Expr] = []
    unrated: list[pl.Expr] = []
    failed: list[pl.Expr] = []
    for item in plan.items:
        name = item.name
        applicable = applies(item)
        x = pl.col(indicator_col(item.indicator)) if item.indicator else None
        points = raw_points(item)
        steps: list[pl.Expr] = []  # one bit of APPLIED per rule that changed the points
        if item.zero_full:
            full = pl.col(zero_col(item.indicator)).fill_null(False)  # type: ignore[arg-type]
            points = pl.when(full).then(full_points(item)).otherwise(points)
            steps.append(_mark(full, "zero_denominator_full"))
        if isinstance(item, RatioItem):
            bm = item.benchmark.polars
            ratio = pl.when(bm > 0).then(x / bm)  # type: ignore[operator]
            columns.append(pl.when(applicable).then(ratio).cast(pl.Float64).alias(ratio_col(name)))
            if item.cap_ratio is not None:
                steps.append(_mark(ratio > item.cap_ratio, "cap_ratio"))
        if isinstance(item, StepsItem):
            columns.append(pl.when(applicable).then(_step_reached(item)).alias(step_col(name)))
        negative = (x < 0).fill_null(False) if x is not None else pl.lit(False)
        if item.negative == "zero":
            steps.append(_mark(negative, "negative_zero"))
            points = pl.when(negative).then(0.0).otherwise(points)
        if item.floor is not None:
            floor = item.floor.polars
            steps.append(_mark(points < floor, "floor"))
            points = pl.when(points < floor).then(floor).otherwise(points)
        if item.cap is not None:
            cap = item.cap.polars
            steps.append(_mark(points > cap, "cap"))
            points = pl.when(points > cap).then(cap).otherwise(points)
        missing = points.is_null()
        steps.append(_mark(missing, f"missing_{item.missing}"))
        if item.negative in ("unrated", "error"):
            steps.append(_mark(negative, f"negative_{item.negative}"))
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
        columns.append(pl.when(applicable).then(pl.sum_horizontal(steps).cast(pl.UInt16)).alias(applied_col(name)))
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

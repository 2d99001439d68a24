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

from mujun.engine.columns import (ERROR, FAILED, OK, REASON, STATUS, UNRATED, compile_expr, indicator_col, item_col,
                                  join_messages, status_lit)
from mujun.engine.compile import Plan
from mujun.engine.indicators import zero_col
from mujun.packs.model import Item

__all__ = ["score_items", "applies", "raw_points", "ratio_col", "step_col", "applied_col", "applied_codes", "APPLIED"]

#: What an item's ``applied`` column may name, in the order the rules run.
APPLIED = ("zero_denominator_full", "cap_ratio", "negative_zero", "floor", "cap", "missing_zero",
           "missing_cohort_mean", "missing_unrated", "missing_error", "negative_unrated", "negative_error")


def ratio_col(name: str) -> str:
    """Internal column: indicator ÷ benchmark of a ratio item, before ``cap_ratio``."""
    return f"__item.{name}.ratio"


def step_col(name: str) -> str:
    """Internal column: the position in ``steps`` of the step a steps item's indicator reached."""
    return f"__item.{name}.step"


def applied_col(name: str) -> str:
    """Internal column: the rules that changed the item's points, a bit mask over APPLIED (one integer
    per row costs far less than a string of codes at a million rows); :func:`applied_codes` reads it."""
    return f"__item.{name}.applied"


def applied_codes(mask: int | None) -> list[str]:
    """The codes of an ``applied`` mask, in the order the rules run."""
    return [code for bit, code in enumerate(APPLIED) if mask and mask & (1 << bit)]


def _mark(condition: pl.Expr, code: str) -> pl.Expr:
    return pl.when(condition).then(pl.lit(1 << APPLIED.index(code), dtype=pl.UInt16)).otherwise(pl.lit(0, dtype=pl.UInt16))


def full_points(plan: Plan, name: str, item: Item) -> pl.Expr:
    """An item's best points, given to an indicator whose zero denominator means the best result."""
    path = f"items.{name}"
    weight = compile_expr(plan, f"{path}.weight")
    if item.method == "ratio":
        return weight * item.cap_ratio if item.cap_ratio is not None else compile_expr(plan, f"{path}.cap")
    if item.method == "minmax":
        return weight
    return compile_expr(plan, f"{path}.steps.0.points")


def _zero_full(plan: Plan, item: Item) -> pl.Expr | None:
    indicator = plan.pack.indicators.get(item.indicator or "")
    if indicator is None or indicator.zero_denominator != "full":
        return None
    return pl.col(zero_col(item.indicator)).fill_null(False)  # type: ignore[arg-type]


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
        for i, cond in enumerate(_step_conditions(item)):
            chain = chain.when(cond).then(compile_expr(plan, f"{path}.steps.{i}.points"))  # type: ignore[union-attr]
        return chain.otherwise(None)  # type: ignore[union-attr]
    return compile_expr(plan, f"{path}.expr")


def _step_conditions(item: Item) -> list[pl.Expr]:
    """Per step, whether the indicator reaches it; the first that holds is the step reached."""
    x = pl.col(indicator_col(item.indicator))  # type: ignore[arg-type]
    return [x.is_not_null() if step.min is None else x >= step.min for step in item.steps]


def _step_reached(item: Item) -> pl.Expr:
    chain: pl.Expr | pl.When | pl.Then = pl
    for i, cond in enumerate(_step_conditions(item)):
        chain = chain.when(cond).then(pl.lit(i, dtype=pl.UInt8))  # type: ignore[union-attr]
    return chain.otherwise(None)  # type: ignore[union-attr]


def score_items(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    columns: list[pl.Expr] = []
    unrated: list[pl.Expr] = []
    failed: list[pl.Expr] = []
    for name, item in plan.pack.items.items():
        path = f"items.{name}"
        applicable = applies(plan, name, item)
        x = pl.col(indicator_col(item.indicator)) if item.indicator else None
        points = raw_points(plan, name, item)
        steps: list[pl.Expr] = []  # one bit of APPLIED per rule that changed the points
        full = _zero_full(plan, item)
        if full is not None:
            points = pl.when(full).then(full_points(plan, name, item)).otherwise(points)
            steps.append(_mark(full, "zero_denominator_full"))
        if item.method == "ratio":
            bm = compile_expr(plan, f"{path}.benchmark")
            ratio = pl.when(bm > 0).then(x / bm)  # type: ignore[operator]
            columns.append(pl.when(applicable).then(ratio).cast(pl.Float64).alias(ratio_col(name)))
            if item.cap_ratio is not None:
                steps.append(_mark(ratio > item.cap_ratio, "cap_ratio"))
        if item.method == "steps":
            columns.append(pl.when(applicable).then(_step_reached(item)).alias(step_col(name)))
        negative = (x < 0).fill_null(False) if x is not None else pl.lit(False)
        if item.negative == "zero":
            steps.append(_mark(negative, "negative_zero"))
            points = pl.when(negative).then(0.0).otherwise(points)
        if item.floor is not None:
            floor = compile_expr(plan, f"{path}.floor")
            steps.append(_mark(points < floor, "floor"))
            points = pl.when(points < floor).then(floor).otherwise(points)
        if item.cap is not None:
            cap = compile_expr(plan, f"{path}.cap")
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

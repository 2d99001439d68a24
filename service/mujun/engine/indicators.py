"""Stage 3 — indicators: per-enterprise yields such as 亩均税收 (tax per mu), one column each.

Indicators are computed in declaration order, so one may read another (a later stage never can
change an earlier one). An indicator ``a / b`` with a declared ``zero_denominator`` policy records,
per record, that ``b`` was 0 while ``a`` was positive (:func:`zero_col`): the items read it to give
full capped points, the explanation to say why the value is undefined; policy ``error`` makes such
a rated record an error naming the denominator.
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import (ERROR, FAILED, OK, STATUS, indicator_col, join_messages, reads,
                                  status_lit, with_columns_batched)
from mujun.engine.compile import Plan
from mujun.engine.formula import render
from mujun.engine.schema import zero_col
from mujun import lang as ex

__all__ = ["compute_indicators", "zero_col", "denominator_text", "zero_denominator_message"]



def denominator_text(plan: Plan, name: str) -> str:
    node = plan.indicator(name).expr.node
    return render(node.right) if isinstance(node, ex.Binary) else name


def zero_denominator_message(plan: Plan, name: str) -> str:
    label = plan.pack.indicators[name].label
    return f"{denominator_text(plan, name)} is 0: indicator {name}{f' ({label})' if label else ''} is undefined"


def compute_indicators(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    errors: list[pl.Expr] = []
    columns: list[tuple[str, frozenset[str], pl.Expr]] = []
    for indicator in plan.indicators:
        name, read = indicator.name, reads(plan, indicator.source_path)
        columns.append((indicator_col(name), read, indicator.expr.polars.cast(pl.Float64).alias(indicator_col(name))))
        if indicator.numerator is not None and indicator.denominator is not None:
            zero = ((indicator.denominator == 0) & (indicator.numerator > 0)).fill_null(False)
            columns.append((zero_col(name), read, zero.alias(zero_col(name))))
            if indicator.zero_denominator == "error":
                errors.append(pl.when(zero).then(pl.lit(zero_denominator_message(plan, name))))
    frame = with_columns_batched(frame, columns)
    if errors:
        text = join_messages(errors)
        fails = (pl.col(STATUS) == OK) & text.is_not_null()
        frame = frame.with_columns(pl.when(fails).then(status_lit(FAILED)).otherwise(pl.col(STATUS)).alias(STATUS),
                                   pl.when(fails).then(text).otherwise(pl.col(ERROR)).alias(ERROR))
    return frame

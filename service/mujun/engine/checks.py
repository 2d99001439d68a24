"""Stage 9 — checks: a decision with reasons instead of a score (admission standards, land rules).

Each check compares a value with a ``min`` or ``max`` threshold. A record passes when every
applicable check passes; ``failed`` names each failed check with its value and threshold, so the
applicant reads "亩均税收 12 万元/亩 < 15 万元/亩" rather than "rejected". Value and threshold are
compared after rounding both half away from zero to the check's ``digits`` — the precision the
message shows — so 1.1 × 30 = 33.000000000000004 does not fail a firm at 33, and a plot ratio of
1.4999925 (30000 m² on 30 亩) meets 1.5 as the planning permit states it. Numbers in messages are
written without a trailing ``.0``; :func:`round_half_away` and :func:`render_number` are the one
definition both evaluators follow.
"""

from __future__ import annotations

import math

import polars as pl

from mujun.engine.columns import OK, STATUS, compile_expr
from mujun.engine.compile import Plan
from mujun.packs.expr import round_half_away
from mujun.packs.model import Check

__all__ = ["apply_checks", "check_col", "DECISION", "FAILED_REASONS", "render_number", "round_half_away",
           "message_parts"]

DECISION, FAILED_REASONS = "decision", "failed"
_WHOLE_LIMIT = 1e15  # beyond this a float is written as Python/Polars write it, not as an integer


def check_col(name: str) -> str:
    return f"check.{name}"


def render_number(value: float, digits: int) -> str:
    """The text of a number in a message (the row-by-row definition).

    >>> render_number(250.0, 2), render_number(12.345, 2), render_number(0.1 + 0.2, 2)
    ('250', '12.35', '0.3')
    """
    rounded = round_half_away(value, digits)
    if rounded == math.floor(rounded) and abs(rounded) < _WHOLE_LIMIT:
        return str(int(rounded))
    return repr(rounded).replace("e-0", "e-")


def _render_polars(value: pl.Expr, digits: int) -> pl.Expr:
    rounded = value.round(digits, mode="half_away_from_zero")
    whole = (rounded == rounded.floor()) & (rounded.abs() < _WHOLE_LIMIT)
    return pl.when(whole).then(rounded.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(rounded.cast(pl.String))


def message_parts(check: Check) -> tuple[str, str]:
    """(template for a failed comparison, template for missing data); placeholders as in ``Check``."""
    unit = f" {check.unit}" if check.unit else ""
    sign = "<" if check.min is not None else ">"
    default = f"{{label}} {{value}}{unit} {sign} {{threshold}}{unit}"
    return (check.message or default), "{label}: missing value or threshold"


def _label(check: Check) -> str:
    return check.label or check.name


def _fill(template: str, check: Check, value: pl.Expr, threshold: pl.Expr) -> pl.Expr:
    """A Polars string from a template: literal pieces around the rendered value and threshold."""
    pieces: list[pl.Expr] = []
    rest = template.format(label=_label(check), unit=check.unit or "",
                           value="{value}", threshold="{threshold}")
    while rest:
        cut = min((i for i in (rest.find("{value}"), rest.find("{threshold}")) if i >= 0), default=-1)
        if cut < 0:
            pieces.append(pl.lit(rest))
            break
        pieces.append(pl.lit(rest[:cut]))
        if rest.startswith("{value}", cut):
            pieces.append(value)
            rest = rest[cut + len("{value}"):]
        else:
            pieces.append(threshold)
            rest = rest[cut + len("{threshold}"):]
    return pl.concat_str(pieces)


def apply_checks(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    checks = plan.pack.checks
    if not checks:
        return frame
    rated = pl.col(STATUS) == OK
    columns: list[pl.Expr] = []
    reasons: list[pl.Expr] = []
    for i, check in enumerate(checks):
        path = f"checks.{i}"
        value = compile_expr(plan, f"{path}.value")
        bound = "min" if check.min is not None else "max"
        threshold = compile_expr(plan, f"{path}.{bound}")
        applies = rated & (compile_expr(plan, f"{path}.when").fill_null(False) if check.when is not None else True)
        v, t = (x.round(check.digits, mode="half_away_from_zero") for x in (value, threshold))
        holds = (v >= t) if bound == "min" else (v <= t)
        passed = holds.fill_null(False)
        columns.append(pl.when(applies).then(passed).otherwise(None).alias(check_col(check.name)))
        failed_text, missing_text = message_parts(check)
        missing = value.is_null() | threshold.is_null()
        text = pl.when(missing).then(pl.lit(missing_text.format(label=_label(check)))).otherwise(
            _fill(failed_text, check, _render_polars(value, check.digits), _render_polars(threshold, check.digits)))
        reasons.append(pl.when(applies & ~passed).then(text))
    frame = frame.with_columns(columns)
    joined = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    decision = plan.pack.decision
    return frame.with_columns(
        pl.when(rated).then(pl.when(joined == "").then(None).otherwise(joined)).alias(FAILED_REASONS),
    ).with_columns(
        pl.when(rated).then(pl.when(pl.col(FAILED_REASONS).is_null()).then(pl.lit(decision.pass_))
                            .otherwise(pl.lit(decision.fail))).alias(DECISION),
    )

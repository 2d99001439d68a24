"""Stage 9 — checks: a decision with reasons instead of a score (admission standards, land rules).

Each check compares a value with a ``min`` or ``max`` threshold. A record passes when every
applicable check passes; ``failed`` names each failed check with its value and threshold, so the
applicant reads "亩均税收 12 万元/亩 < 15 万元/亩" rather than "rejected".

Values are compared as computed: "不低于 15 万元" is not met by 14.9958. Only the binary noise of
decimal arithmetic is forgiven (a relative :data:`TOLERANCE`), so 1.1 × 30 = 33.000000000000004
still counts as 33. A pack that declares a check's reporting ``precision`` compares at it, as the
source does. A message prints ``digits`` decimals, or as many more as it takes for a failing value
not to read as meeting its bound ("14.996 < 15", never "15 < 15"). The compared value and
threshold are recorded per record for the explanation. :func:`round_half_away`,
:func:`render_number`, :func:`holds` and :func:`message_digits` are the row-by-row definitions.
"""

from __future__ import annotations

import math

import polars as pl

from mujun.engine.columns import OK, STATUS, compile_expr
from mujun.engine.compile import Plan
from mujun.engine.rounding import round_half_away, round_half_away_expr
from mujun.packs.model import Check

__all__ = ["apply_checks", "check_col", "compared_col", "DECISION", "FAILED_REASONS", "render_number",
           "round_half_away", "message_parts", "holds", "message_digits", "TOLERANCE"]

DECISION, FAILED_REASONS = "decision", "failed"
_WHOLE_LIMIT = 1e15  # beyond this a float is written as Python/Polars write it, not as an integer
#: Relative difference below which value and threshold are equal: binary noise, not a shortfall.
TOLERANCE = 1e-9
_EXTRA_DIGITS = 8  # at most this many more decimals in a message before giving up on showing the gap


def check_col(name: str) -> str:
    return f"check.{name}"


def compared_col(name: str, part: str) -> str:
    """Internal column of what a check compared: ``part`` is value or threshold (rounded if declared),
    or raw: the value before a declared precision rounded it."""
    return f"__check.{name}.{part}"


def holds(check: Check, value: float, threshold: float, rounded: bool = False) -> bool:
    """Whether ``value`` meets ``threshold`` (row-by-row; ``rounded``: both already at a precision).

    >>> c = Check(name="t", value="x", min=15)
    >>> holds(c, 14.9958, 15), holds(c, 33.000000000000004, 33), holds(c, 15, 15)
    (False, True, True)
    """
    slack = 0.0 if rounded else TOLERANCE * max(abs(value), abs(threshold))
    if check.min is not None:
        return value > threshold + slack if check.strict else value >= threshold - slack
    return value < threshold - slack if check.strict else value <= threshold + slack


def message_digits(check: Check, value: float, threshold: float) -> int:
    """Decimals for a failed check's message: ``digits``, or more until the numbers show the failure.

    >>> message_digits(Check(name="t", value="x", min=15), 14.9958, 15)
    3
    """
    base = check.precision if check.precision is not None else check.digits
    for digits in range(base, base + _EXTRA_DIGITS + 1):
        if not holds(check, round_half_away(value, digits), round_half_away(threshold, digits), rounded=True):
            return digits
    return base + _EXTRA_DIGITS


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
    rounded = round_half_away_expr(value, digits)
    whole = (rounded == rounded.floor()) & (rounded.abs() < _WHOLE_LIMIT)
    return pl.when(whole).then(rounded.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(rounded.cast(pl.String))


def message_parts(check: Check) -> tuple[str, str]:
    """(template for a failed comparison, template for missing data); placeholders as in ``Check``."""
    unit = f" {check.unit}" if check.unit else ""
    if check.min is not None:
        sign = "≤" if check.strict else "<"
    else:
        sign = "≥" if check.strict else ">"
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


def _holds_polars(check: Check, v: pl.Expr, t: pl.Expr, rounded: bool) -> pl.Expr:
    slack = pl.lit(0.0) if rounded else TOLERANCE * pl.max_horizontal(v.abs(), t.abs())
    if check.min is not None:
        return v > t + slack if check.strict else v >= t - slack
    return v < t - slack if check.strict else v <= t + slack


def _render_failed(check: Check, value: pl.Expr, threshold: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Value and threshold texts at the first precision at which the failure shows (``message_digits``)."""
    base = check.precision if check.precision is not None else check.digits
    value_text: pl.Expr | pl.When | pl.Then = pl
    threshold_text: pl.Expr | pl.When | pl.Then = pl
    for digits in range(base, base + _EXTRA_DIGITS):
        v, t = (round_half_away_expr(x, digits) for x in (value, threshold))
        shows = ~_holds_polars(check, v, t, rounded=True)
        value_text = value_text.when(shows).then(_render_polars(value, digits))  # type: ignore[union-attr]
        threshold_text = threshold_text.when(shows).then(_render_polars(threshold, digits))  # type: ignore[union-attr]
    last = base + _EXTRA_DIGITS
    return (value_text.otherwise(_render_polars(value, last)),  # type: ignore[union-attr]
            threshold_text.otherwise(_render_polars(threshold, last)))  # type: ignore[union-attr]


def apply_checks(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    checks = plan.pack.checks
    if not checks:
        return frame
    rated = pl.col(STATUS) == OK
    columns: list[pl.Expr] = []
    reasons: list[pl.Expr] = []
    for i, check in enumerate(checks):
        path = f"checks.{i}"
        value = compile_expr(plan, f"{path}.value").cast(pl.Float64)
        bound = "min" if check.min is not None else "max"
        threshold = compile_expr(plan, f"{path}.{bound}").cast(pl.Float64)
        applies = rated & (compile_expr(plan, f"{path}.when").fill_null(False) if check.when is not None else True)
        if check.precision is not None:
            columns.append(pl.when(applies).then(value).alias(compared_col(check.name, "raw")))
            value, threshold = (round_half_away_expr(x, check.precision) for x in (value, threshold))
        passed = _holds_polars(check, value, threshold, rounded=check.precision is not None).fill_null(False)
        columns += [pl.when(applies).then(passed).otherwise(None).alias(check_col(check.name)),
                    pl.when(applies).then(value).alias(compared_col(check.name, "value")),
                    pl.when(applies).then(threshold).alias(compared_col(check.name, "threshold"))]
        failed_text, missing_text = message_parts(check)
        missing = value.is_null() | threshold.is_null()
        text = pl.when(missing).then(pl.lit(missing_text.format(label=_label(check)))).otherwise(
            _fill(failed_text, check, *_render_failed(check, value, threshold)))
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

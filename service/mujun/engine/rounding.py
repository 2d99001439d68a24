"""Rounding half away from zero (四舍五入) of the decimal a float reads as, row by row and vectorized.

A float holds the binary value nearest its decimal: 1.005 is 1.00499999999999989…, so scaling it
(1.005 × 100 = 100.49999999999999) and rounding gives 1.00 where the bureau's 1.005 rounds to 1.01.
Here the halfway point of the two candidates is itself taken as the float nearest it, and a value
at or above that float goes up: 1.005, 0.285 and 2.675 round as written. Scores (``score_round``)
and checks at a declared ``precision`` round this way.
"""

from __future__ import annotations

import math

import polars as pl

__all__ = ["round_half_away", "round_half_away_expr"]

_EXACT = 2.0**52  # from here a float has no decimals left to round


def round_half_away(value: float, digits: int) -> float:
    """The row-by-row definition.

    >>> round_half_away(1.005, 2), round_half_away(0.285, 2), round_half_away(-2.5, 0), round_half_away(14.9958, 2)
    (1.01, 0.29, -3.0, 15.0)
    """
    scale = 10.0**digits
    magnitude = abs(value) * scale
    if not math.isfinite(magnitude) or magnitude >= _EXACT:
        return value
    low = math.floor(magnitude)
    up = abs(value) >= (low + 0.5) / scale  # the halfway point, as the float nearest it
    return math.copysign((low + up) / scale, value)


def round_half_away_expr(value: pl.Expr, digits: int) -> pl.Expr:
    """The same rounding as a Polars expression (missing stays missing)."""
    scale = 10.0**digits
    # Polars divides by a constant as a multiplication by its reciprocal (an ulp off: 1565.34 became
    # 1565.3400000000001); dividing by a column of the scale gives the exact quotient
    exact_scale = value * 0.0 + scale
    magnitude = value.abs() * scale
    low = magnitude.floor()
    up = (value.abs() >= (low + 0.5) / exact_scale).cast(pl.Float64)
    rounded = (low + up) * pl.when(value < 0).then(-1.0).otherwise(1.0) / exact_scale
    return pl.when(magnitude.is_finite() & (magnitude < _EXACT)).then(rounded).otherwise(value)

"""Rounding half away from zero acts on the decimal a figure reads as: 1.005 at two decimals is 1.01.

Found by the oracle (tests/oracle), which rounds the decimal as written: the engine rounded the binary
value (1.00499999999999989…) and told a firm declaring 1.005 against "≥ 1.01 at two decimals" it failed
with "1 < 1.01".
"""

from __future__ import annotations

import polars as pl
import pytest

import mujun
from mujun.engine.rounding import round_half_away, round_half_away_expr
from oracle import reference_evaluate
from test_reference_agrees import assert_agree

HALVES = [(1.005, 2, 1.01), (0.285, 2, 0.29), (1.015, 2, 1.02), (2.675, 2, 2.68), (-1.005, 2, -1.01),
          (2.5, 0, 3.0), (-2.5, 0, -3.0), (14.9958, 2, 15.0), (1.00499, 2, 1.0), (0.1 + 0.2, 1, 0.3)]


@pytest.mark.parametrize(("value", "digits", "rounded"), HALVES)
def test_a_decimal_half_rounds_away_from_zero_row_by_row_and_vectorized(value, digits, rounded) -> None:
    assert round_half_away(value, digits) == rounded
    assert pl.select(round_half_away_expr(pl.lit(value, dtype=pl.Float64), digits)).item() == rounded


PACK = """id: t
version: '1'
title: t
source: t
items:
  s: {method: expr, expr: tax_wan}
tiers: {method: thresholds, score_round: 2, thresholds: [{tier: A, min: 1.01}, {tier: B}]}
checks:
  - {name: tax, value: tax_wan, min: 1.01, precision: 2}
"""


def test_a_declared_half_meets_a_bound_at_the_declared_precision_and_scores_as_rounded() -> None:
    pack = mujun.load_pack_text(PACK)
    rows = [{"enterprise_id": f"E{i}", "region": "R", "land_mu": 1.0, "tax_wan": v} for i, v in enumerate([1.005, 0.285])]
    result = pack.evaluate(rows)
    assert result.table["score"].to_list() == [1.01, 0.29]
    assert result.table["tier"].to_list() == ["A", "B"]
    assert result.table["check.tax"].to_list() == [True, False]
    assert result.table["failed"].to_list() == [None, "tax 0.29 < 1.01"]
    assert_agree(pack, result, reference_evaluate(pack, rows))

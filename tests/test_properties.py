"""Properties that must hold for any data: monotone scores, quota shares, nothing lost."""

from __future__ import annotations

from collections import Counter

import pytest

import polars as pl
from hypothesis import assume, given
from hypothesis import strategies as st

import mujun
from records import records

HUAIAN = mujun.load_pack("js-huaian-2024")
HUANGYAN = mujun.load_pack("zj-huangyan-2022")


@given(rows=records(min_size=2), prior=records(min_size=5), which=st.integers(0, 100),
       extra=st.floats(min_value=0.01, max_value=1e4))
def test_raising_tax_never_lowers_a_ratio_pack_score(rows, prior, which, extra) -> None:
    target = rows[which % len(rows)]
    assume(isinstance(target["tax_wan"], float))
    for pack in (HUAIAN, HUANGYAN):
        before = pack.evaluate(rows, prior=prior).table
        richer = [dict(r, tax_wan=r["tax_wan"] + extra) if r is target else r for r in rows]
        after = pack.evaluate(richer, prior=prior).table
        position = rows.index(target)
        old, new = before["score"][position], after["score"][position]
        assert (old is None) == (new is None)
        if old is not None:
            assert new >= old - 1e-9, (pack.id, old, new)


def _cumulative(n: int, tenths: int, rounding: str) -> int:
    """How many firms of ``n`` the tiers down to this one hold: n × (cumulative share in tenths of a
    percent) / 1000, rounded by the pack's rule — whole-number arithmetic, written here on its own."""
    if rounding == "floor":
        return n * tenths // 1000
    if rounding == "ceil":
        return -(-n * tenths // 1000)
    return (2 * n * tenths + 1000) // 2000  # half up: a half goes to the better tier


def expected_counts(n: int, percents: list[float], rounding: str) -> list[int]:
    cumulative = [_cumulative(n, round(sum(percents[: k + 1]) * 10), rounding) for k in range(len(percents))]
    return [c - b for c, b in zip(cumulative, [0, *cumulative[:-1]])]


@pytest.mark.parametrize(("n", "percents", "rounding", "counts"), [
    (7, [20, 40, 35, 5], "half_up", [1, 3, 3, 0]),  # 1.4 → 1, 4.2 → 4, 6.65 → 7, 7
    (7, [20, 40, 35, 5], "floor", [1, 3, 2, 1]),
    (7, [20, 40, 35, 5], "ceil", [2, 3, 2, 0]),
    (5, [10, 50, 40], "half_up", [1, 2, 2]),  # 0.5 → 1 (a half goes up), 3.0 → 3 exactly, never 3.0000000000000004 → 4
    (8, [12.5, 37.5, 50], "floor", [1, 3, 4]),
])
def test_expected_quota_counts_are_the_hand_computed_ones(n, percents, rounding, counts) -> None:
    assert expected_counts(n, percents, rounding) == counts


def _quota_pack(rounding: str) -> mujun.Pack:
    return mujun.load_pack_text(
        "id: t\nversion: '1'\ntitle: t\nsource: t\nitems:\n  tax: {method: expr, expr: 'tax_wan / land_mu'}\n"
        f"tiers:\n  method: quota\n  group_by: [region]\n  rounding: {rounding}\n  quotas:\n"
        "    - {tier: A, percent: 12.5}\n    - {tier: B, percent: 37.5}\n    - {tier: C, percent: 42.5}\n"
        "    - {tier: D, percent: 7.5}\n")


QUOTA_PACKS = [HUAIAN, *(_quota_pack(r) for r in ("half_up", "floor", "ceil"))]


@pytest.mark.parametrize("pack", QUOTA_PACKS, ids=lambda p: f"{p.id}-{p.model.tiers.rounding}")
@given(rows=records(min_size=1, max_size=60))
def test_quota_tiers_match_the_declared_shares_in_every_group(pack: mujun.Pack, rows) -> None:
    table = pack.evaluate(rows).table
    quotas, rounding = pack.model.tiers.quotas, pack.model.tiers.rounding
    ranked = table.filter(pl.col("rank").is_not_null())
    for (group,), members in ranked.group_by(["group"]):
        n = members.height
        expected = dict(zip((q.tier for q in quotas), expected_counts(n, [q.percent for q in quotas], rounding)))
        counts = Counter(members["tier"].to_list())
        assert {t: counts.get(t, 0) for t in expected} == expected, (group, n)
        assert sorted(members["rank"].to_list()) == list(range(1, n + 1))


@given(rows=records(min_size=0, max_size=60))
def test_every_input_row_appears_exactly_once(rows) -> None:
    for pack in (HUAIAN, HUANGYAN):
        table = pack.evaluate(rows).table
        assert table["enterprise_id"].to_list() == [r["enterprise_id"] for r in rows]
        assert set(table["status"].to_list()) <= {"ok", "unrated", "error"}
        assert table.filter(pl.col("status") == "error")["error"].null_count() == 0


@given(rows=records(min_size=1, max_size=30))
def test_every_result_names_its_pack_and_hash(rows) -> None:
    table = HUAIAN.evaluate(rows).table
    assert set(table["pack_hash"].to_list()) == {HUAIAN.hash}
    assert set(table["pack_id"].to_list()) == {"js-huaian-2024"}

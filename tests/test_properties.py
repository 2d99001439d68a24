"""Properties that must hold for any data: monotone scores, quota shares, nothing lost."""

from __future__ import annotations

from collections import Counter

import polars as pl
from hypothesis import assume, given
from hypothesis import strategies as st

import mujun
from mujun.engine.tiers import cumulative_cuts
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


@given(rows=records(min_size=1, max_size=60))
def test_quota_tiers_match_the_declared_shares_in_every_group(rows) -> None:
    table = HUAIAN.evaluate(rows).table
    quotas = HUAIAN.model.tiers.quotas
    ranked = table.filter(pl.col("rank").is_not_null())
    for (group,), members in ranked.group_by(["group"]):
        n = members.height
        cuts = cumulative_cuts([q.percent for q in quotas], "half_up", n)
        expected = {q.tier: cut - previous for q, cut, previous in zip(quotas, cuts, [0, *cuts[:-1]])}
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

"""Differential test: the vectorized plan and the row-by-row reference evaluator agree on random data."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mujun
from mujun.engine.lookups import lookup_col, lookup_sites
from mujun.engine.reference import reference_evaluate
from records import extra_fields, history, records
from conftest import FIXTURES, RULES

# The fixture packs use every part of the language and get the full example budget; the bundled packs
# (two dozen, each also pinned by hand-computed golden cases) get a smaller one so the suite stays fast.
FIXTURE_PACKS = sorted(str(p) for p in (FIXTURES / "packs").glob("*.yaml"))
BUNDLED_PACKS = sorted(str(p) for p in RULES.glob("*/pack.yaml"))
BUNDLED_EXAMPLES = 12


def assert_same(pack: mujun.Pack, table, reference) -> None:
    columns = ["status", "tier", "rank", "score"] + [c for c in table.columns if c.startswith(("item.", "measure.", "check."))]
    columns += [c for c in ("decision", "failed") if c in table.columns]
    assert table.height == len(reference)
    for row, env in zip(table.iter_rows(named=True), reference):
        for column in columns:
            got, want = row[column], env.get(column)
            if isinstance(got, float) or isinstance(want, float):
                assert (got is None) == (want is None), (row["enterprise_id"], column, got, want)
                if got is not None and not (math.isnan(got) and math.isnan(want)):
                    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (row["enterprise_id"], column, got, want)
            else:
                assert got == want, (row["enterprise_id"], column, got, want)


def _agree(pack_path: str, data: st.DataObject) -> None:
    pack = mujun.load_pack(pack_path)
    current = data.draw(records())
    prior = data.draw(st.one_of(st.none(), records(max_size=20)))
    past = data.draw(history([r["enterprise_id"] for r in current], pack.plan.tier_names or ["A"]))
    extras = data.draw(st.lists(extra_fields(), min_size=len(current), max_size=len(current)))
    current = [{**row, **extra} for row, extra in zip(current, extras)]
    result = pack.evaluate(current, prior=prior, history=past, cycle=2024)
    reference = reference_evaluate(pack.plan, current, prior, past, cycle=2024)
    assert_same(pack, result.table, reference)
    assert_same_unknown_keys(pack, result, reference)


def assert_same_unknown_keys(pack: mujun.Pack, result, reference) -> None:
    """Every lookup of a key its table lacks is recorded alike: (where, which table, which key) per record."""
    sites = lookup_sites(pack.plan)
    frame = result.explain_table()
    for position, env in enumerate(reference):
        got = sorted((s.path, s.table, frame[lookup_col(s)][position]) for s in sites
                     if frame[lookup_col(s)][position] is not None)
        assert got == env["unknown_lookups"], (env.get("enterprise_id"), got, env["unknown_lookups"])


@pytest.mark.parametrize("pack_path", FIXTURE_PACKS, ids=lambda p: p.split("/")[-1])
@given(data=st.data())
def test_vectorized_plan_matches_reference(pack_path: str, data: st.DataObject) -> None:
    _agree(pack_path, data)


@pytest.mark.parametrize("pack_path", BUNDLED_PACKS, ids=lambda p: p.split("/")[-2])
@settings(max_examples=BUNDLED_EXAMPLES)
@given(data=st.data())
def test_bundled_pack_matches_reference(pack_path: str, data: st.DataObject) -> None:
    _agree(pack_path, data)


@st.composite
def tied_records(draw: st.DrawFn) -> list[dict]:
    """Few distinct values: many firms tie on score and on some tie-break keys."""
    count = draw(st.integers(min_value=2, max_value=60))
    small = st.sampled_from([1.0, 2.0, 4.0])
    return [{"enterprise_id": f"T{draw(st.integers(0, 10**6)):07d}-{i}", "region": draw(st.sampled_from(["1", "2"])),
             "land_mu": draw(small), "tax_wan": draw(small), "revenue_wan": draw(small), "energy_tce": draw(small),
             "years_in_production": 5, "flags": []} for i in range(count)]


@given(rows=tied_records())
def test_ties_are_broken_exactly_as_the_reference_breaks_them(rows) -> None:
    pack = mujun.load_pack("js-huaian-2024")
    assert_same(pack, pack.evaluate(rows).table, reference_evaluate(pack.plan, rows))


def test_the_score_adds_items_left_to_right_as_the_reference_does() -> None:
    """45 + 20.555… + 9.722… is 75.27777777777779 left to right and …777 the other way: a tie either side."""
    pack = mujun.load_pack_text("id: t\nversion: '1'\ntitle: t\nsource: t\nitems:\n"
                                "  a: {method: expr, expr: '45'}\n  b: {method: expr, expr: '20.555555555555557'}\n"
                                "  c: {method: expr, expr: '9.722222222222223'}\n")
    rows = [{"enterprise_id": "E1", "region": "R", "land_mu": 1, "tax_wan": 1}]
    assert pack.evaluate(rows).table["score"][0] == 45 + 20.555555555555557 + 9.722222222222223
    assert reference_evaluate(pack.plan, rows)[0]["score"] == pack.evaluate(rows).table["score"][0]

"""The mechanisms of issue 12: ratio-of-sums benchmarks, parks, a firm's earlier cycles, hybrid quotas,
derived groups. Behaviour by hand-computed examples; parks and several earlier cycles also against the
row-by-row reference on random data (the firm columns are covered by test_reference_agrees.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mujun
from mujun.cases import load_cases, run_case
from conftest import FIXTURES, RULES
from oracle import reference_evaluate, reference_parks
from records import extra_fields, history, records
from test_reference_agrees import assert_same

MECHANISMS = FIXTURES / "packs" / "mechanisms.yaml"
HEAD = "id: t\nversion: '1'\ntitle: t\nsource: t\n"


def _pack(body: str) -> mujun.Pack:
    return mujun.load_pack_text(HEAD + body)


def _firm(ident: str, **values) -> dict:
    return {"enterprise_id": ident, "region": "R", "industry": "13", "land_mu": 10.0, "tax_wan": 10.0, **values}


# ---------------------------------------------------------------- aggregate benchmarks

READINGS = """
indicators:
  tax_per_mu: tax_wan / land_mu
benchmarks:
  sums: {stat: mean, of: tax_per_mu, reading: ratio_of_sums}
  ratios: {stat: mean, of: tax_per_mu, reading: mean_of_ratios}
  plain: {stat: mean, of: tax_per_mu}
"""


def test_ratio_of_sums_divides_the_cohort_totals_while_the_mean_averages_the_firm_ratios() -> None:
    # (100 + 60) / (10 + 30) = 4; mean of 10 and 2 = 6
    table = _pack(READINGS).evaluate([_firm("1", tax_wan=100.0), _firm("2", land_mu=30.0, tax_wan=60.0)]).table
    assert table["benchmark.sums"].to_list() == [4.0, 4.0]
    assert table["benchmark.ratios"].to_list() == [6.0, 6.0] == table["benchmark.plain"].to_list()


def test_ratio_of_sums_leaves_out_a_firm_whose_ratio_is_undefined() -> None:
    # firm 3 has no tax: it is in neither sum. 100 / 10 = 10
    rows = [_firm("1", tax_wan=100.0), _firm("3", tax_wan=None)]
    pack = _pack("inputs:\n  tax_wan: {require: optional}\n" + READINGS)
    assert pack.evaluate(rows).table["benchmark.sums"].to_list()[0] == 10.0


# ---------------------------------------------------------------- hybrid quotas

QUOTAS = """
indicators:
  points: tax_wan
items:
  s: {method: expr, expr: points}
tiers:
  method: quota
  quotas: [{tier: A, percent: 20, min_score: 80}, {tier: B, percent: 40}, {tier: C, percent: 35}, {tier: D, percent: 5, min_count: 1}]
"""


def test_a_needs_the_score_floor_and_d_takes_at_least_one_firm() -> None:
    # 7 firms: cuts 20/60/95/100 % half-up = 1, 4, 7, 7 (D none) -> D 类不少于 1 家 moves C's cut to 6.
    # Rank 1 scores 79 < 80: not A but B; A stays empty (places are not refilled).
    scores = [79, 70, 60, 50, 40, 30, 20]
    rows = [_firm(f"E{i}", tax_wan=float(s)) for i, s in enumerate(scores)]
    table = _pack(QUOTAS).evaluate(rows).table
    assert table["tier"].to_list() == ["B", "B", "B", "B", "C", "C", "D"]
    assert table["rank"].to_list() == [1, 2, 3, 4, 5, 6, 7]


def test_a_score_ceiling_sends_a_firm_up_a_tier() -> None:
    # 5 firms, D = last 40 % (ranks 4, 5) but only below 30 points: rank 4 with 35 goes up to C
    body = QUOTAS.split("  quotas:")[0] + "  quotas: [{tier: A, percent: 20}, {tier: C, percent: 40}, {tier: D, percent: 40, max_score: 30}]\n"
    rows = [_firm(f"E{i}", tax_wan=float(s)) for i, s in enumerate([90, 80, 70, 35, 10])]
    assert _pack(body).evaluate(rows).table["tier"].to_list() == ["A", "C", "C", "C", "D"]


def test_tier_count_counts_this_cycle_and_the_earlier_ones_within_the_window() -> None:
    body = QUOTAS + "measures:\n  repeat: {expr: \"tier_count('D', 3)\"}\n"
    rows = [_firm(f"E{i}", tax_wan=float(s)) for i, s in enumerate([79, 70, 60, 50, 40, 30, 20])]
    # E6 is D in 2024; D in 2023 and in 2021 (outside 2022-2024): 2 of the last 3. E0 was D in 2023: 1.
    past = [{"enterprise_id": "E6", "cycle": 2023, "tier": "D"}, {"enterprise_id": "E6", "cycle": 2021, "tier": "D"},
            {"enterprise_id": "E0", "cycle": 2023, "tier": "D"}]
    table = _pack(body).evaluate(rows, history=past, cycle=2024).table
    assert table["measure.repeat"].to_list() == [1.0, 0, 0, 0, 0, 0, 2.0]


# ---------------------------------------------------------------- a firm's earlier cycles

EARLIER = """
indicators:
  tax_per_mu: tax_wan / land_mu
  growth: tax_per_mu / past(tax_per_mu, 1) - 1
  average3: (tax_per_mu + past(tax_per_mu, 1) + past(tax_per_mu, 2)) / 3
  better: max(tax_per_mu, average3)
"""


def test_past_reads_the_same_firm_one_and_two_cycles_back() -> None:
    now = [_firm("A", tax_wan=30.0), _firm("B", tax_wan=60.0)]
    prior = [{**_firm("A", tax_wan=20.0), "cycle": 2023}, {**_firm("A", tax_wan=70.0), "cycle": 2022},
             {**_firm("B", tax_wan=40.0), "cycle": 2023}]
    table = _pack(EARLIER).evaluate(now, prior=prior, cycle=2024).table
    # A: 3 / 2 - 1 = 0.5; (3 + 2 + 7) / 3 = 4; better max(3, 4) = 4.  B: 6 / 4 - 1 = 0.5; no 2022 record: missing
    assert table["indicator.growth"].to_list() == [0.5, 0.5]
    assert table["indicator.average3"].to_list() == [4.0, None]
    assert table["indicator.better"].to_list() == [4.0, None]


def test_a_prior_table_without_cycles_is_the_cycle_just_before() -> None:
    table = _pack(EARLIER).evaluate([_firm("A", tax_wan=30.0)], prior=[_firm("A", tax_wan=20.0)]).table
    assert table["indicator.growth"].to_list() == [0.5]
    assert table["indicator.average3"].to_list() == [None]


def test_benchmarks_read_only_the_most_recent_earlier_cycle() -> None:
    body = EARLIER + "benchmarks:\n  bm: {stat: mean, of: tax_per_mu, source: prior, reading: ratio_of_sums}\n"
    prior = [{**_firm("A", tax_wan=20.0), "cycle": 2023}, {**_firm("A", tax_wan=70.0), "cycle": 2022}]
    assert _pack(body).evaluate([_firm("A")], prior=prior, cycle=2024).table["benchmark.bm"].to_list() == [2.0]


# ---------------------------------------------------------------- derived groups

GROUPS = """
parameters:
  groups_of: {value: {"13": food, "26": chemicals}}
  group_factor: {value: {food: 1, chemicals: 2}}
groups:
  sector: {table: groups_of, key: industry, prefix: 2}
indicators:
  tax_per_mu: tax_wan / land_mu * lookup(group_factor, sector)
benchmarks:
  bm: {stat: mean, of: tax_per_mu, group_by: [sector], reading: mean_of_ratios}
"""


def test_a_group_derived_from_the_industry_code_groups_benchmarks_and_keys_lookups() -> None:
    rows = [_firm("1", industry="1301"), _firm("2", industry="2611", tax_wan=20.0), _firm("3", industry="1302", tax_wan=30.0)]
    table = _pack(GROUPS).evaluate(rows).table
    # food: 1 and 3 (1, 3) -> mean 2; chemicals: 2 × 2 = 4
    assert table["indicator.tax_per_mu"].to_list() == [1.0, 4.0, 3.0]
    assert table["benchmark.bm"].to_list() == [2.0, 4.0, 2.0]
    assert table["sector"].to_list() == ["food", "chemicals", "food"]  # published beside the firm


def test_an_unknown_code_is_an_error_naming_the_code_and_the_table_not_a_silent_zero() -> None:
    table = _pack(GROUPS).evaluate([_firm("1", industry="1301"), _firm("9", industry="9911")]).table
    row = table.row(1, named=True)
    assert row["status"] == "error" and row["score"] is None
    assert "9911" in row["error"] and "groups_of" in row["error"] and "sector" in row["error"]


def test_a_text_table_lookup_gives_words_and_missing_for_an_unknown_key() -> None:
    body = GROUPS + "checks:\n  - {name: food, value: \"1 if lookup(groups_of, industry) == 'food' else 0\", min: 1}\n"
    table = _pack(body).evaluate([_firm("1", industry="13"), _firm("2", industry="26")]).table
    assert table["check.food"].to_list() == [True, False]


# ---------------------------------------------------------------- parks

def test_parks_sum_firms_and_set_them_against_the_city_from_the_same_records() -> None:
    pack = mujun.load_pack(MECHANISMS)
    rows = [_firm("1", park="P1", industry="34", size_class="above", tax_wan=100.0, revenue_wan=1000.0),
            _firm("2", park="P1", industry="26", size_class="above", land_mu=20.0, tax_wan=100.0, revenue_wan=500.0),
            _firm("3", park="P1", industry="13", size_class="above", tax_wan=50.0, revenue_wan=800.0),
            _firm("4", park=None, industry="13", size_class="above", tax_wan=50.0, revenue_wan=100.0)]
    result = pack.evaluate(rows)
    park = result.parks.row(0, named=True)
    # P1: Σtax 250 / Σland 40 = 6.25; city 300 / 50 = 6, × 1.1 = 6.6 -> fails.
    # heavy (34, 26): revenue 1500 of 2300 = 65.2 %, 2 of 3 firms = 66.7 %; light 800 = 34.8 % ≥ 30: 2 leading > 1
    assert (park["firms"], park["sum_tax_wan"], park["city_tax_wan"]) == (3, 250.0, 300.0)
    assert park["indicator.tax_per_mu"] == 6.25 and math.isclose(park["indicator.city_tax_per_mu"], 6.0)
    assert park["top_industry"] == "heavy" and math.isclose(park["top_share_revenue_wan"], 1500 / 2300 * 100)
    assert park["leading_industries"] == 2
    assert (park["check.lead_revenue"], park["check.few"], park["check.tax"]) == (True, False, False)
    assert park["decision"] == "fail" and "6.25 < 6.6" in park["failed"]
    assert [m["enterprise_id"] for m in result.explain_park("P1")["members"]] == ["1", "2", "3"]


PARK_PACKS = [str(MECHANISMS), *sorted(str(p) for p in RULES.glob("*/pack.yaml") if "\nparks:" in p.read_text("utf-8"))]


@pytest.mark.parametrize("pack_path", PARK_PACKS, ids=lambda p: p.split("/")[-1 if p.endswith("mechanisms.yaml") else -2])
@settings(max_examples=15)
@given(data=st.data())
def test_park_table_matches_the_reference(pack_path: str, data: st.DataObject) -> None:
    pack = mujun.load_pack(pack_path)
    current = data.draw(records())
    extras = data.draw(st.lists(extra_fields(), min_size=len(current), max_size=len(current)))
    by = pack.model.parks.by  # the pack's park field, filled from the drawn "park"
    current = [{**row, **extra, by: extra["park"]} for row, extra in zip(current, extras)]
    prior = data.draw(st.one_of(st.none(), records(max_size=20)))
    if prior is not None:
        prior = [{**row, by: data.draw(st.sampled_from(["P1", "P2", None]))} for row in prior]
    parks = pack.evaluate(current, prior=prior).parks
    expected = reference_parks(pack, reference_evaluate(pack, current, prior), prior)
    assert parks["park"].to_list() == [p["park"] for p in expected]
    for got, want in zip(parks.iter_rows(named=True), expected):
        assert got["members"] == want["members"]
        for name, value in want.items():
            column = f"indicator.{name}" if name in pack.model.parks.indicators else name
            if isinstance(value, float) and got[column] is not None:
                assert math.isclose(got[column], value, rel_tol=1e-9, abs_tol=1e-9), (name, got[column], value)
            else:
                assert got[column] == value, (name, got[column], value)


@settings(max_examples=20)
@given(data=st.data())
def test_several_earlier_cycles_match_the_reference(data: st.DataObject) -> None:
    pack = mujun.load_pack(MECHANISMS)
    current = data.draw(records())
    extras = data.draw(st.lists(extra_fields(), min_size=len(current), max_size=len(current)))
    current = [{**row, **extra} for row, extra in zip(current, extras)]
    prior = [{**row, "cycle": data.draw(st.sampled_from([2021, 2022, 2023]))} for row in data.draw(records(max_size=30))]
    past = data.draw(history([r["enterprise_id"] for r in current], pack.plan.tier_names))
    result = pack.evaluate(current, prior=prior, history=past, cycle=2024)
    reference = reference_evaluate(pack, current, prior, past, cycle=2024)
    assert_same(pack, result.table, reference)
    for row, env in zip(result.table.iter_rows(named=True), reference):
        for name in ("growth", "better"):
            got, want = row[f"indicator.{name}"], env[f"indicator.{name}"]
            assert (got is None) == (want is None) and (got is None or math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9))


def test_every_bundled_cohort_mean_states_its_reading() -> None:
    """A mean of firm ratios and a ratio of sums differ (15 % on one test county): each pack says which."""
    silent = [f"{p.parent.name}: benchmarks.{name}" for p in sorted(RULES.glob("*/pack.yaml"))
              for name, bm in mujun.load_pack(p).model.benchmarks.items() if bm.stat == "mean" and bm.reading is None]
    assert not silent, silent


def test_explain_says_why_a_tier_differs_from_the_rank_and_how_each_mean_is_read() -> None:
    rows = [_firm(f"E{i}", tax_wan=float(s)) for i, s in enumerate([79, 70, 60, 50, 40, 30, 20])]
    result = _pack(QUOTAS + "benchmarks:\n  bm: {stat: mean, of: points, reading: mean_of_ratios}\n").evaluate(rows)
    trace = result.explain("E0")
    assert trace["quota_rule"]["tier_by_rank"] == "A" and trace["quota_rule"]["tier"] == "B"
    assert trace["quota_rule"]["moved_because"] == "score 79.0 < min_score 80.0 of A"
    assert result.explain("E6")["quota_rule"]["cuts_after_min_count"] == [1, 4, 6, 7]
    assert "mean of ratios" in trace["benchmark_readings"]["bm"]


LANGUAGE = FIXTURES / "language" / "pack.yaml"


@pytest.mark.parametrize("case", load_cases(mujun.load_pack(LANGUAGE)), ids=lambda c: c.path.stem)
def test_language_golden_case(case) -> None:
    outcome = run_case(mujun.load_pack(LANGUAGE), case)
    assert outcome.passed, "\n".join(outcome.mismatches)


def test_a_pack_without_the_new_mechanisms_queues_nothing_for_them() -> None:
    """The hot path stays as it was: each unused stage hands back the very same lazy query."""
    import polars as pl

    from mujun.engine.earlier import past_values, split_years, tier_counts
    from mujun.engine.groups import derive_groups
    from mujun.engine.parks import evaluate_parks

    plan = mujun.load_pack("js-huaian-2024").plan
    frame, prior = pl.LazyFrame({"enterprise_id": ["E1"]}), pl.DataFrame({"enterprise_id": ["E1"]})
    assert past_values(frame, plan, {}) is frame and derive_groups(frame, plan) is frame
    assert tier_counts(frame, plan, pl.DataFrame({"enterprise_id": ["E1"], "cycle": [2023], "tier": ["A"]}), 2024) is frame
    assert split_years(prior, 2024, plan) == (prior, {}) and evaluate_parks(prior, plan) is None


# ---------------------------------------------------------------- lookup of an unknown key

LOOKUP = """
parameters:
  weight_of: {value: {"13": 1.5, "26": 2}}
  bonus_of: {value: {A: 3}}
indicators:
  weighted: tax_wan / land_mu * lookup(weight_of, industry)
tiers: {method: input, names: [A, B]}
measures:
  bonus: {by_tier: {A: "lookup(bonus_of, tier)"}, default: "lookup(bonus_of, 'Z')"}
"""


def test_an_unknown_lookup_key_is_missing_with_a_fact_naming_key_and_table_never_a_record_error() -> None:
    result = _pack(LOOKUP).evaluate([_firm("K1", tier="A"), _firm("K2", industry="65", tier="A"), _firm("K3", tier="B")])
    table = result.table
    assert table["status"].to_list() == ["ok", "ok", "ok"]
    assert table["indicator.weighted"].to_list() == [1.5, None, 1.5]
    trace = result.explain("K2", "en")
    assert trace["unknown_lookup_keys"] == [{"path": "indicators.weighted", "table": "weight_of", "key": "65",
                                             "message": "lookup(weight_of, industry) at indicators.weighted: '65' is "
                                                        "not a key of table weight_of; the value is missing"}]
    assert "table weight_of has no key '65' (indicators.weighted): the value is missing" in trace["lines"]
    assert "unknown_lookup_keys" not in result.explain("K1")  # tier A reaches only the by_tier entry, whose key is known
    assert [u["key"] for u in result.explain("K3")["unknown_lookup_keys"]] == ["Z"]  # B reaches the default
    notes = [n for n in result.notes if "not in table" in n]
    assert notes == ["1 record(s): lookup(weight_of, industry) at indicators.weighted — key(s) '65' not in table "
                     "weight_of: the value is missing",
                     "1 record(s): lookup(bonus_of, 'Z') at measures.bonus.default — key(s) 'Z' not in table "
                     "bonus_of: the value is missing"]


def test_an_unknown_lookup_key_reads_in_chinese_in_a_chinese_pack() -> None:
    pack = _pack(LOOKUP.replace("weight_of: {value:", "weight_of: {label: 行业系数, value:"))
    lines = pack.evaluate([_firm("K2", industry="65", tier="A")]).explain("K2")["lines"]
    assert "查表 行业系数（weight_of） 无键 '65'（indicators.weighted）：该值缺失" in lines

"""What-if simulation: every number of the impact is checked against evaluating OLD and NEW directly."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import mujun
from mujun.cli import app
from mujun.errors import InputError
from mujun.simulate import parse_sweep, simulate
from mujun.simulate.data import data_hash
from mujun.simulate.measures import kind_of
from mujun.synth import generate

runner = CliRunner()


@pytest.fixture(scope="module")
def county() -> tuple[pl.DataFrame, pl.DataFrame]:
    return generate(3000, regions=3, seed=11)


@pytest.fixture(scope="module")
def huaian() -> mujun.Pack:
    return mujun.load_pack("js-huaian-2024")


@pytest.fixture(scope="module")
def impact(huaian, county):
    data, prior = county
    return simulate(huaian, None, data, prior, overrides={"weight_tax": 50}, sensitivity=False, workers=1)


@pytest.fixture(scope="module")
def direct(huaian, county) -> pl.DataFrame:
    """OLD and NEW evaluated directly, side by side: state = tier when rated, else status."""
    data, prior = county
    state = pl.when(pl.col("status") == "ok").then(pl.col("tier")).otherwise(pl.col("status"))
    old = huaian.evaluate(data, prior=prior).table
    new = huaian.with_parameters({"weight_tax": 50}).evaluate(data, prior=prior).table
    return pl.DataFrame({
        "id": old["enterprise_id"], "group": old["group"].fill_null(new["group"]),
        "before": old.select(state).to_series(), "after": new.select(state).to_series(),
        "surcharge_before": old["measure.electricity_surcharge_yuan"],
        "surcharge_after": new["measure.electricity_surcharge_yuan"],
        "relief_before": old["measure.land_tax_reduction_pct"], "relief_after": new["measure.land_tax_reduction_pct"]})


def test_the_weight_overlay_applies_to_a_copy_of_old(impact, huaian, county):
    assert impact.baseline.hash == huaian.hash
    assert impact.candidate.hash == huaian.with_parameters({"weight_tax": 50}).hash != huaian.hash
    assert impact.candidate.overrides == {"weight_tax": 50}
    from_cli = simulate(huaian, None, county[0].head(50), county[1], overrides={"weight_tax": "50"}, sensitivity=False)
    assert from_cli.candidate == impact.candidate, "--set text and a number give the same report"


def test_headline_tier_changes_equal_direct_evaluation(impact, direct):
    moved = direct.filter(pl.col("before") != pl.col("after"))
    order = {"A": 0, "B": 1, "C": 2, "D": 3}
    up = sum(order[a] < order[b] for b, a in moved.select("before", "after").iter_rows())
    assert moved.height > 0, "a 45 → 50 weight must move some firms on this county"
    assert impact.headline.tier_changes == moved.height
    assert (impact.headline.up, impact.headline.down) == (up, moved.height - up)
    assert impact.headline.groups_changed == sorted(moved["group"].unique().to_list())


def test_headline_d_count_and_surcharge_equal_direct_sums(impact, direct):
    h = impact.headline
    assert h.worst_tier == "D"
    assert (h.worst_before, h.worst_after) == ((direct["before"] == "D").sum(), (direct["after"] == "D").sum())
    assert h.electricity_surcharge_before_yuan == pytest.approx(direct["surcharge_before"].sum())
    assert h.electricity_surcharge_after_yuan == pytest.approx(direct["surcharge_after"].sum())
    assert h.electricity_surcharge_change_yuan == pytest.approx(
        direct["surcharge_after"].sum() - direct["surcharge_before"].sum())
    relief = next(m for m in h.measures if m.kind == "tax_relief")
    assert relief.reads == "firms", "a relief in % is counted in firms, never summed"
    assert relief.after == (direct["relief_after"].fill_null(0) != 0).sum()
    by_tier = dict(direct.filter(pl.col("relief_after").fill_null(0) != 0).group_by("after").len().iter_rows())
    assert {t: n for t, n in relief.by_tier_after.items() if n} == by_tier, "A and B firms get the relief"
    assert (relief.mean_by_tier_after["A"], relief.mean_by_tier_after["B"]) == (100, 50)


def test_every_firm_counted_as_moving_has_those_tiers_under_old_and_new(impact, direct):
    by_id = {row["id"]: row for row in direct.iter_rows(named=True)}
    listed = 0
    for crossing in impact.crossings:
        assert crossing.count == direct.filter((pl.col("before") == crossing.before)
                                               & (pl.col("after") == crossing.after)).height
        for firm in crossing.firms:
            row = by_id[firm.enterprise_id]
            assert (row["before"], row["after"]) == (crossing.before, crossing.after)
            listed += 1
    assert listed > 0


def test_the_top_item_of_a_mover_is_the_item_whose_points_moved_most(impact, huaian, county):
    data, prior = county
    old = huaian.evaluate(data, prior=prior).table
    new = huaian.with_parameters({"weight_tax": 50}).evaluate(data, prior=prior).table
    firm = impact.crossings[0].firms[0]
    i = old["enterprise_id"].to_list().index(firm.enterprise_id)
    moves = {c: new[c][i] - old[c][i] for c in old.columns if c.startswith("item.")}
    assert "item." + firm.top_item.item == max(moves, key=lambda c: abs(moves[c]))
    assert firm.score_before == old["score"][i] and firm.rank_after == new["rank"][i]
    assert firm.top_item.label == "亩均税收"


def test_transition_matrix_equals_the_direct_crosstab_overall_and_per_county(impact, direct):
    states = impact.transitions.states
    assert states[:4] == ["A", "B", "C", "D"]
    for (b, a), n in direct.group_by("before", "after").len().rows_by_key(["before", "after"]).items():
        assert impact.transitions.overall.counts[states.index(b)][states.index(a)] == n[0][0]
    assert sum(map(sum, impact.transitions.overall.counts)) == direct.height
    county = impact.transitions.by_group[0]
    mine = direct.filter(pl.col("group") == county.group)
    assert county.firms == mine.height
    assert county.changes == mine.filter(pl.col("before") != pl.col("after")).height


def test_measure_totals_by_tier_equal_direct_group_sums(impact, direct):
    surcharge = next(m for m in impact.measures if m.name == "electricity_surcharge_yuan")
    expected = dict(direct.group_by("after").agg(pl.col("surcharge_after").sum()).iter_rows())
    assert {t.tier: t.total for t in surcharge.after} == pytest.approx({k: v or 0.0 for k, v in expected.items()})
    rate = next(m for m in impact.measures if m.name == "electricity_surcharge_yuan_per_kwh")
    assert not rate.summable and surcharge.summable


def test_score_histograms_count_every_rated_firm_on_common_edges(impact, direct):
    hist = impact.distributions.score
    assert sum(hist.before) == direct["before"].is_in(["A", "B", "C", "D"]).sum()
    assert sum(hist.after) == direct["after"].is_in(["A", "B", "C", "D"]).sum()
    assert len(hist.edges) == len(hist.before) + 1 and hist.edges == sorted(hist.edges)


def test_sensitivity_counts_tier_changes_against_new_at_plus_and_minus_ten_percent(huaian, county):
    data, prior = county
    small = data.head(1200)
    found = simulate(huaian, None, small, prior, overrides={"weight_tax": 50}, workers=1)
    bar = next(p for p in found.sensitivity.parameters if p.parameter == "weight_revenue")
    assert (bar.low, bar.high) == pytest.approx((31.5, 38.5))
    tiers = {v: huaian.with_parameters({"weight_tax": 50, "weight_revenue": v}).evaluate(small, prior=prior).table
             for v in (35, 38.5)}
    state = pl.when(pl.col("status") == "ok").then(pl.col("tier")).otherwise(pl.col("status"))
    expected = (tiers[35].select(state).to_series() != tiers[38.5].select(state).to_series()).sum()
    assert bar.changes_high == expected
    table = next(p for p in found.sensitivity.parameters if p.parameter == "land_tax_reduction_pct")
    assert table.high == pytest.approx({"A": 110.0, "B": 55.0, "C": 0.0, "D": 0.0})
    assert table.changes_low == table.changes_high == 0, "a measure parameter moves no tier"


def test_cut_line_margins_are_positive_above_and_negative_below(huaian, county):
    data, prior = county
    found = simulate(huaian, None, data.head(1200), prior, sensitivity=False, workers=1)
    assert found.sensitivity.parameters == [] and not found.sensitivity.parameters_moved
    line = found.sensitivity.lines[0]
    assert (line.upper, line.lower) == ("A", "B")
    above = [f for f in line.firms if f.tier == "A"]
    below = [f for f in line.firms if f.tier == "B"]
    assert above and below
    assert all(f.margin >= 0 and f.margin == pytest.approx(f.score - line.lower_max) for f in above)
    assert all(f.margin <= 0 and f.margin == pytest.approx(f.score - line.upper_min) for f in below)
    table = huaian.evaluate(data.head(1200), prior=prior).table.filter(pl.col("group") == line.group)
    clean = table.filter(pl.col("adjust.env_accident").is_null() | (pl.col("tier") != "D"))
    a_scores = sorted(clean.filter(pl.col("tier") == "A")["score"].to_list())
    b_scores = sorted(clean.filter(pl.col("tier") == "B")["score"].to_list(), reverse=True)
    assert (line.upper_min, line.lower_max) == (a_scores[0], b_scores[0])
    assert [f.score for f in above] == a_scores[:5] and [f.score for f in below] == b_scores[:5], "nearest first"


def test_a_sweep_point_at_the_overlay_value_repeats_the_headline(huaian, county, impact):
    data, prior = county
    found = simulate(huaian, None, data, prior, overrides={"weight_tax": 50}, sweep=parse_sweep("weight_tax=45:50:5"),
                     sensitivity=False, workers=1)
    at_45, at_50 = found.sweep.points
    assert (at_45.value, at_50.value) == (45, 50)
    assert at_45.headline.tier_changes == 0 and at_45.pack_hash == huaian.hash
    assert at_50.headline == impact.headline
    assert found.sweep.label == "亩均税收权重"


def test_a_sweep_evaluates_only_the_values_that_differ_from_old(huaian, county):
    data, prior = county
    timings: dict[str, float] = {}
    found = simulate(huaian, None, data, prior, sweep=parse_sweep("weight_tax=40:50:5"), sensitivity=False, workers=1,
                     timings=timings)
    assert timings["run_count"] == 2, "45 is OLD's own weight: its evaluation is reused"
    assert [p.headline.tier_changes == 0 for p in found.sweep.points] == [False, True, False]
    assert found.headline.tier_changes == 0 and found.candidate.hash == huaian.hash


def test_sweep_runs_in_worker_processes_give_the_same_numbers(huaian, county):
    data, prior = county
    small = data.head(600)
    spec = parse_sweep("weight_tax=40,55")
    alone = simulate(huaian, None, small, prior, sweep=spec, sensitivity=False, workers=1)
    pooled = simulate(huaian, None, small, prior, sweep=spec, sensitivity=False, workers=2)
    assert [p.headline for p in pooled.sweep.points] == [p.headline for p in alone.sweep.points]


@pytest.mark.parametrize("spec, message", [("weight_tax", "name=start"), ("weight_tax=60:40:5", "stop ≥ start"),
                                           ("weight_tax=40:x:5", "not a number"), ("weight_tax=1:2", "three numbers")])
def test_a_bad_sweep_says_how_to_write_one(spec, message):
    with pytest.raises(InputError, match=message):
        parse_sweep(spec)


def test_the_data_hash_follows_the_content_not_the_column_order(county):
    data, prior = county
    same = data_hash(data.select(reversed(data.columns)), prior)
    assert same == data_hash(data, prior)
    changed = data.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(pl.col("tax_wan") + 1)
                                .otherwise(pl.col("tax_wan")).alias("tax_wan"))
    assert data_hash(changed, prior) != same
    assert data_hash(data, prior, cycle=2024) != same
    headers = mujun.load_pack("js-huaian-2024").input_headers
    assert data_hash(data.drop("name"), prior, headers=headers) == data_hash(data, prior, headers=headers), \
        "a column no pack reads does not count"


@pytest.mark.parametrize("name, label, kind", [
    ("electricity_surcharge_yuan", "年度差别电费", "electricity_surcharge"),
    ("effective_surcharge_yuan", "年度加价电费", "electricity_surcharge"),
    ("sewage_surcharge_yuan", "年度污水处理费加价", "surcharge"),
    ("land_tax_reduction_yuan", "城镇土地使用税减免额", "tax_relief"),
    ("energy_quota_tce", "用能指标", "energy_quota"),
    ("subsidy_wan", "扶持资金", "subsidy"),
    ("may_bid_for_land", "可参与土地竞买", "other"),
])
def test_measure_kinds_are_read_from_names_and_labels(name, label, kind):
    assert kind_of(name, label) == kind


def test_energy_quota_headline_sums_the_allocated_tce_by_tier():
    pack = mujun.load_pack("energy-quota-allocation")
    data = pl.DataFrame({"enterprise_id": [f"E{i}" for i in range(8)], "region": ["330481"] * 4 + ["330482"] * 4,
                         "tier": ["A", "B", "C", "D"] * 2, "energy_tce": [100.0, 200, 300, 400, 50, 60, 70, 80]})
    found = simulate(pack, None, data, overrides={"tier_weight.A": 2.0}, sensitivity=False, workers=1)
    quota = next(m for m in found.headline.measures if m.kind == "energy_quota")
    old = pack.evaluate(data).table
    new = pack.with_parameters({"tier_weight.A": 2.0}).evaluate(data).table
    assert (quota.measure, quota.reads) == ("energy_quota_tce", "total")
    assert quota.before == quota.after == 10_500, "the budgets are shared out, never exceeded"
    totals = next(m for m in found.measures if m.name == "energy_quota_tce")
    a_before, a_after = (next(t.total for t in side if t.tier == "A") for side in (totals.before, totals.after))
    assert a_before == old.filter(pl.col("tier") == "A")["measure.energy_quota_tce"].sum()
    assert a_after == new.filter(pl.col("tier") == "A")["measure.energy_quota_tce"].sum() > a_before


def test_history_and_cycle_reach_both_packs_hand_computed_surcharge():
    """zj-haining-2025's golden case: a D firm D years running ≥ d_repeat_years pays 0.4 元/kWh, else 0.3.
    With the threshold at 2 years, D2 (D in 2024 and 2025) pays 0.4 too: +100,000 元 on 1,000,000 kWh."""
    pack = mujun.load_pack("zj-haining-2025")
    history = pl.DataFrame({"enterprise_id": ["D3", "D3", "D3", "D2"], "cycle": [2022, 2023, 2024, 2024],
                            "tier": ["D", "D", "D", "D"]})
    data = pl.DataFrame({"enterprise_id": ["D3", "D2", "C1", "A1"], "tier": ["D", "D", "C", "A"],
                         "electricity_kwh": [1_000_000.0] * 4, "energy_tce": [1000.0] * 4})
    found = simulate(pack, None, data, history=history, cycle=2025, overrides={"d_repeat_years": 2}, workers=1)
    h = found.headline
    assert (h.electricity_surcharge_before_yuan, h.electricity_surcharge_after_yuan) == (700_000, 800_000)
    quota = next(m for m in h.measures if m.kind == "energy_quota")
    assert (quota.measure, quota.before, quota.after) == ("energy_quota_tce", 3_500, 3_500)
    assert quota.by_tier_after == {"A": 1000, "C": 900, "D": 1600}
    assert h.tier_changes == 0 and found.data.history_records == 4 and found.data.cycle == 2025


def test_a_parameter_overlay_changes_nothing_but_the_parameter():
    """With every field dumped, the input ``tier`` of a tiers-from-input pack became a number: no firm scored."""
    pack = mujun.load_pack("energy-quota-allocation")
    data = pl.DataFrame({"enterprise_id": ["E1", "E2"], "region": ["330481"] * 2, "tier": ["A", "D"],
                         "energy_tce": [100.0, 200.0]})
    table = pack.with_parameters({"tier_weight.A": 2.0}).evaluate(data).table
    assert table["status"].to_list() == ["ok", "ok"], table["error"].to_list()


def test_cli_done_when_huaian_weight_tax_50_prints_changes_counties_and_d_surcharge(tmp_path: Path, county):
    data, prior = county
    mujun.write_table(data, tmp_path / "county.parquet")
    mujun.write_table(prior, tmp_path / "prior.parquet")
    run = runner.invoke(app, ["simulate", "--baseline", "js-huaian-2024", "--set", "weight_tax=50",
                              "--input", str(tmp_path / "county.parquet"), "--prior", str(tmp_path / "prior.parquet"),
                              "--report", str(tmp_path / "r.html"), "--no-sensitivity"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    written = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    h = written["headline"]
    assert f"{h['tier_changes']:,} (up {h['up']:,}, down {h['down']:,}" in run.output
    assert f"{h['electricity_surcharge_change_yuan']:+,.2f}" in run.output
    for county_row in (g for g in written["transitions"]["by_group"] if g["changes"]):
        assert county_row["group"] in run.output
    assert (tmp_path / "r.html").read_text(encoding="utf-8").lower().startswith("<!doctype html>")
    library = simulate(mujun.load_pack("js-huaian-2024"), None, data, prior, overrides={"weight_tax": "50"},
                       sensitivity=False, workers=1)
    assert written["headline"] == library.model_dump(mode="json")["headline"]
    assert written["data"]["hash"] == library.data.hash


def test_the_doctests_of_the_simulation_modules_hold():
    import doctest

    from mujun.simulate import diff, measures, sweep

    for module in (diff, measures, sweep):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_cli_refuses_a_report_that_is_not_html(tmp_path: Path):
    run = runner.invoke(app, ["simulate", "--baseline", "js-huaian-2024", "--input", "x.parquet",
                              "--report", str(tmp_path / "r.txt")])
    assert run.exit_code == 2 and ".html" in run.output


def test_cli_refuses_a_published_pack_without_a_server(tmp_path: Path):
    run = runner.invoke(app, ["pack", "diff", "zj-huangyan-2021@2021.1", "zj-huangyan-2022"])
    assert run.exit_code == 2 and "--server" in run.output

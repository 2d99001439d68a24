"""Explanations an official reads out: Chinese sentences from the facts the stages recorded.

The three readings of issue 12 (a Huai'an firm in a 7-firm county, a Nantong project at 14.9958, a
template firm with zero emissions) are asserted word for word where the words carry the arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mujun
from mujun.cases import load_cases
from mujun.engine.explain import format_trace
from mujun.engine.notice import render_notices


def _case(pack_id: str, file_word: str):
    pack = mujun.load_pack(pack_id)
    case = next(c for c in load_cases(pack) if file_word in c.path.name).data
    return pack.evaluate(case["input"], prior=case.get("prior"))


@pytest.fixture(scope="module")
def huaian():
    return _case("js-huaian-2024", "seven")


def test_item_reads_as_points_of_full_points_with_its_arithmetic(huaian) -> None:
    text = format_trace(huaian.explain("G1"))
    assert "亩均税收 得分 18.75 分（满分 45 分）：5 ÷ 12 = 0.4167 × 45 = 18.75" in text


def test_benchmark_names_cohort_size_and_mean_before_the_factor(huaian) -> None:
    trace = huaian.explain("G1")
    bm = trace["benchmarks"]["tax_per_mu_bm"]
    assert (bm["statistic"], bm["factor"], bm["cohort_size"]) == (6.0, 2.0, 3)
    assert "上年 Σ税收 ÷ Σ用地面积 = 6 × 2 = 12 万元/亩（县(市、区)代码 320805，3 家）" in bm["text"]
    assert bm["reading"] == "ratio_of_sums"


def test_a_mean_of_ratios_benchmark_says_mean_and_a_ratio_of_sums_names_both_sums() -> None:
    head = "id: t\nversion: '1'\ntitle: 测试\nsource: t\nindicators:\n  tax_per_mu: {expr: tax_wan / land_mu, label: 亩均税收}\n"
    firms = [{"enterprise_id": "E1", "region": "R", "land_mu": 10, "tax_wan": 100},
             {"enterprise_id": "E2", "region": "R", "land_mu": 30, "tax_wan": 60}]
    for reading, words in (("mean_of_ratios", "本年均值 6（"), ("ratio_of_sums", "本年 Σ税收 ÷ Σ用地面积 = 4（")):
        pack = mujun.load_pack_text(head + f"benchmarks:\n  bm: {{stat: mean, of: tax_per_mu, reading: {reading}, group_by: [region]}}\n")
        bm = pack.evaluate(firms).explain("E1")["benchmarks"]["bm"]
        assert bm["reading"] == reading and words in bm["text"], bm["text"]


def test_quota_arithmetic_is_written_out_and_an_empty_d_says_why(huaian) -> None:
    text = format_trace(huaian.explain("G1"))
    assert "7 家 × 60 % = 4.2 → 4（四舍五入）" in text
    assert "前 7 名已分完，D 类 0 家" in text
    assert "排第 4 名" in text


def test_input_values_are_filled_into_the_formula(huaian) -> None:
    text = format_trace(huaian.explain("G3"))
    assert "亩均税收 = 税收 −30 万元 ÷ 用地面积 60 亩 = −0.5 万元/亩" in text
    assert "低于下限，按 0 分计" in text


def test_a_cap_is_said_only_when_the_stage_applied_it(huaian) -> None:
    capped, exact = huaian.explain("G2")["items"]["tax"], huaian.explain("G4")["items"]["tax"]
    assert capped["applied"] == ["cap_ratio"] and "比值超过上限 1" in capped["text"]
    # G4's 亩均税收 is exactly the benchmark: 45 points = the weight, but nothing was capped
    assert exact["points"] == 45 and exact["applied"] == [] and "上限" not in exact["text"]


def test_a_zero_floor_is_not_reported_for_a_firm_that_scored_zero_honestly() -> None:
    pack = mujun.load_pack("js-huaian-2024")
    rows = [{"enterprise_id": f"F{i}", "region": "1", "land_mu": 10, "tax_wan": tax, "revenue_wan": 100,
             "energy_tce": 10, "years_in_production": 5} for i, tax in enumerate([0, 50, 100])]
    item = pack.evaluate(rows).explain("F0")["items"]["tax"]
    assert item["points"] == 0 and item["applied"] == [] and "下限" not in item["text"]


def test_zero_denominator_is_explained_not_scored_as_worst() -> None:
    result = _case("zj-template-2018", "zero")
    trace = result.explain("F1")
    assert trace["indicators"]["value_added_per_emission"]["zero_denominator"] == "full"
    text = format_trace(trace)
    assert "单位排放增加值 得分 15 分（权重 10 分，满分 15 分）：主要污染物排放当量 为 0，指标无定义，按最优计满分" in text


def test_check_prints_the_unrounded_value_and_a_true_verdict() -> None:
    result = _case("nt-admission-2022", "projects")
    text = format_trace(result.explain("P7"))
    assert "亩均税收 14.996 万元/亩 ≥ 15 万元/亩？否" in text
    assert "结论：不予准入" in text
    assert "15 ≥ 15" not in text


def test_a_pack_that_does_not_score_prints_no_score_and_no_empty_tier() -> None:
    result = _case("nt-admission-2022", "projects")
    trace = result.explain("P1")
    text = format_trace(trace)
    assert "score" not in trace and "得分" not in text and "None" not in text and "tier" not in trace


def test_english_on_request(huaian) -> None:
    text = format_trace(huaian.explain("G1", lang="en"))
    assert "18.75 points (of 45): 5 ÷ 12 = 0.4167 × 45 = 18.75" in text
    assert "7 × 60 % = 4.2 → 4 (half up)" in text


def test_the_document_is_cited(huaian) -> None:
    assert format_trace(huaian.explain("G1")).splitlines()[-1].startswith("依据：淮安市 2024 年度")


def test_declared_precision_is_compared_and_said(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("""id: precise
version: "1"
title: 容积率审查
source: 测试
inputs: {land_mu: {require: positive}, floor_area_m2: {require: present}}
indicators: {plot_ratio: {expr: floor_area_m2 / (land_mu * 666.67), label: 容积率}}
checks:
  - {name: plot_ratio, label: 容积率, value: plot_ratio, min: 1.5, precision: 2}
""", encoding="utf-8")
    result = mujun.load_pack(pack).evaluate([{"enterprise_id": "J", "land_mu": 30, "floor_area_m2": 30000}])
    condition = result.explain("J")["checks"]["conditions"][0]
    assert condition["passed"] is True and condition["value"] == 1.5
    assert condition["text"] == "容积率 1.5 ≥ 1.5？是（按申报精度 2 位小数比较，取整前 1.4999925）"


def test_printable_notice_has_one_page_per_firm_of_the_group(huaian) -> None:
    html = render_notices(huaian.explain_group("320805"))
    assert html.count('<section class="notice">') == 7 and html.count("评价结果告知书") >= 7
    assert "B 类，综合得分 66.75 分" in html and "page-break-after" in html


def test_notice_escapes_what_a_label_may_hold(huaian) -> None:
    trace = huaian.explain("G1")
    trace["lines"][2] = "<script>alert(1)</script>"
    assert "<script>alert" not in render_notices([trace])


def test_tier_history_names_the_years_counted() -> None:
    pack = mujun.load_pack("sd-electricity-2022")
    case = load_cases(pack)[0].data
    result = pack.evaluate(case["input"], history=case["history"], cycle=case["cycle"])
    text = format_trace(result.explain("D3"))
    assert "等级记录：含本次连续 4 次为 D 类（2022、2021、2020、2019 年）" in text
    assert "亩产效益评价加价 = lookup_floor(D类加价（按连续D类年数，3年及以上按3年）, 连续同等级次数 4) = 0.15 元/kWh" in text


def test_cli_writes_the_notice_for_a_group(tmp_path: Path) -> None:
    import polars as pl
    from typer.testing import CliRunner

    from mujun.cli import app

    pack = mujun.load_pack("js-huaian-2024")
    case = next(c for c in load_cases(pack) if "seven" in c.path.name).data
    current, prior, out = tmp_path / "c.parquet", tmp_path / "p.parquet", tmp_path / "notice.html"
    pl.DataFrame(case["input"]).write_parquet(current)
    pl.DataFrame(case["prior"]).write_parquet(prior)
    run = CliRunner().invoke(app, ["explain", "-p", "js-huaian-2024", "-i", str(current), "--prior", str(prior),
                                   "--group", "320805", "--format", "html", "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert out.read_text(encoding="utf-8").count('<section class="notice">') == 7
    both = CliRunner().invoke(app, ["explain", "-p", "js-huaian-2024", "-i", str(current), "--id", "G1", "--group", "1"])
    assert both.exit_code == 2


QUOTA_PACK = """id: t
version: '1'
title: t
source: t
items:
  s: {method: expr, expr: tax_wan}
tiers:
  method: quota
  quotas: [{tier: A, percent: 20, min_score: 80}, {tier: B, percent: 40}, {tier: C, percent: 35}, {tier: D, percent: 5, min_count: 1}]
"""


@pytest.fixture(scope="module")
def seven_quota():
    """7 firms: 20/60/95/100 % half up = 1, 4, 7, 7; D 类不少于 1 家 moves C's cut to 6; rank 1 (79) misses A's 80."""
    rows = [{"enterprise_id": f"E{i}", "region": "R", "land_mu": 10.0, "tax_wan": float(s)}
            for i, s in enumerate([79, 70, 60, 50, 40, 30, 20])]
    return mujun.load_pack_text(QUOTA_PACK).evaluate(rows)


def test_quota_lines_state_the_cut_a_minimum_count_moved(seven_quota) -> None:
    trace = seven_quota.explain("E6", lang="en")
    text = format_trace(trace)
    assert trace["tier"]["tier"] == "D"
    assert "7 × 95 % = 6.65 → 7 (half up), moved to 6 by the minimum counts: C ranks 5–6" in text
    assert "7 × 100 % = 7 → 7 (half up): D rank 7" in text and "no D firm" not in text
    assert [q["last_rank"] for q in trace["tier"]["quotas"]] == [1, 4, 6, 7]


def test_a_score_floor_that_moved_the_tier_is_said(seven_quota) -> None:
    text = format_trace(seven_quota.explain("E0", lang="zh"))
    assert "按名次为 A 类，得分 79 < A 类最低分 80 → B 类" in text
    assert "最低分" not in format_trace(seven_quota.explain("E1", lang="zh"))  # B by rank and B in the end


def test_a_stored_decision_without_recorded_cut_lines_still_reads_them(seven_quota) -> None:
    row = seven_quota._run.frame.row(6, named=True)
    bare = {k: v for k, v in row.items() if not k.startswith("__quota.")}
    assert seven_quota._trace(bare, 6, None)["lines"] == seven_quota.explain("E6")["lines"]


@pytest.mark.parametrize(("tax", "capped"), [(30.0, False), (40.0, True)])
def test_a_points_cap_is_said_only_when_it_cut_the_points(tax, capped) -> None:
    pack = mujun.load_pack_text("id: t\nversion: '1'\ntitle: t\nsource: t\n"
                                "items:\n  s: {method: expr, expr: tax_wan, cap: 30}\n")
    item = pack.evaluate([{"enterprise_id": "E1", "region": "R", "land_mu": 1.0, "tax_wan": tax}]).explain(
        "E1", lang="en")["items"]["s"]
    assert item["points"] == 30
    assert item["applied"] == (["cap"] if capped else [])
    assert ("above the cap, counted as 30" in item["text"]) == capped


def test_an_adjustment_on_the_item_total_is_said_even_when_it_takes_the_score_below_its_condition() -> None:
    """``score >= 60`` reads the item total (62): the levy applied, though the final score is 57."""
    pack = mujun.load_pack_text("id: t\nversion: '1'\ntitle: t\nsource: t\nitems:\n  s: {method: expr, expr: tax_wan}\n"
                                "adjustments:\n  - {name: levy, label: levy, when: 'score >= 60', points: -5}\n")
    trace = pack.evaluate([{"enterprise_id": "E1", "region": "R", "land_mu": 1.0, "tax_wan": 62.0}]).explain("E1")
    assert trace["score"] == 57 and trace["adjustments"][0]["applied"] is True
    assert "score 57 = items 62 − 5" in format_trace(trace)

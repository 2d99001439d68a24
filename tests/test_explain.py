"""Every decision is explainable: pack id and hash, inputs, indicators, benchmarks, items, tier, measures."""

from __future__ import annotations

import json

import pytest

import mujun
from mujun.cases import load_cases
from mujun.engine.explain import format_trace
from mujun.errors import NotFound


@pytest.fixture(scope="module")
def result():
    pack = mujun.load_pack("js-huaian-2024")
    case = load_cases(pack)[0].data
    return pack, pack.evaluate(case["input"], prior=case["prior"])


def test_trace_names_pack_version_and_hash(result) -> None:
    pack, res = result
    trace = res.explain("A2")
    assert trace["pack"] == {"id": pack.id, "version": pack.version, "hash": pack.hash, "title": pack.title,
                             "source": pack.source}


def test_trace_shows_each_number_with_its_origin(result) -> None:
    _, res = result
    trace = res.explain("A2")
    assert trace["inputs"]["tax_wan"]["value"] == 90
    assert trace["indicators"]["tax_per_mu"]["value"] == pytest.approx(9.0)
    # the county's prior-year Σ税收 200 ÷ Σ用地 30, × 2 (ratio of sums; cases/two_counties.yaml)
    assert trace["benchmarks"]["tax_per_mu_bm"]["value"] == pytest.approx(40 / 3)
    assert trace["benchmarks"]["tax_per_mu_bm"]["group"] == {"region": "320803"}
    assert trace["benchmarks"]["tax_per_mu_bm"]["source"] == "prior year"
    tax = trace["items"]["tax"]
    assert (tax["points"], tax["weight"], tax["ratio"]) == pytest.approx((30.375, 45.0, 0.675))
    assert trace["tier"]["tier"] == "B" and "rank 3 of 6" in trace["tier"]["why"]
    assert trace["measures"]["land_tax_reduction_pct"]["value"] == 50


def test_trace_says_when_a_cap_bit(result) -> None:
    _, res = result
    assert res.explain("A1")["items"]["tax"]["capped"].endswith("capped at 1")


def test_trace_of_a_vetoed_firm_says_veto(result) -> None:
    _, res = result
    trace = res.explain("V1")
    assert trace["tier"]["why"] == "veto: forced to D"
    assert [a["name"] for a in trace["adjustments"] if a["applied"]] == ["env_accident"]


def test_trace_of_an_error_carries_the_message(result) -> None:
    _, res = result
    trace = res.explain("E1")
    assert trace["status"] == "error" and "tax_wan" in trace["error"]


def test_trace_is_json_and_readable_text(result) -> None:
    _, res = result
    trace = res.explain("A3", lang="en")
    json.dumps(trace, ensure_ascii=False)
    text = format_trace(trace)
    assert "亩均税收" in text and "tier: C" in text


def test_unknown_enterprise_is_not_found(result) -> None:
    _, res = result
    with pytest.raises(NotFound):
        res.explain("nobody")


def test_explain_table_has_every_intermediate_column(result) -> None:
    _, res = result
    table = res.explain_table()
    assert table.height == res.table.height
    assert {"indicator.tax_per_mu", "benchmark.tax_per_mu_bm", "item.tax", "score", "tier", "pack_hash"} <= set(table.columns)

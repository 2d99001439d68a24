"""``mujun score --events`` and ``mujun explain --events``: in-year events applied to an offline scoring."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import mujun
from mujun.cli import app
from mujun.synth import generate

runner = CliRunner()


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> tuple[Path, Path, pl.DataFrame]:
    folder = tmp_path_factory.mktemp("county")
    current, prior = generate(300, regions=2, seed=11)
    mujun.write_table(current, folder / "current.parquet")
    mujun.write_table(prior, folder / "prior.parquet")
    base = mujun.load_pack("js-huaian-2024").evaluate(current, prior).table
    return folder / "current.parquet", folder / "prior.parquet", base


def _firm(base: pl.DataFrame, tier: str) -> dict:
    return base.filter((pl.col("status") == "ok") & (pl.col("tier") == tier)).row(0, named=True)


def _score(county, tmp_path: Path, events: Path, *more: str) -> pl.DataFrame:
    current, prior, _ = county
    out = tmp_path / "result.parquet"
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(current), "--prior", str(prior), "-o", str(out),
                              "--events", str(events), *more])
    assert run.exit_code == 0, run.output
    assert "firm(s) with event effects" in run.output
    return pl.read_parquet(out)


def test_a_major_env_penalty_makes_an_a_firm_d_with_the_surcharge(county, tmp_path: Path) -> None:
    _, _, base = county
    firm = _firm(base, "A")
    events = tmp_path / "events.csv"
    events.write_text("event_id,enterprise_id,type,date,severity,amount_wan\n"
                      f"p1,{firm['enterprise_id']},env_penalty,2024-03-01,major,20\n", encoding="utf-8")
    result = _score(county, tmp_path, events, "--as-of", "2024-06-30")
    row = result.filter(pl.col("enterprise_id") == firm["enterprise_id"]).row(0, named=True)
    assert (row["tier"], row["measure.electricity_surcharge_yuan_per_kwh"]) == ("D", 0.3)
    assert row["measure.electricity_surcharge_yuan"] > 0 and row["measure.land_tax_reduction_pct"] == 0
    assert row["event_effects"] == "major_env_penalty:p1 2024-03-01..2025-03-01"
    others = result.filter(pl.col("enterprise_id") != firm["enterprise_id"])
    assert others["tier"].to_list() == base.filter(pl.col("enterprise_id") != firm["enterprise_id"])["tier"].to_list()


def test_after_its_365_days_the_firm_is_back_in_its_tier(county, tmp_path: Path) -> None:
    _, _, base = county
    firm = _firm(base, "B")
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"event_id": "a1", "enterprise_id": firm["enterprise_id"], "type": "safety_accident",
                                  "date": "2024-03-01", "fields": {"severity": "general"}}) + "\n", encoding="utf-8")
    row = _score(county, tmp_path, events, "--as-of", "2025-03-01").filter(
        pl.col("enterprise_id") == firm["enterprise_id"]).row(0, named=True)
    assert (row["tier"], row["measure.land_tax_reduction_pct"], row["event_effects"]) == ("B", 50.0, None)


def test_invalid_events_are_all_reported_and_nothing_is_written(county, tmp_path: Path) -> None:
    current, prior, base = county
    firm = _firm(base, "A")["enterprise_id"]
    events = tmp_path / "events.csv"
    events.write_text("event_id,enterprise_id,type,date,severity\n"
                      f"p1,{firm},env_penalty,2024-03-01,huge\n"
                      f"p2,{firm},flood,2024-03-01,\n", encoding="utf-8")
    out = tmp_path / "result.csv"
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(current), "--prior", str(prior), "-o", str(out),
                              "--events", str(events)])
    assert run.exit_code == 2, run.output
    assert "2 invalid event(s)" in run.output and "'huge' is not allowed" in run.output and "flood" in run.output
    assert not out.exists()


def test_an_event_of_an_enterprise_not_in_the_input_is_an_error(county, tmp_path: Path) -> None:
    current, prior, _ = county
    events = tmp_path / "events.csv"
    events.write_text("event_id,enterprise_id,type,date,severity\np1,NOBODY,env_penalty,2024-03-01,major\n",
                      encoding="utf-8")
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(current), "--prior", str(prior),
                              "-o", str(tmp_path / "r.csv"), "--events", str(events)])
    assert run.exit_code == 2 and "NOBODY" in run.output


def test_explain_says_which_event_rule_effect_and_until_when(county, tmp_path: Path) -> None:
    current, prior, base = county
    firm = _firm(base, "A")["enterprise_id"]
    events = tmp_path / "events.csv"
    events.write_text(f"event_id,enterprise_id,type,date,severity\np1,{firm},env_penalty,2024-03-01,major\n",
                      encoding="utf-8")
    run = runner.invoke(app, ["explain", "-p", "js-huaian-2024", "-i", str(current), "--prior", str(prior), "--id", firm,
                              "--events", str(events), "--as-of", "2024-06-30"])
    assert run.exit_code == 0, run.output
    assert "生效：事件 p1（环境违法行政处罚，2024-03-01） → 规则 major_env_penalty" in run.output
    assert "直接列为 D 类，自 2024-03-01 至 2025-02-28（2025-03-01 起失效）" in run.output
    assert "等级 A → D" in run.output


def test_points_re_tier_against_the_runs_cut_lines(county, tmp_path: Path) -> None:
    """The lowest A firm of its county loses 5 points (two penalties within 365 days): it falls to the tier
    whose lowest ranked score it still reaches."""
    current, prior, base = county
    ranked = base.filter((pl.col("status") == "ok") & pl.col("rank").is_not_null())
    firm = ranked.filter(pl.col("tier") == "A").sort("score").row(0, named=True)
    lows = {t: s for t, s in ranked.filter(pl.col("group") == firm["group"]).group_by("tier").agg(pl.col("score").min())
            .iter_rows()}
    expected = next(t for t in "ABCD" if t in lows and firm["score"] - 5 >= lows[t])
    events = tmp_path / "events.csv"
    ident = firm["enterprise_id"]
    events.write_text("event_id,enterprise_id,type,date,severity\n"
                      f"p1,{ident},env_penalty,2024-01-10,general\np2,{ident},env_penalty,2024-05-10,general\n"
                      f"r1,{ident},rectification_done,2024-01-20,\nr2,{ident},rectification_done,2024-05-20,\n",
                      encoding="utf-8")
    out = tmp_path / "r.parquet"
    run = runner.invoke(app, ["score", "-p", str(Path(__file__).parent / "fixtures" / "packs" / "events.yaml"),
                              "-i", str(current), "--prior", str(prior), "-o", str(out), "--events", str(events),
                              "--as-of", "2024-06-01"])
    assert run.exit_code == 0, run.output
    row = pl.read_parquet(out).filter(pl.col("enterprise_id") == ident).row(0, named=True)
    assert row["score"] == pytest.approx(firm["score"] - 5)
    assert row["tier"] == expected != "A"
    assert row["event_effects"] == "repeated_env_penalty:p2 2024-05-10..2025-05-10"

"""Scoring against a frozen cycle: RuleEngine.Evaluate/Explain with ``cycle``, and appeals on the same path."""

from __future__ import annotations

import json

import grpc
import polars as pl
import pytest
from sqlalchemy import select

from mujun.store import open_database, sqlite_url
from mujun.store.models import DecisionRow
from mujun.synth import generate
from mujun_client import Client, RemoteError
from mujun_wire.v1 import rule_engine_pb2
from server.serverkit import REGION_A, REGION_B

YEAR = 2024
FROZEN = rule_engine_pb2.ScoringBasis.FROZEN_CYCLE


def _ranked(client, region: str, year: int, tier: str) -> list:
    return [d for d in client.list_decisions(region, year, tier=tier, page_size=1000).decisions if d.result.rank]


def _records(data: pl.DataFrame, ids: list[str]) -> list[dict]:
    return data.filter(pl.col("enterprise_id").is_in(ids)).to_dicts()


def test_a_firm_of_a_published_cycle_scores_as_its_decision_and_says_against_what(published_cycle, client_as):
    cycle, data = published_cycle
    agency = client_as("agency_a")
    decisions = _ranked(agency, REGION_A, YEAR, "B")[:3]
    ids = [d.result.enterprise_id for d in decisions]
    response = agency.evaluate(_records(data, ids), cycle=(REGION_A, YEAR))
    assert response.basis.kind == FROZEN
    assert (response.basis.cycle.region, response.basis.cycle.year) == (REGION_A, YEAR)
    assert response.basis.pack_hash == cycle.pack_hash
    got = {r.enterprise_id: r for r in response.results}
    for decision in decisions:
        assert got[decision.result.enterprise_id].tier == decision.result.tier == "B"
        assert got[decision.result.enterprise_id].score == pytest.approx(decision.result.score, rel=1e-12)
        assert got[decision.result.enterprise_id].benchmarks["tax_per_mu_bm"].number_value == pytest.approx(
            decision.result.benchmarks["tax_per_mu_bm"].number_value, rel=1e-12)


def test_a_lone_firm_is_scored_against_the_county_not_against_itself(published_cycle, client_as):
    """Without ``cycle`` one record is its own cohort (today's meaning); with it, the county's benchmarks."""
    _, data = published_cycle
    agency = client_as("agency_a")
    firm = _ranked(agency, REGION_A, YEAR, "C")[0]
    alone = agency.evaluate(_records(data, [firm.result.enterprise_id]), region=REGION_A)
    assert alone.basis.kind == rule_engine_pb2.ScoringBasis.RECORDS
    frozen = agency.evaluate(_records(data, [firm.result.enterprise_id]), cycle=(REGION_A, YEAR))
    assert frozen.results[0].tier == "C" != alone.results[0].tier


def test_a_region_the_token_may_not_read_is_permission_denied(published_cycle, client_as):
    _, data = published_cycle
    with pytest.raises(RemoteError) as caught:
        client_as("agency_b").evaluate(data.head(1).with_columns(pl.lit(REGION_B).alias("region")).to_dicts(),
                                       cycle=(REGION_A, YEAR))
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_a_draft_cycle_is_failed_precondition(client_as):
    region, admin = "320181", client_as("admin")
    data, _ = generate(40, 1, 3, bad_fraction=0)
    data = data.with_columns(pl.lit(region).alias("region"))
    admin.run_cycle(region, YEAR, data)
    with pytest.raises(RemoteError) as caught:
        admin.evaluate(data.head(1).to_dicts(), cycle=(region, YEAR))
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "freeze it first" in caught.value.message


def test_explain_against_a_frozen_cycle_says_the_firm_was_placed_against_its_cut_lines(published_cycle, client_as):
    _, data = published_cycle
    agency = client_as("agency_a")
    firm = _ranked(agency, REGION_A, YEAR, "A")[0].result.enterprise_id
    response = agency.explain(_records(data, [firm]), firm, cycle=(REGION_A, YEAR))
    assert response.basis.kind == FROZEN and response.result.tier == "A"
    lines = "\n".join(response.trace["lines"])
    assert f"cycle {REGION_A}/{YEAR}" in lines and "分档线" in lines


@pytest.fixture(scope="module")
def appeal_cycle(server):
    """A frozen cycle of its own (appeals change decisions), js-huaian-2024 with a prior year."""
    region = "320182"
    data, prior = generate(120, 1, 11, bad_fraction=0)
    data, prior = (t.with_columns(pl.lit(region).alias("region")) for t in (data, prior))
    with Client(server.address, server.tokens["admin"], timeout=30) as admin:
        admin.run_cycle(region, YEAR, data, prior=prior)
        admin.freeze_cycle(region, YEAR)
        return region, {d.result.enterprise_id: d for d in admin.list_decisions(region, YEAR, page_size=1000).decisions}


def test_two_appeals_in_a_row_see_each_other_and_no_other_decision_moves(appeal_cycle, client_as):
    region, before = appeal_cycle
    admin = client_as("admin")
    firm = next(d for d in before.values() if d.result.tier == "D" and d.result.rank)
    first = admin.appeal(region, YEAR, firm.result.enterprise_id, {"tax_wan": firm.input.tax_wan * 50},
                         "tax bureau corrected the filing")
    assert first.version == 2 and first.result.tier in ("A", "B") and first.result.score > firm.result.score
    # The second appeal corrects land only: its base is the first appeal's input (tax stays corrected).
    second = admin.appeal(region, YEAR, firm.result.enterprise_id, {"land_mu": firm.input.land_mu * 2},
                          "land bureau corrected the area")
    assert second.version == 3
    assert second.input.tax_wan == pytest.approx(firm.input.tax_wan * 50)
    assert second.result.indicators["tax_per_mu"].number_value == pytest.approx(
        first.result.indicators["tax_per_mu"].number_value / 2)
    after = {d.result.enterprise_id: d for d in admin.list_decisions(region, YEAR, page_size=1000).decisions}
    moved = [e for e, d in after.items() if e != firm.result.enterprise_id
             and (d.version, d.result.tier, d.result.score) != (before[e].version, before[e].result.tier, before[e].result.score)]
    assert moved == []
    history = admin.get_decision(region, YEAR, firm.result.enterprise_id, with_history=True, with_trace=True)
    assert [(h.version, h.reason) for h in history.history] == [(1, ""), (2, "tax bureau corrected the filing")]
    assert history.reason == "land bureau corrected the area"
    lines = "\n".join(history.trace["lines"])
    assert "placed against the frozen cut lines" in history.trace["tier"]["why"] and "分档线" in lines


def test_an_appeal_records_its_cause(appeal_cycle, client_as, server):
    region, before = appeal_cycle
    admin = client_as("admin")
    firm = next(d for d in before.values() if d.result.tier == "C" and d.result.rank)
    admin.appeal(region, YEAR, firm.result.enterprise_id, {"revenue_wan": firm.input.revenue_wan * 1.01}, "statistics bureau")
    db = open_database(sqlite_url(server.data_dir))
    try:
        with db.read() as session:
            rows = session.scalars(select(DecisionRow).where(DecisionRow.enterprise_id == firm.result.enterprise_id)
                                   .order_by(DecisionRow.version)).all()
            causes = [json.loads(r.result_json).get("__cause") for r in rows if r.version > 1]
    finally:
        db.close()
    assert causes and causes[-1]["kind"] == "appeal" and causes[-1]["base_version"] == 1
    assert causes[-1]["scored_against"] == "frozen cycle" and causes[-1]["region"] == region


def test_a_record_of_another_region_is_not_scored_against_the_cycle(published_cycle, client_as):
    _, data = published_cycle
    foreign = data.head(1).with_columns(pl.lit(REGION_B).alias("region")).to_dicts()
    with pytest.raises(RemoteError) as caught:
        client_as("admin").evaluate(foreign, cycle=(REGION_A, YEAR))
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT and "own region" in caught.value.message


def test_a_pack_reading_its_cohort_spread_is_refused_against_a_cycle_and_appeals_use_the_cohort(client_as):
    """ah-minmax scores min–max within the cohort: a frozen context cannot stand in for the county."""
    region, admin = "320183", client_as("admin")
    admin.activate_pack(region, "ah-minmax", effective_from="2020-01-01")
    data, prior = generate(60, 1, 5, bad_fraction=0)
    data, prior = (t.with_columns(pl.lit(region).alias("region")) for t in (data, prior))
    admin.run_cycle(region, YEAR, data, prior=prior)
    admin.freeze_cycle(region, YEAR)
    with pytest.raises(RemoteError) as caught:
        admin.evaluate(data.head(1).to_dicts(), cycle=(region, YEAR))
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION and "min–max" in caught.value.message
    firm = data["enterprise_id"][0]
    appealed = admin.appeal(region, YEAR, firm, {"tax_wan": float(data["tax_wan"][0]) * 2}, "tax bureau")
    assert appealed.version == 2 and appealed.result.rank  # ranked again within its corrected cohort

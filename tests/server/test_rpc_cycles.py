"""mujun.v1.Cycles: run, freeze, publish, appeal as new versions, decisions paged and filtered."""

from __future__ import annotations

import grpc
import polars as pl
import pytest

from mujun_client import RemoteError

from server.serverkit import REGION_A, REGION_B

YEAR = 2024


def _first_ok(data: pl.DataFrame, client) -> str:
    for decision in client.list_decisions(REGION_A, YEAR, page_size=50).decisions:
        if decision.result.status == "ok":
            return decision.result.enterprise_id
    raise AssertionError("no ok decision")


def test_a_run_records_one_decision_per_input_row(published_cycle, client_as):
    cycle, data = published_cycle
    assert cycle.state == "published" and cycle.enterprises == data.height
    assert sum(t.count for t in cycle.tiers) == data.height


def test_publishing_a_draft_cycle_is_a_failed_precondition(client_as, enterprises):
    admin = client_as("admin")
    admin.run_cycle(REGION_B, YEAR, enterprises[0].filter(pl.col("region") == REGION_B).head(50))
    with pytest.raises(RemoteError) as caught:
        admin.publish_cycle(REGION_B, YEAR)
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_a_published_cycle_cannot_be_run_again(published_cycle, client_as):
    _, data = published_cycle
    with pytest.raises(RemoteError) as caught:
        client_as("operator_a").run_cycle(REGION_A, YEAR, data.head(5))
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_an_appeal_adds_a_version_and_the_published_one_stays(published_cycle, client_as):
    operator = client_as("operator_a")
    enterprise = _first_ok(published_cycle[1], operator)
    before = operator.get_decision(REGION_A, YEAR, enterprise)
    appealed = operator.appeal(REGION_A, YEAR, enterprise, {"tax_wan": 1_000_000.0}, "tax bureau corrected the filing")
    assert appealed.version == before.version + 1 and appealed.reason.startswith("tax bureau")
    assert appealed.result.tier == "A"
    after = operator.get_decision(REGION_A, YEAR, enterprise, with_history=True)
    assert after.version == appealed.version
    assert after.history[0].tier == before.result.tier and after.history[0].version == before.version


def test_an_appeal_without_a_reason_is_invalid(published_cycle, client_as):
    operator = client_as("operator_a")
    with pytest.raises(RemoteError) as caught:
        operator.appeal(REGION_A, YEAR, _first_ok(published_cycle[1], operator), {"tax_wan": 1.0}, "")
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.violations[0][0] == "reason"


def test_decisions_page_through_the_whole_cycle(published_cycle, client_as):
    _, data = published_cycle
    ids = [d.result.enterprise_id for d in client_as("agency_a").iter_decisions(REGION_A, YEAR, page_size=97)]
    assert len(ids) == data.height and ids == sorted(ids)


def test_decisions_filter_by_tier(published_cycle, client_as):
    page = client_as("agency_a").list_decisions(REGION_A, YEAR, tier="D", page_size=1000)
    assert page.decisions and {d.result.tier for d in page.decisions} == {"D"}


def test_an_unknown_decision_or_cycle_is_not_found(published_cycle, client_as):
    agency = client_as("agency_a")
    for call in (lambda: agency.get_decision(REGION_A, YEAR, "NOPE"), lambda: agency.get_cycle(REGION_A, 1999)):
        with pytest.raises(RemoteError) as caught:
            call()
        assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_the_audit_log_records_who_changed_what(published_cycle, client_as):
    entries = client_as("auditor").audit_log(region=REGION_A, page_size=1000).entries
    actions = [e.action for e in entries]
    assert {"cycle.run", "cycle.freeze", "cycle.publish"} <= set(actions)
    run = next(e for e in entries if e.action == "cycle.run")
    assert run.actor.endswith("operator_a") and run.after_hash and run.before_hash != run.after_hash


def test_a_decision_explains_itself_from_the_cycles_data_and_pinned_pack(published_cycle, client_as):
    agency = client_as("agency_a")
    enterprise = _first_ok(published_cycle[1], agency)
    decision = agency.get_decision(REGION_A, YEAR, enterprise, with_trace=True)
    assert decision.trace["enterprise_id"] == enterprise
    assert decision.trace["pack"]["hash"] == decision.result.pack_hash
    assert "tax_per_mu" in decision.trace["indicators"]
    assert decision.trace["tier"]["tier"] == decision.result.tier


def test_an_appeal_is_scored_in_its_cycle_year_like_the_run(client_as):
    """A pack whose rate depends on the cycle year: the run and an appeal both use the cycle's year."""
    region, admin = "320113", client_as("admin")
    admin.activate_pack(region, "js-suzhou-electricity", effective_from="2019-01-01")
    firms = pl.DataFrame({"enterprise_id": ["S1", "S2"], "region": [region] * 2, "tier": ["D", "B"],
                          "electricity_kwh": [1_000_000.0, 2_000_000.0]})
    admin.run_cycle(region, 2021, firms)
    run = admin.get_decision(region, 2021, "S1").result
    assert run.measures["electricity_surcharge_yuan"].number_value == pytest.approx(300_000)
    admin.freeze_cycle(region, 2021)
    appealed = admin.appeal(region, 2021, "S1", {"electricity_kwh": 500_000.0}, "grid company corrected the meter")
    assert appealed.result.measures["electricity_surcharge_yuan"].number_value == pytest.approx(150_000)

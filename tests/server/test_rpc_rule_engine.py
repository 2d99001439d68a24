"""mujun.v1.RuleEngine over the wire gives what the engine gives in process."""

from __future__ import annotations

import grpc
import polars as pl
import pytest

import mujun
from mujun_client import RemoteError, score_remote

PACK = "js-huaian-2024"


def test_evaluate_batch_returns_exactly_the_local_result_table(server, tokens_for, enterprises):
    data, prior = enterprises
    remote = pl.from_arrow(score_remote(server.address, tokens_for["admin"], PACK, data, prior=prior))
    local = mujun.load_pack(PACK).evaluate(data, prior=prior).table
    assert remote.schema == local.schema
    assert remote.equals(local)


def test_evaluate_matches_the_local_engine_row_for_row(client_as, enterprises):
    data = enterprises[0].head(40)
    response = client_as("admin").evaluate(data, PACK)
    local = mujun.load_pack(PACK).evaluate(data).table
    assert [r.enterprise_id for r in response.results] == local["enterprise_id"].to_list()
    assert [r.tier or None for r in response.results] == local["tier"].to_list()
    assert [r.score if r.HasField("score") else None for r in response.results] == pytest.approx(local["score"].to_list())


def test_evaluate_returns_per_record_errors_without_failing_the_call(client_as):
    records = [{"enterprise_id": "OK1", "region": "320102", "land_mu": 10, "tax_wan": 50, "revenue_wan": 900},
               {"enterprise_id": "BAD", "region": "320102", "land_mu": 0, "tax_wan": 50, "revenue_wan": 900}]
    results = client_as("admin").evaluate(records, PACK).results
    assert [r.status for r in results] == ["ok", "error"]
    assert "land_mu" in results[1].error


def test_evaluate_with_explain_returns_one_trace_per_result(client_as, enterprises):
    response = client_as("admin").evaluate(enterprises[0].head(3), PACK, explain=True)
    assert len(response.traces) == 3
    assert response.traces[0]["enterprise_id"] == response.results[0].enterprise_id


def test_explain_returns_the_trace_with_the_pack_hash(client_as, enterprises):
    data = enterprises[0].head(20)
    first = data["enterprise_id"][0]
    response = client_as("admin").explain(data, first, PACK)
    assert response.result.enterprise_id == first
    assert response.trace["pack"]["hash"] == mujun.load_pack(PACK).hash


def test_explain_of_an_absent_enterprise_is_not_found(client_as, enterprises):
    with pytest.raises(RemoteError) as caught:
        client_as("admin").explain(enterprises[0].head(5), "NOPE", PACK)
    assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_an_unpublished_pack_is_not_found(client_as, enterprises):
    with pytest.raises(RemoteError) as caught:
        client_as("admin").evaluate(enterprises[0].head(2), "no-such-pack")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_the_region_picks_the_pack_active_on_the_date(client_as):
    record = [{"enterprise_id": "H1", "region": "331003", "size_class": "below", "land_mu": 10, "tax_wan": 50,
               "electricity_kwh": 200000}]
    results = client_as("admin").evaluate(record, region="331003", as_of="2022-06-01").results
    assert results[0].pack_id == "zj-huangyan-2022"


def test_parameter_overrides_change_the_pack_hash(client_as, enterprises):
    data = enterprises[0].head(10)
    base = client_as("admin").evaluate(data, PACK).results[0]
    what_if = client_as("admin").evaluate(data, PACK, parameters={"weight_tax": 60}).results[0]
    assert base.pack_hash != what_if.pack_hash


def test_the_async_client_gets_the_same_batch_table(server, tokens_for, enterprises):
    import asyncio

    from mujun_client import AsyncClient

    data = enterprises[0]

    async def fetch():
        async with AsyncClient(server.address, tokens_for["admin"]) as client:
            return await client.evaluate_batch(data, PACK)

    table, summary = asyncio.run(fetch())
    assert pl.from_arrow(table).equals(mujun.load_pack(PACK).evaluate(data).table) and summary.rows == data.height

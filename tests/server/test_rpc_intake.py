"""Data intake over gRPC: the run report in answers, several bureaus' streams for Cycles.Run, the
protobuf records path (Cycles.RunRecords) — against the shared real server."""

from __future__ import annotations

import grpc
import polars as pl
import pyarrow as pa
import pytest
from mujun_wire.v1 import common_pb2, cycles_pb2

import mujun
from mujun.synth import generate
from mujun_client import RemoteError
from mujun_client import _messages as m

from server.serverkit import REGION_A, REGION_B

YEAR = 2024  # js-huaian-2024, the server's default pack, is in force in 2024 only

#: Each test runs its own county (the admin may run any), so their cycles never meet.
JOINED, SPLIT, CONFLICT, PREFERRED, CUT, MISCOUNTED, DISORDERED, RECORDS, ARROW, REPORT, FOREIGN = (
    f"3209{n:02d}" for n in range(11))


@pytest.fixture(scope="module")
def county() -> pl.DataFrame:
    current, _ = generate(300, regions=1, seed=11, bad_fraction=0)
    return current


def _in(frame: pl.DataFrame, region: str) -> pl.DataFrame:
    return frame.with_columns(pl.lit(region).alias("region"))


def _bureaus(county: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The county as four bureaus hold it: own headers and units, own row order, ids written their way."""
    eid = pl.col("enterprise_id")
    return {
        "miit": county.select("enterprise_id", "name", "region", "size_class", "years_in_production", "flags"),
        "tax": county.sample(fraction=1.0, shuffle=True, seed=1).select(
            eid.str.to_lowercase(), (pl.col("tax_wan") * 10_000).alias("税收(元)"), "revenue_wan"),
        "stats": county.sample(fraction=1.0, shuffle=True, seed=2).select(
            pl.concat_str(pl.lit(" "), eid, pl.lit(" ")).alias("enterprise_id"), "energy_tce", "electricity_kwh"),
        "land": county.sample(fraction=1.0, shuffle=True, seed=3).select(
            eid.str.replace_many(list("0123456789E"), list("０１２３４５６７８９Ｅ")),
            pl.col("land_mu").alias("用地面积(亩)")),
    }


def _decisions(client, region: str) -> dict[str, tuple[str, str, float | None]]:
    page = client.list_decisions(region, YEAR, page_size=1000)
    assert not page.next_page_token
    return {d.result.enterprise_id: (d.result.status, d.result.tier,
                                     round(d.result.score, 9) if d.result.HasField("score") else None)
            for d in page.decisions}


def _code(call) -> grpc.StatusCode:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.code


# -- the run report -------------------------------------------------------------------------------

def _reported(county: pl.DataFrame) -> pl.DataFrame:
    """Tax in 元, a remark column nobody reads, energy under a header that only looks like its field."""
    return (county.with_columns((pl.col("tax_wan") * 10_000).alias("税收(元)"), pl.lit("x").alias("备注"))
            .drop("tax_wan").rename({"energy_tce": "综合能源消费量(吨标煤)"}))


def test_a_batch_summary_states_unit_conversions_and_unrecognised_columns(client_as, county):
    _, summary = client_as("admin").evaluate_batch(_reported(county).head(50), "js-huaian-2024")
    notes = "\n".join(summary.notes)
    assert "unit conversion: input: '税收(元)' 元 → 万元 ÷ 10,000" in notes
    assert "'备注': not recognised" in notes
    assert "energy_tce absent: all 50 firms scored" in notes
    assert len(summary.warnings) == 1
    assert "'综合能源消费量(吨标煤)' is not recognised but looks like energy_tce" in summary.warnings[0]


def test_a_cycle_carries_its_run_report_and_keeps_it(client_as, county):
    admin = client_as("admin")
    ran = admin.run_cycle(REPORT, YEAR, _in(_reported(county), REPORT))
    assert any("'税收(元)' 元 → 万元 ÷ 10,000" in n for n in ran.notes) and len(ran.warnings) == 1
    again = admin.get_cycle(REPORT, YEAR)
    assert list(again.notes) == list(ran.notes) and list(again.warnings) == list(ran.warnings)


# -- several data streams -------------------------------------------------------------------------

def test_four_bureau_streams_give_the_decisions_of_one_joined_table(client_as, county):
    admin = client_as("admin")
    one = admin.run_cycle(JOINED, YEAR, _in(county, JOINED))
    four = admin.run_cycle(SPLIT, YEAR, _bureaus(_in(county, SPLIT)))
    assert four.enterprises == one.enterprises == county.height
    assert _decisions(admin, SPLIT) == _decisions(admin, JOINED)
    assert any("inputs joined on enterprise_id: miit, tax, stats, land" in n for n in four.notes)


def test_a_cycle_refuses_firms_of_another_region_under_a_bureau_header(client_as, county):
    sources = _bureaus(_in(county.head(20), REGION_B))
    sources["miit"] = sources["miit"].rename({"region": "行政区划代码"})
    admin = client_as("admin")
    with pytest.raises(RemoteError) as caught:
        admin.run_cycle(FOREIGN, YEAR, sources)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT and f"other regions than {FOREIGN}" in caught.value.message
    assert admin.get_cycle(FOREIGN, YEAR).enterprises == 0  # the run was aborted: no decisions stored


def _two(county: pl.DataFrame, region: str) -> dict[str, pl.DataFrame]:
    """Two sources that both give tax_wan; the third firm's differs."""
    small = _in(county.head(20), region)
    stats = small.select("enterprise_id", "tax_wan", "energy_tce").with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.col("tax_wan") + 7).otherwise(pl.col("tax_wan")).alias("tax_wan"))
    return {"tax": small.drop("energy_tce"), "stats": stats}


def test_a_value_that_differs_between_two_streams_is_a_record_error_naming_both(client_as, county):
    admin = client_as("admin")
    sources = _two(county, CONFLICT)
    admin.run_cycle(CONFLICT, YEAR, sources)
    third = sources["tax"]["enterprise_id"][2]
    decision = admin.get_decision(CONFLICT, YEAR, third)
    tax, stats = sources["tax"]["tax_wan"][2], sources["stats"]["tax_wan"][2]
    assert decision.result.status == "error"
    assert f"tax_wan: tax says '{tax}', stats says '{stats}'" in decision.result.error
    others = [d for d in admin.list_decisions(CONFLICT, YEAR, page_size=100).decisions
              if d.result.enterprise_id != third]
    assert len(others) == 19 and all("tax_wan:" not in d.result.error for d in others)


def test_prefer_in_the_header_resolves_a_difference(client_as, county):
    admin = client_as("admin")
    sources = _two(county, PREFERRED)
    ran = admin.run_cycle(PREFERRED, YEAR, sources, prefer="stats")
    third = admin.get_decision(PREFERRED, YEAR, sources["tax"]["enterprise_id"][2])
    assert "tax_wan:" not in third.result.error
    assert third.input.tax_wan == pytest.approx(sources["stats"]["tax_wan"][2])  # the record that was scored
    assert any("1 differing value(s) resolved by precedence: stats > tax" in n for n in ran.notes)


def _raw_run(client, requests: list) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        client.cycles.Run(iter(requests), metadata=client.metadata, timeout=30)
    return caught.value


def _requests(region: str, sources: dict[str, pl.DataFrame]) -> list:
    return list(m.run_requests(region, YEAR, "", sources, None, None, 4096))


def test_a_cut_second_stream_is_refused_and_nothing_is_stored(client_as, county):
    admin = client_as("admin")
    requests = _requests(CUT, _two(county, CUT))
    last = max(i for i, r in enumerate(requests) if r.WhichOneof("part") == "source_chunk")
    assert requests[last].source_chunk.source == 1
    requests[last].source_chunk.chunk = requests[last].source_chunk.chunk[:-8]  # the end-of-stream marker
    error = _raw_run(admin, requests)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "'stats'" in error.details()
    assert "end-of-stream marker" in error.details()
    assert _code(lambda: admin.get_cycle(CUT, YEAR)) == grpc.StatusCode.NOT_FOUND


def test_a_source_with_other_rows_than_declared_is_refused(client_as, county):
    admin = client_as("admin")
    requests = _requests(MISCOUNTED, _two(county, MISCOUNTED))
    requests[0].header.data_sources[1].rows += 1
    error = _raw_run(admin, requests)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "data_sources[1].rows" in error.details()
    assert _code(lambda: admin.get_cycle(MISCOUNTED, YEAR)) == grpc.StatusCode.NOT_FOUND


def test_sources_out_of_header_order_or_mixed_with_data_chunks_are_refused(client_as, county):
    admin = client_as("admin")
    requests = _requests(DISORDERED, _two(county, DISORDERED))
    chunks = requests[1:]
    swapped = [requests[0], *[r for r in chunks if r.source_chunk.source == 1],
               *[r for r in chunks if r.source_chunk.source == 0]]
    error = _raw_run(admin, swapped)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "'tax' (source 0) was not sent" in error.details()
    mixed = [requests[0], cycles_pb2.RunCycleRequest(data_chunk=chunks[0].source_chunk.chunk), *chunks]
    assert "data_chunk with header.data_sources" in _raw_run(admin, mixed).details()
    assert _code(lambda: admin.get_cycle(DISORDERED, YEAR)) == grpc.StatusCode.NOT_FOUND


# -- protobuf records -----------------------------------------------------------------------------

def test_a_cycle_runs_from_protobuf_records_as_from_arrow(client_as, county):
    admin = client_as("admin")
    rows = county.head(200)
    by_records = admin.run_cycle_records(RECORDS, YEAR, _in(rows, RECORDS).to_dicts())
    admin.run_cycle(ARROW, YEAR, _in(rows, ARROW))
    assert by_records.enterprises == 200 and by_records.state == "draft" and by_records.notes
    assert _decisions(admin, RECORDS) == _decisions(admin, ARROW)


def test_records_beyond_the_request_limit_are_refused(client_as, county):
    admin = client_as("admin")
    many = _in(generate(1001, regions=1, seed=3, bad_fraction=0)[0], RECORDS)  # the shared server allows 1,000
    assert _code(lambda: admin.run_cycle_records(RECORDS, YEAR + 1, many.to_dicts())) == grpc.StatusCode.RESOURCE_EXHAUSTED


# -- several tables in one batch ------------------------------------------------------------------

def test_a_batch_of_several_bureau_tables_is_the_local_join(client_as, county):
    sources = _bureaus(_in(county, REGION_A))
    sources["miit"] = sources["miit"].rename({"region": "行政区划代码"})  # the region under the bureau's header
    table, summary = client_as("agency_a").evaluate_batch(sources, "js-huaian-2024")
    local = mujun.load_pack("js-huaian-2024").evaluate(sources).table
    assert pl.from_arrow(table).select("enterprise_id", "status", "tier").equals(
        local.select("enterprise_id", "status", "tier"))
    assert list(summary.notes) == mujun.load_pack("js-huaian-2024").evaluate(sources).notes


def test_a_scoped_caller_cannot_evaluate_another_region_hidden_under_a_bureau_header(client_as, county):
    sources = _bureaus(_in(county.head(20), REGION_B))
    sources["miit"] = sources["miit"].rename({"region": "行政区划代码"})
    assert _code(lambda: client_as("agency_a").evaluate_batch(sources, "js-huaian-2024")) == grpc.StatusCode.PERMISSION_DENIED


# -- every upload guarantee, per source -----------------------------------------------------------

def _ipc(table, **options) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        writer.write_table(table, max_chunksize=1 << 30)
    return sink.getvalue().to_pybytes()


def test_bytes_after_a_sources_end_of_stream_marker_are_refused(client_as, county):
    admin = client_as("admin")
    requests = _requests(CUT, _two(county, CUT))
    first = max(i for i, r in enumerate(requests) if r.WhichOneof("part") == "source_chunk" and r.source_chunk.source == 0)
    requests[first].source_chunk.chunk += b"\x00" * 16
    error = _raw_run(admin, requests)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "'tax'" in error.details()
    assert _code(lambda: admin.get_cycle(CUT, YEAR)) == grpc.StatusCode.NOT_FOUND


def test_a_source_that_decodes_beyond_the_batch_budget_is_refused_before_inflating(client_as, county):
    admin = client_as("admin")
    rows = 20_000  # 20 MB of text, a few KB compressed; the shared server decodes at most 16 MiB per batch
    bomb = pa.table({"enterprise_id": pa.array(["E" * 1000] * rows)})
    header = cycles_pb2.RunCycleHeader(region=CUT, year=YEAR, data_sources=[
        common_pb2.DataSource(name="tax", rows=5), common_pb2.DataSource(name="grid", rows=rows)])
    requests = [cycles_pb2.RunCycleRequest(header=header),
                *(cycles_pb2.RunCycleRequest(source_chunk=common_pb2.SourceChunk(source=i, chunk=c))
                  for i, c in ((0, _ipc(m.arrow_table(_in(county.head(5), CUT)))), (1, _ipc(bomb, compression="zstd"))))]
    assert len(requests[2].source_chunk.chunk) < 1 << 20
    error = _raw_run(admin, requests)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "data source 'grid'" in error.details()


def test_records_runs_need_an_operator_of_the_region(client_as, county):
    rows = _in(county.head(5), REGION_B).to_dicts()
    assert _code(lambda: client_as("operator_a").run_cycle_records(REGION_B, YEAR, rows)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: client_as("agency_a").run_cycle_records(REGION_A, YEAR, rows)) == grpc.StatusCode.PERMISSION_DENIED

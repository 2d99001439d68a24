"""Cycles.ExportDecisions: a cycle's current decisions in one Arrow stream, as the store holds them."""

from __future__ import annotations

import grpc
import polars as pl
import pyarrow.parquet as pq
import pytest

from mujun.synth import generate
from mujun_client import Client, RemoteError
from typer.testing import CliRunner

from mujun.cli import app
from server.serverkit import REGION_A

#: Years of REGION_A that only this file's cycles use.
APPEALED, DRAFT = 2019, 2018


def _firms(n: int, seed: int) -> pl.DataFrame:
    return generate(n, 1, seed, bad_fraction=0)[0].with_columns(pl.lit(REGION_A).alias("region"))


@pytest.fixture(scope="module")
def client_as_module(server):
    """``client_as_module("agency_a")``: a client with that token, kept for the module's cycles."""
    opened = []

    def make(who: str) -> Client:
        client = Client(server.address, server.tokens[who], timeout=60)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture(scope="module")
def appealed_cycle(client_as_module):
    """A frozen cycle of 60 firms, one of them appealed twice."""
    operator = client_as_module("operator_a")
    firms = _firms(60, 11)
    operator.run_cycle(REGION_A, APPEALED, firms, as_of="2024-12-31")
    operator.freeze_cycle(REGION_A, APPEALED)
    firm = firms["enterprise_id"][5]
    operator.appeal(REGION_A, APPEALED, firm, {"tax_wan": 5_000.0}, "tax bureau corrected the filing")
    operator.appeal(REGION_A, APPEALED, firm, {"tax_wan": 6_000.0}, "second correction")
    return firms, firm


def test_the_export_holds_exactly_what_list_decisions_pages(client_as_module, appealed_cycle):
    agency = client_as_module("agency_a")
    table, summary = agency.export_decisions(REGION_A, APPEALED)
    listed = list(agency.iter_decisions(REGION_A, APPEALED))
    exported = pl.from_arrow(table)
    assert summary.rows == exported.height == len(listed) == 60 and summary.cycle_state == "frozen"
    assert exported["enterprise_id"].to_list() == [d.result.enterprise_id for d in listed]
    assert exported["tier"].to_list() == [d.result.tier or None for d in listed]
    assert exported["score"].to_list() == [d.result.score if d.result.HasField("score") else None for d in listed]
    assert exported["rank"].to_list() == [d.result.rank if d.result.HasField("rank") else None for d in listed]
    assert exported["decision_version"].to_list() == [d.version for d in listed]
    assert exported["appeal_reason"].to_list() == [d.reason or None for d in listed]


def test_an_appealed_firm_is_exported_in_its_latest_version(client_as_module, appealed_cycle):
    _firms_, firm = appealed_cycle
    table, _ = client_as_module("agency_a").export_decisions(REGION_A, APPEALED)
    row = pl.from_arrow(table).filter(pl.col("enterprise_id") == firm).row(0, named=True)
    decision = client_as_module("agency_a").get_decision(REGION_A, APPEALED, firm)
    assert row["decision_version"] == decision.version == 3 and row["appeal_reason"] == "second correction"
    assert row["score"] == pytest.approx(decision.result.score) and row["tier"] == (decision.result.tier or None)


def test_only_the_columns_asked_for_are_exported(client_as_module, appealed_cycle):
    table, _ = client_as_module("agency_a").export_decisions(REGION_A, APPEALED,
                                                             columns=["enterprise_id", "tier", "measure.*"])
    full, _ = client_as_module("agency_a").export_decisions(REGION_A, APPEALED)
    measures = [c for c in full.column_names if c.startswith("measure.")]
    assert measures and table.column_names == ["enterprise_id", "tier", *measures]
    assert table.equals(full.select(table.column_names))


def test_a_column_that_names_nothing_is_refused(client_as_module, appealed_cycle):
    with pytest.raises(RemoteError) as caught:
        client_as_module("agency_a").export_decisions(REGION_A, APPEALED, columns=["tier", "no_such_column"])
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT and "columns[1]" in caught.value.message


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_a_compressed_export_round_trips_to_the_uncompressed_one(client_as_module, appealed_cycle, compression):
    plain, _ = client_as_module("agency_a").export_decisions(REGION_A, APPEALED, compression="none")
    packed, _ = client_as_module("agency_a").export_decisions(REGION_A, APPEALED, compression=compression)
    assert packed.equals(plain)


def test_another_regions_cycle_is_permission_denied(client_as_module, appealed_cycle):
    with pytest.raises(RemoteError) as caught:
        client_as_module("agency_b").export_decisions(REGION_A, APPEALED)
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_a_draft_is_exported_to_its_operator_and_refused_to_agencies(client_as_module):
    operator = client_as_module("operator_a")
    operator.run_cycle(REGION_A, DRAFT, _firms(20, 12), as_of="2024-12-31")
    table, summary = operator.export_decisions(REGION_A, DRAFT)
    assert table.num_rows == 20 and summary.cycle_state == "draft"
    with pytest.raises(RemoteError) as caught:
        client_as_module("agency_a").export_decisions(REGION_A, DRAFT)
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION and "draft" in caught.value.message


def test_the_export_streams_into_a_parquet_file_that_names_its_cycle(client_as_module, appealed_cycle, tmp_path):
    agency = client_as_module("agency_a")
    path, summary = agency.export_decisions(REGION_A, APPEALED, output=tmp_path / "list.parquet")
    table, _ = agency.export_decisions(REGION_A, APPEALED)
    assert pq.read_table(path).equals(table)
    metadata = pq.read_metadata(path).metadata
    assert metadata[b"mujun:region"] == REGION_A.encode() and metadata[b"mujun:cycle_state"] == b"frozen"
    assert metadata[b"mujun:pack_hash"] == summary.pack_hash.encode() and metadata[b"mujun:rows"] == b"60"


def test_an_unknown_cycle_is_not_found(client_as_module):
    with pytest.raises(RemoteError) as caught:
        client_as_module("agency_a").export_decisions(REGION_A, 2001)
    assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_mujun_cycle_export_writes_the_list_to_parquet_in_one_command(server, appealed_cycle, tmp_path):
    output = tmp_path / "list.parquet"
    done = CliRunner().invoke(app, ["cycle", "export", "--server", server.address, "--token",
                                    server.tokens["agency_a"], "--region", REGION_A, "--year", str(APPEALED),
                                    "--output", str(output), "--column", "enterprise_id", "--column", "tier"])
    assert done.exit_code == 0, done.output
    written = pl.read_parquet(output)
    assert written.columns == ["enterprise_id", "tier"] and written.height == 60
    assert "60 decisions" in done.output and not list(tmp_path.glob(".list.parquet.*"))  # no temporary left


def test_mujun_cycle_export_of_another_region_exits_1_and_writes_nothing(server, appealed_cycle, tmp_path):
    output = tmp_path / "list.parquet"
    done = CliRunner().invoke(app, ["cycle", "export", "--server", server.address, "--token",
                                    server.tokens["agency_b"], "--region", REGION_A, "--year", str(APPEALED),
                                    "--output", str(output)])
    assert done.exit_code == 1 and "PERMISSION_DENIED" in done.output  # the token must change, not the request
    assert not list(tmp_path.iterdir())

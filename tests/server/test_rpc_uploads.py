"""Uploads arrive whole or not at all: a cut, doubled or miscounted Arrow stream is refused, nothing
is stored, and an upload that inflates beyond the decoded-size limits is refused before it inflates."""

from __future__ import annotations

import io

import grpc
import polars as pl
import pyarrow as pa
import pytest

from mujun_wire.v1 import common_pb2, cycles_pb2, rule_engine_pb2
from mujun_client import RemoteError
from mujun_client import _messages as m
from mujun_wire import arrow as wire
from mujun_client._errors import from_rpc_error
from server.serverkit import REGION_A

PACK = "js-huaian-2024"
EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def _stream(table: pa.Table, *, batch_rows: int = 500, close: bool = True, **options) -> bytes:
    """The IPC stream of ``table``; ``close=False`` leaves out the end-of-stream marker (a cut stream)."""
    buffer = io.BytesIO()
    writer = pa.ipc.new_stream(buffer, table.schema, options=pa.ipc.IpcWriteOptions(**options))
    for batch in table.to_batches(max_chunksize=batch_rows):
        writer.write_batch(batch)
    if close:
        writer.close()
    return buffer.getvalue()


def _chunks(data: bytes, size: int = 64 * 1024) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _batch(client, data: bytes, *, rows: int | None = None, prior: bytes | None = None) -> pa.Table:
    header = rule_engine_pb2.BatchHeader(pack=common_pb2.PackRef(pack_id=PACK))
    if rows is not None:
        header.rows.CopyFrom(common_pb2.UploadRows(data=rows))
    requests = [rule_engine_pb2.EvaluateBatchRequest(header=header)]
    requests += [rule_engine_pb2.EvaluateBatchRequest(data_chunk=c) for c in _chunks(data)]
    requests += [rule_engine_pb2.EvaluateBatchRequest(prior_chunk=c) for c in _chunks(prior or b"")]
    try:
        return m.read_results(client.engine.EvaluateBatch(iter(requests), timeout=30, metadata=client.metadata),
                              [False])[0]
    except grpc.RpcError as error:
        raise from_rpc_error(error) from None


def _firms(n: int, **columns) -> pa.Table:
    """``n`` scorable enterprises with extra ``columns`` (arrays of n values)."""
    base = {"enterprise_id": pa.array([f"E{i}" for i in range(n)]), "region": pa.array([REGION_A] * n),
            "land_mu": pa.array([10.0] * n), "tax_wan": pa.array([50.0] * n), "revenue_wan": pa.array([900.0] * n)}
    return pa.table({**base, **columns})


def _refused(call) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value


@pytest.fixture(scope="module")
def county(enterprises) -> pa.Table:
    return enterprises[0].filter(pl.col("region") == REGION_A).to_arrow()


def test_a_complete_stream_with_its_declared_rows_is_scored(client_as, county):
    table = _batch(client_as("admin"), _stream(county), rows=county.num_rows)
    assert table.num_rows == county.num_rows


def test_a_stream_cut_at_a_record_batch_boundary_is_refused(client_as, county):
    cut = _stream(county, close=False)
    error = _refused(lambda: _batch(client_as("admin"), cut))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.violations == [("data_chunk", "the end-of-stream marker is missing")]


def test_two_streams_back_to_back_are_refused(client_as, county):
    doubled = _stream(county) + _stream(county)
    error = _refused(lambda: _batch(client_as("admin"), doubled))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.violations == [("data_chunk", "bytes after the end-of-stream marker")]


def test_a_row_count_other_than_the_declared_one_is_refused_naming_it(client_as, county):
    error = _refused(lambda: _batch(client_as("admin"), _stream(county), rows=county.num_rows + 500))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.violations == [("header.rows.data", f"declared {county.num_rows + 500}, received {county.num_rows}")]


def test_a_cut_prior_year_is_refused_too(client_as, county, enterprises):
    prior = _stream(enterprises[1].to_arrow(), close=False)
    error = _refused(lambda: _batch(client_as("admin"), _stream(county), prior=prior))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.violations == [("prior_chunk", "the end-of-stream marker is missing")]


def test_a_cycle_run_with_a_cut_stream_stores_nothing(client_as, county):
    operator = client_as("operator_a")
    header = cycles_pb2.RunCycleHeader(region=REGION_A, year=2025, as_of="2024-12-31")
    requests = [cycles_pb2.RunCycleRequest(header=header)]
    requests += [cycles_pb2.RunCycleRequest(data_chunk=c) for c in _chunks(_stream(county, close=False))]
    with pytest.raises(grpc.RpcError) as caught:
        operator.cycles.Run(iter(requests), timeout=30, metadata=operator.metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _refused(lambda: operator.get_cycle(REGION_A, 2025)).code == grpc.StatusCode.NOT_FOUND


def test_the_client_declares_every_tables_rows_and_ends_each_stream(county):
    requests = list(m.batch_requests(common_pb2.PackRef(pack_id=PACK), county, county.slice(0, 7), None, 4096))
    assert requests[0].header.rows == common_pb2.UploadRows(data=county.num_rows, prior=7)
    data = b"".join(r.data_chunk for r in requests[1:])
    assert data.endswith(EOS)


def test_a_compression_bomb_batch_is_refused_before_it_inflates(client_as):
    # 20 MiB of one repeated character: a few kB of zstd on the wire, over the 16 MiB per batch limit.
    bomb = _stream(_firms(1, note=pa.array(["x" * (20 << 20)])), compression="zstd")
    assert len(bomb) < 64 * 1024
    error = _refused(lambda: _batch(client_as("admin"), bomb))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit per batch is 16777216" in error.message


def test_compressed_batches_beyond_the_decoded_limit_per_upload_are_refused(client_as):
    # 10 batches of 8 MiB each: every one under the batch limit, together over the 64 MiB per upload.
    bomb = _stream(_firms(10, note=pa.array(["y" * (8 << 20)] * 10)), batch_rows=1, compression="zstd")
    error = _refused(lambda: _batch(client_as("admin"), bomb))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit per request" in error.message


def test_a_dictionary_column_that_expands_beyond_the_limit_is_refused(client_as):
    # One 1 MiB value repeated 100 times as a marked dictionary: 1 MiB on the wire, 100 MiB as strings.
    note = pa.DictionaryArray.from_arrays(pa.array([0] * 100, pa.int32()), pa.array(["z" * (1 << 20)], pa.large_string()))
    firms = _firms(100, note=note)
    notes = firms.cast(firms.schema.set(5, pa.field("note", note.type, metadata={wire.DICTIONARY_MARK: b"1"})))
    error = _refused(lambda: _batch(client_as("admin"), _stream(notes)))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED

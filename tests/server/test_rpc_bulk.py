"""EvaluateBatch answers in the compression and with the columns its header asks for, and compressed
uploads stay inside the decoded-size limits."""

from __future__ import annotations

import io

import grpc
import polars as pl
import pyarrow as pa
import pytest

import mujun
from mujun.server._ipc import _field, _table
from mujun_client import RemoteError
from mujun_client import _messages as m
from mujun_client._errors import from_rpc_error
from mujun_wire.v1 import common_pb2, rule_engine_pb2
from server.serverkit import REGION_A

PACK = "js-huaian-2024"
#: Arrow's BodyCompression codecs (Message.fbs CompressionType).
LZ4_FRAME, ZSTD = 0, 1


@pytest.fixture(scope="module")
def county(enterprises) -> pl.DataFrame:
    return enterprises[0].filter(pl.col("region") == REGION_A)


def _raw_batch(client, table: pa.Table, **header) -> list[bytes]:
    """The result chunks of an EvaluateBatch whose header carries ``header`` (as an old or a new client sends)."""
    requests = list(m.batch_requests(common_pb2.PackRef(pack_id=PACK), table, None, None, 1 << 20))
    for name, value in header.items():
        if name == "columns":
            requests[0].header.columns.extend(value)
        else:
            setattr(requests[0].header, name, value)
    try:
        responses = list(client.engine.EvaluateBatch(iter(requests), timeout=30, metadata=client.metadata))
    except grpc.RpcError as error:
        raise from_rpc_error(error) from None
    return [r.result_chunk for r in responses if r.WhichOneof("part") == "result_chunk"]


def _codecs(stream: bytes) -> set[int | None]:
    """The codec of every record batch of an IPC stream (None: uncompressed), read from its metadata."""
    found = set()
    reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(stream))
    for message in reader:
        if message.type != "record batch":
            continue
        metadata = message.metadata.to_pybytes()
        batch = _table(metadata, _field(metadata, _table(metadata, 0), 2))
        at = _field(metadata, batch, 3)
        if not at:
            found.add(None)
        else:
            codec_at = _field(metadata, _table(metadata, at), 0)
            found.add(metadata[codec_at] if codec_at else LZ4_FRAME)  # the default of the field is LZ4_FRAME
    return found


@pytest.mark.parametrize(("compression", "codec"), [("lz4", LZ4_FRAME), ("zstd", ZSTD)])
def test_the_answer_comes_in_the_compression_asked_for_and_equals_the_local_table(client_as, county, compression,
                                                                                 codec):
    local = mujun.load_pack(PACK).evaluate(county).table
    chunks = _raw_batch(client_as("admin"), county.to_arrow(), compression=m.compression_value(compression))
    assert _codecs(b"".join(chunks)) == {codec}
    table, _summary = client_as("admin").evaluate_batch(county, PACK, compression=compression)
    assert pl.from_arrow(table).equals(local)


def test_a_header_without_compression_is_answered_uncompressed(client_as, county):
    """Clients that predate the field get the stream they always got."""
    assert _codecs(b"".join(_raw_batch(client_as("admin"), county.to_arrow()))) == {None}


def test_an_unknown_compression_is_refused(client_as, county):
    with pytest.raises(RemoteError) as caught:
        _raw_batch(client_as("admin"), county.to_arrow(), compression=9)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT and "header.compression" in caught.value.message


def test_only_the_columns_asked_for_are_sent_in_the_order_asked(client_as, county):
    local = mujun.load_pack(PACK).evaluate(county).table
    table, summary = client_as("admin").evaluate_batch(county, PACK, columns=["tier", "enterprise_id", "indicator.*"])
    indicators = [c for c in local.columns if c.startswith("indicator.")]
    assert table.column_names == ["tier", "enterprise_id", *indicators]
    assert pl.from_arrow(table).equals(local.select(table.column_names))
    assert summary.rows == county.height  # the summary still counts every firm


def test_an_intermediate_value_may_be_asked_for_by_name(client_as, county):
    result = mujun.load_pack(PACK).evaluate(county)
    extra = next(c for c in result.explain_table().columns if c not in result.table.columns)
    table, _ = client_as("admin").evaluate_batch(county, PACK, columns=["enterprise_id", extra])
    assert pl.from_arrow(table).equals(result.explain_table().select("enterprise_id", extra))


def test_a_column_that_names_nothing_is_refused_with_its_position(client_as, county):
    with pytest.raises(RemoteError) as caught:
        client_as("admin").evaluate_batch(county, PACK, columns=["tier", "tire"])
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "header.columns[1]" in caught.value.message and "'tire'" in caught.value.message


def test_an_lz4_compression_bomb_is_refused_before_it_inflates(client_as):
    """The decoded-size budget counts LZ4 buffers from their declared length, as it does ZSTD's."""
    table = pa.table({"enterprise_id": ["E1"], "region": [REGION_A], "note": ["x" * (20 << 20)]})
    buffer = io.BytesIO()
    with pa.ipc.new_stream(buffer, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
        writer.write_table(table)
    bomb = buffer.getvalue()
    assert len(bomb) < 256 * 1024
    header = rule_engine_pb2.BatchHeader(pack=common_pb2.PackRef(pack_id=PACK))
    requests = [rule_engine_pb2.EvaluateBatchRequest(header=header), rule_engine_pb2.EvaluateBatchRequest(data_chunk=bomb)]
    client = client_as("admin")
    with pytest.raises(grpc.RpcError) as caught:
        list(client.engine.EvaluateBatch(iter(requests), timeout=30, metadata=client.metadata))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit per batch is 16777216" in caught.value.details()

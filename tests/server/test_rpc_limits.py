"""Oversized and malformed requests are refused with clear statuses; nothing reaches the engine."""

from __future__ import annotations

import grpc
import polars as pl
import pytest

from mujun_wire.v1 import common_pb2, rule_engine_pb2
from mujun_client import RemoteError

PACK = "js-huaian-2024"
RECORD = {"enterprise_id": "E1", "region": "320102", "land_mu": 10, "tax_wan": 50, "revenue_wan": 900}


def _error(call) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value


def test_a_message_over_the_size_limit_is_resource_exhausted(client_as):
    huge = {**RECORD, "note": "x" * (5 * 1024 * 1024)}
    error = _error(lambda: client_as("admin").evaluate([huge], PACK))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_too_many_records_in_one_call_is_resource_exhausted_and_says_the_limit(client_as):
    records = [{**RECORD, "enterprise_id": f"E{i}"} for i in range(1001)]
    error = _error(lambda: client_as("admin").evaluate(records, PACK))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "1000" in error.message


def test_a_record_over_the_record_size_limit_is_invalid(client_as):
    error = _error(lambda: client_as("admin").evaluate([{**RECORD, "note": "x" * 100_000}], PACK))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.violations[0][0] == "records[0]"


def test_a_record_without_an_id_is_invalid_with_a_field_violation(client_as):
    error = _error(lambda: client_as("admin").evaluate([RECORD, {**RECORD, "enterprise_id": ""}], PACK))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert ("records[1].enterprise_id", "is empty; every record needs its enterprise id") in error.violations


def test_malformed_protobuf_bytes_are_invalid_argument(server, tokens_for):
    with grpc.insecure_channel(server.address) as channel:
        call = channel.unary_unary("/mujun.v1.RuleEngine/Evaluate")
        with pytest.raises(grpc.RpcError) as caught:
            call(b"\xff\xff\xff\xff not protobuf", timeout=10,
                 metadata=(("authorization", f"Bearer {tokens_for['admin']}"),))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_malformed_arrow_bytes_are_invalid_argument(client_as):
    client = client_as("admin")
    header = rule_engine_pb2.EvaluateBatchRequest(header=rule_engine_pb2.BatchHeader(
        pack=common_pb2.PackRef(pack_id=PACK)))
    requests = [header, rule_engine_pb2.EvaluateBatchRequest(data_chunk=b"definitely not arrow")]
    with pytest.raises(grpc.RpcError) as caught:
        list(client.engine.EvaluateBatch(iter(requests), timeout=10, metadata=client.metadata))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_batch_stream_without_a_header_is_invalid(client_as):
    client = client_as("admin")
    with pytest.raises(grpc.RpcError) as caught:
        list(client.engine.EvaluateBatch(iter([rule_engine_pb2.EvaluateBatchRequest(data_chunk=b"x")]), timeout=10,
                                         metadata=client.metadata))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_batch_over_the_row_limit_is_resource_exhausted(client_as):
    ids = pl.DataFrame({"enterprise_id": [f"E{i}" for i in range(100_001)]})
    error = _error(lambda: client_as("admin").evaluate_batch(ids, PACK))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "100000" in error.message

"""A record's extras carry fields a pack declares beyond the canonical ones; they may never stand in
for a canonical field (the id, a number, a string), in an evaluation or in an appeal's correction."""

from __future__ import annotations

import grpc
import pytest

from mujun_wire.v1 import common_pb2, cycles_pb2, rule_engine_pb2
from server.serverkit import REGION_A

PACK = "js-huaian-2024"


def _record(enterprise_id: str = "E1", **extras) -> common_pb2.Record:
    return common_pb2.Record(enterprise_id=enterprise_id, region=REGION_A, land_mu=10, tax_wan=50, revenue_wan=900,
                             **extras)


def _evaluate(client, *records: common_pb2.Record) -> grpc.RpcError:
    request = rule_engine_pb2.EvaluateRequest(pack=common_pb2.PackRef(pack_id=PACK), records=records)
    with pytest.raises(grpc.RpcError) as caught:
        client.engine.Evaluate(request, timeout=30, metadata=client.metadata)
    return caught.value


@pytest.mark.parametrize("extras, field", [
    ({"extra_numbers": {"enterprise_id": 1}}, "records[0].extra_numbers['enterprise_id']"),
    ({"extra_strings": {"tax_wan": "abc"}}, "records[0].extra_strings['tax_wan']"),
    ({"extra_strings": {"flags": "x"}}, "records[0].extra_strings['flags']"),
    ({"extra_numbers": {"note": 1}, "extra_strings": {"note": "a"}}, "records[0].extra_strings['note']"),
])
def test_an_extra_shadowing_a_field_is_invalid_and_names_it(client_as, extras, field):
    error = _evaluate(client_as("admin"), _record(**extras))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.details()


def test_two_records_cannot_pose_as_one_id_through_an_extra(client_as):
    error = _evaluate(client_as("admin"), _record("E1", extra_strings={"enterprise_id": "SAME"}),
                      _record("E2", extra_strings={"enterprise_id": "SAME"}))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "records[0].extra_strings['enterprise_id']" in error.details()


def test_extras_that_are_not_fields_still_reach_the_engine(client_as):
    client = client_as("admin")
    request = rule_engine_pb2.EvaluateRequest(pack=common_pb2.PackRef(pack_id=PACK),
                                              records=[_record(extra_numbers={"patents": 3})])
    response = client.engine.Evaluate(request, timeout=30, metadata=client.metadata)
    assert [r.enterprise_id for r in response.results] == ["E1"]


def test_an_appeal_correction_may_not_shadow_a_field_either(published_cycle, client_as):
    cycle, mine = published_cycle
    operator = client_as("operator_a")
    request = cycles_pb2.AppealRequest(region=REGION_A, year=cycle.year, enterprise_id=mine["enterprise_id"][0],
                                       correction=common_pb2.Record(extra_strings={"tax_wan": "abc"}), reason="x")
    with pytest.raises(grpc.RpcError) as caught:
        operator.cycles.Appeal(request, timeout=30, metadata=operator.metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "correction.extra_strings['tax_wan']" in caught.value.details()

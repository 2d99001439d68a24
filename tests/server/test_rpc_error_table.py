"""The one table from mujun errors to gRPC statuses, and the generic INTERNAL for everything else."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from polars.exceptions import PanicException

from mujun.errors import (AlreadyExists, InputError, LimitExceeded, NotFound, PackError, PackIssue, PackNotFound,
                          PermissionDenied, PreconditionFailed, RequestInvalid, Unauthenticated)
from mujun.server.interceptors import ServiceInterceptor, _Call, _Seen, status_for
from mujun.server.metrics import Metrics

CASES = [
    (PackError([PackIssue("items.tax.weight", "must be a number")]), grpc.StatusCode.INVALID_ARGUMENT),
    (PackNotFound("no pack x"), grpc.StatusCode.NOT_FOUND),
    (InputError("not arrow", location="data"), grpc.StatusCode.INVALID_ARGUMENT),
    (RequestInvalid("bad", [("records[0].enterprise_id", "is empty")]), grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound("no decision"), grpc.StatusCode.NOT_FOUND),
    (AlreadyExists("taken"), grpc.StatusCode.ALREADY_EXISTS),
    (PreconditionFailed("not frozen"), grpc.StatusCode.FAILED_PRECONDITION),
    (Unauthenticated("no token"), grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied("other county"), grpc.StatusCode.PERMISSION_DENIED),
    (LimitExceeded("too big"), grpc.StatusCode.RESOURCE_EXHAUSTED),
]


@pytest.mark.parametrize(("error", "code"), CASES, ids=[type(e).__name__ for e, _ in CASES])
def test_each_mujun_error_maps_to_its_status(error, code):
    assert status_for(error).code == code.value[0]


def _violations(status) -> list[tuple[str, str]]:
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return [(v.field, v.description) for v in bad.field_violations]
    return []


def test_a_pack_error_carries_its_yaml_paths_as_field_violations():
    assert _violations(status_for(CASES[0][0])) == [("items.tax.weight", "must be a number")]


class _Context:
    def __init__(self):
        self.status = None

    def abort_with_status(self, status):
        self.status = status
        raise RuntimeError("aborted")

    def peer(self):
        return "test"


def test_an_unexpected_exception_becomes_internal_without_details():
    interceptor = ServiceInterceptor(authenticator=None, metrics=Metrics())
    context = _Context()
    with pytest.raises(RuntimeError, match="aborted"):
        interceptor._abort("/mujun.v1.Packs/List", KeyError("secret internals"), context, _Seen(0.0, "req-1"))
    assert context.status.code == grpc.StatusCode.INTERNAL
    assert "secret" not in context.status.details and "internal error" in context.status.details


class _CallContext(_Context):
    def invocation_metadata(self):
        return ()


def test_a_panic_inside_polars_becomes_internal_instead_of_leaving_the_call_hanging():
    def panics(request, context):
        raise PanicException("assertion failed: i < self.len()")

    interceptor = ServiceInterceptor(authenticator=None, metrics=Metrics())
    call = interceptor._wrap(_Call("/mujun.v1.Packs/List", "UNARY", True, False, False), panics)
    context = _CallContext()
    with pytest.raises(RuntimeError, match="aborted"):
        call(object(), context)
    assert context.status.code == grpc.StatusCode.INTERNAL

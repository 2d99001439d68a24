"""Errors the client raises: one type carrying the gRPC status and the server's rich details.

    RemoteError            any non-OK status (``code``, ``message``, ``reason``, ``violations``)
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

__all__ = ["RemoteError", "from_rpc_error"]


class RemoteError(Exception):
    """A call failed. ``violations`` lists ``(field, description)``, e.g. a pack's YAML paths."""

    def __init__(self, code: grpc.StatusCode, message: str, *, reason: str = "",
                 violations: list[tuple[str, str]] | None = None, metadata: dict[str, str] | None = None):
        super().__init__(f"{code.name}: {message}")
        self.metadata = dict(metadata or {})  # the ErrorInfo's (``oldest_cursor`` of an OUT_OF_RANGE watch)
        self.code = code
        self.message = message
        self.reason = reason
        self.violations = list(violations or [])


def from_rpc_error(error: grpc.RpcError) -> RemoteError:
    code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    message = error.details() if callable(getattr(error, "details", None)) else str(error)
    reason, violations, metadata = "", [], {}
    try:
        status = rpc_status.from_call(error)
    except (ValueError, AttributeError):
        status = None
    for detail in status.details if status is not None else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = [(v.field, v.description) for v in bad.field_violations]
    return RemoteError(code, message or "", reason=reason, violations=violations, metadata=metadata)

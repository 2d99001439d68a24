"""The one place where calls are authenticated, measured, logged and errors become gRPC statuses.

Every handler is wrapped so that (1) malformed request bytes become INVALID_ARGUMENT instead of
grpc's generic INTERNAL, (2) the caller's token is resolved and checked against the role table,
(3) mujun errors map to status codes through ``STATUS_BY_ERROR`` with rich details, and anything
unexpected becomes INTERNAL with a generic message (the traceback goes to the log, not the caller).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from polars.exceptions import PanicException

from mujun.errors import (AlreadyExists, InputError, LimitExceeded, MujunError, NotFound, OutOfRange, PackError,
                          PackNotFound, PermissionDenied, PreconditionFailed, RequestInvalid, Unauthenticated)
from mujun.server.auth import PUBLIC_PREFIXES, Authenticator, Principal
from mujun.server.config import ConfigError
from mujun.server.metrics import Metrics

__all__ = ["STATUS_BY_ERROR", "ServiceInterceptor", "CallContext", "status_for"]

log = logging.getLogger("mujun.server")
access_log = logging.getLogger("mujun.access")

#: mujun error type → gRPC status code; the first matching class wins (subclasses before bases).
STATUS_BY_ERROR: tuple[tuple[type[MujunError], grpc.StatusCode], ...] = (
    (PackNotFound, grpc.StatusCode.NOT_FOUND),
    (PackError, grpc.StatusCode.INVALID_ARGUMENT),
    (InputError, grpc.StatusCode.INVALID_ARGUMENT),
    (RequestInvalid, grpc.StatusCode.INVALID_ARGUMENT),
    (ConfigError, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (PreconditionFailed, grpc.StatusCode.FAILED_PRECONDITION),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (LimitExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (OutOfRange, grpc.StatusCode.OUT_OF_RANGE),
)

_DOMAIN = "mujun.cn"
#: What the boundary turns into a status. A panic inside Polars is a BaseException: let through, it
#: ended the handler without a status and the caller waited for its deadline.
_UNEXPECTED = (Exception, PanicException)


class _Malformed:
    """Stands in for a request whose bytes did not parse; the wrapped handler rejects it."""

    def __init__(self, error: Exception):
        self.error = error


class CallContext:
    """The grpc context plus the authenticated caller (``principal``), handed to servicers."""

    def __init__(self, context: grpc.ServicerContext, principal: Principal | None):
        self._context = context
        self.principal = principal

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def status_for(error: MujunError) -> status_pb2.Status:
    """The rich status of a mujun error: code, message, ErrorInfo and field violations."""
    code = next((c for kind, c in STATUS_BY_ERROR if isinstance(error, kind)), grpc.StatusCode.INTERNAL)
    metadata = {"location": error.location or ""}
    if isinstance(error, OutOfRange):
        metadata["oldest_cursor"] = str(error.oldest_cursor)  # where a watcher may resume
    details = [error_details_pb2.ErrorInfo(reason=error.code, domain=_DOMAIN, metadata=metadata)]
    violations: list[tuple[str, str]] = []
    if isinstance(error, PackError):
        violations = [(issue.path or "<pack>", issue.message) for issue in error.issues]
    elif isinstance(error, RequestInvalid):
        violations = error.violations
    elif isinstance(error, InputError) and error.location:
        violations = [(error.location, error.message)]
    if violations:
        details.append(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations]))
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    message = error.message if not isinstance(error, PackError) else str(error)
    return status_pb2.Status(code=code.value[0], message=message, details=packed)


def _internal() -> status_pb2.Status:
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error; the server log has the details")


class ServiceInterceptor(grpc.ServerInterceptor):
    def __init__(self, authenticator: Authenticator, metrics: Metrics):
        self._auth = authenticator
        self._metrics = metrics

    def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails):
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        public = method.startswith(PUBLIC_PREFIXES)
        deserialize = _tolerant(handler.request_deserializer)
        kinds = (
            ("unary_unary", grpc.unary_unary_rpc_method_handler, False, False, "UNARY"),
            ("unary_stream", grpc.unary_stream_rpc_method_handler, False, True, "SERVER_STREAM"),
            ("stream_unary", grpc.stream_unary_rpc_method_handler, True, False, "CLIENT_STREAM"),
            ("stream_stream", grpc.stream_stream_rpc_method_handler, True, True, "BIDI_STREAM"),
        )
        for attribute, factory, streaming_in, streaming_out, grpc_type in kinds:
            behavior = getattr(handler, attribute)
            if behavior is not None:
                wrapped = self._wrap(_Call(method, grpc_type, public, streaming_in, streaming_out), behavior)
                return factory(wrapped, request_deserializer=deserialize,
                               response_serializer=handler.response_serializer)
        return handler

    def _wrap(self, spec: _Call, behavior: Callable) -> Callable:
        method = spec.method

        def call(request: Any, context: grpc.ServicerContext) -> Any:
            seen = _Seen(time.perf_counter(), _request_id(context))
            service, _, name = method.lstrip("/").rpartition("/")
            self._metrics.grpc_started.labels(spec.grpc_type, service, name).inc()
            try:
                seen.principal = None if spec.public else self._auth.authenticate(method, context.invocation_metadata())
                request = _checked_stream(request) if spec.streaming_in else _checked(request)
                seen.region = "" if spec.streaming_in else str(getattr(request, "region", "") or "")
                result = behavior(request, CallContext(context, seen.principal))
                if spec.streaming_out:
                    return self._stream(spec, result, context, seen)
                return result
            except _UNEXPECTED as error:  # noqa: BLE001 - the boundary: every error becomes a status
                self._abort(method, error, context, seen)
            finally:
                if not spec.streaming_out or seen.code != "OK":
                    self._observe(spec, seen, context)

        return call

    def _stream(self, spec: _Call, responses: Iterator, context: grpc.ServicerContext, seen: _Seen) -> Iterator:
        try:
            yield from responses
        except _UNEXPECTED as error:  # noqa: BLE001 - see _wrap
            self._abort(spec.method, error, context, seen)
        finally:
            self._observe(spec, seen, context)

    def _abort(self, method: str, error: Exception, context: grpc.ServicerContext, seen: _Seen) -> None:
        if isinstance(error, MujunError):
            status = status_for(error)
            seen.reason = f"{error.code}: {error.message.splitlines()[0] if error.message else ''}"
        else:
            status = _internal()
            log.exception("%s failed", method, extra={"fields": {"request_id": seen.request_id}})
            seen.reason = "INTERNAL"
        seen.code = grpc.StatusCode(_code_tuple(status.code)).name
        context.abort_with_status(rpc_status.to_status(status))

    def _observe(self, spec: _Call, seen: _Seen, context: grpc.ServicerContext) -> None:
        """The access line (one per call) and the metrics."""
        elapsed = time.perf_counter() - seen.started
        self._metrics.observe_call(spec.method, spec.grpc_type, seen.code, elapsed)
        principal = seen.principal
        fields = {"method": spec.method, "code": seen.code, "duration_ms": round(elapsed * 1000, 3),
                  "principal": principal.actor if principal else None, "role": principal.role if principal else None,
                  "region": seen.region or None, "request_id": seen.request_id, "peer": context.peer()}
        if seen.reason:
            fields["reason"] = seen.reason
        # Health and reflection probes arrive every few seconds: their lines are DEBUG, every other call INFO.
        access_log.log(logging.DEBUG if spec.public else logging.INFO, "%s %s", spec.method, seen.code,
                       extra={"fields": fields})


@dataclass(frozen=True)
class _Call:
    method: str
    grpc_type: str
    public: bool
    streaming_in: bool
    streaming_out: bool


@dataclass
class _Seen:
    """What one call has shown so far, for its access line."""

    started: float
    request_id: str
    principal: Principal | None = None
    region: str = ""
    code: str = "OK"
    reason: str = ""


def _request_id(context: grpc.ServicerContext) -> str:
    """The caller's ``x-request-id`` (so a call can be followed across systems), else a new one."""
    given = next((v for k, v in context.invocation_metadata() if k == "x-request-id"), "")
    return str(given)[:128] if given else uuid.uuid4().hex[:16]


def _code_tuple(number: int) -> tuple[int, str]:
    return next(c.value for c in grpc.StatusCode if c.value[0] == number)


def _tolerant(deserializer: Callable | None) -> Callable | None:
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except (DecodeError, ValueError, RuntimeError) as error:
            return _Malformed(error)

    return parse


def _checked(request: Any) -> Any:
    if isinstance(request, _Malformed):
        raise RequestInvalid(f"the request is not a valid protobuf message of this method: {request.error}",
                             [("<message>", "malformed protobuf bytes")])
    return request


def _checked_stream(requests: Iterator) -> Iterator:
    for request in requests:
        yield _checked(request)

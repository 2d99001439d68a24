"""The synchronous client: one channel, a token, deadlines on every call, retries on UNAVAILABLE."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import polars as pl
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mujun._proto import (common_pb2, cycles_pb2, cycles_pb2_grpc, packs_pb2, packs_pb2_grpc, rule_engine_pb2,
                          rule_engine_pb2_grpc)
from mujun_client import _messages as m
from mujun_client import wire
from mujun_client._errors import RemoteError, from_rpc_error

__all__ = ["Client", "RemoteError", "channel_options", "credentials", "score_remote"]

MiB = 1024 * 1024


def channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    return [("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes)]


def credentials(tls_ca: str | bytes | Path | None) -> grpc.ChannelCredentials | None:
    """TLS credentials from a CA bundle (path or PEM bytes); None for a plaintext loopback channel."""
    if tls_ca is None:
        return None
    pem = tls_ca if isinstance(tls_ca, bytes) else Path(tls_ca).read_bytes()
    return grpc.ssl_channel_credentials(root_certificates=pem)


class _Retrying:
    """Deadline and retry policy shared by the sync and asyncio clients."""

    def __init__(self, token: str | None, timeout: float, retries: int, backoff: float):
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def delays(self, timeout: float | None) -> Iterator[tuple[float, float]]:
        """(remaining time for this attempt, pause before the next) per attempt."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            pause = min(self.backoff * 2 ** attempt, 5.0) * random.uniform(0.5, 1.0)
            yield max(remaining, 0.001), pause if attempt < self.retries and remaining > pause else -1.0

    @staticmethod
    def retriable(error: grpc.RpcError, allowed: bool) -> bool:
        return allowed and error.code() == grpc.StatusCode.UNAVAILABLE


class Client(_Retrying):
    """``Client("127.0.0.1:50051", token=...)``; every method raises :class:`RemoteError` on failure."""

    def __init__(self, target: str, token: str | None = None, *, tls_ca: str | bytes | Path | None = None,
                 timeout: float = 60.0, retries: int = 4, backoff: float = 0.1, max_message_bytes: int = 16 * MiB,
                 chunk_bytes: int = 1 * MiB):
        super().__init__(token, timeout, retries, backoff)
        creds = credentials(tls_ca)
        options = channel_options(max_message_bytes)
        self.channel = (grpc.secure_channel(target, creds, options) if creds
                        else grpc.insecure_channel(target, options))
        self.chunk_bytes = min(chunk_bytes, max_message_bytes - 1024)
        self.engine = rule_engine_pb2_grpc.RuleEngineStub(self.channel)
        self.packs = packs_pb2_grpc.PacksStub(self.channel)
        self.cycles = cycles_pb2_grpc.CyclesStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.channel)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    # -- plumbing -----------------------------------------------------------------------------------

    def _call(self, method: Callable, request: Any, *, timeout: float | None = None, retry: bool = True) -> Any:
        for remaining, pause in self.delays(timeout):
            try:
                return method(request, timeout=remaining, metadata=self.metadata)
            except grpc.RpcError as error:
                if not self.retriable(error, retry) or pause < 0:
                    raise from_rpc_error(error) from None
                time.sleep(pause)
        raise AssertionError("unreachable")

    def _upload(self, method: Callable, make_requests: Callable[[], Iterator], timeout: float | None) -> Any:
        """A client-streaming call, retried from the start (the requests are rebuilt) while UNAVAILABLE."""
        for remaining, pause in self.delays(timeout):
            try:
                return method(make_requests(), timeout=remaining, metadata=self.metadata)
            except grpc.RpcError as error:
                if not self.retriable(error, True) or pause < 0:
                    raise from_rpc_error(error) from None
                time.sleep(pause)
        raise AssertionError("unreachable")

    # -- RuleEngine ---------------------------------------------------------------------------------

    def evaluate(self, data: Any, pack_id: str | None = None, *, region: str | None = None, version: str = "",
                 as_of: str = "", parameters: dict[str, float] | None = None, prior: Any = None,
                 history: list[dict] | None = None, explain: bool = False,
                 timeout: float | None = None) -> rule_engine_pb2.EvaluateResponse:
        request = rule_engine_pb2.EvaluateRequest(
            pack=m.pack_ref(pack_id, region=region, version=version, as_of=as_of, parameters=parameters),
            records=m.records(data), prior=m.records(prior), explain=explain,
            history=[common_pb2.HistoryEntry(**h) for h in history or []])
        return self._call(self.engine.Evaluate, request, timeout=timeout)

    def explain(self, data: Any, enterprise_id: str, pack_id: str | None = None, *, region: str | None = None,
                prior: Any = None, timeout: float | None = None) -> rule_engine_pb2.ExplainResponse:
        request = rule_engine_pb2.ExplainRequest(pack=m.pack_ref(pack_id, region=region), records=m.records(data),
                                                 prior=m.records(prior), enterprise_id=enterprise_id)
        return self._call(self.engine.Explain, request, timeout=timeout)

    def evaluate_batch(self, data: Any, pack_id: str | None = None, *, region: str | None = None, version: str = "",
                       parameters: dict[str, float] | None = None, prior: Any = None, history: Any = None,
                       cycle: int | None = None, timeout: float | None = None
                       ) -> tuple[pl.DataFrame, rule_engine_pb2.BatchSummary]:
        """Score a whole table; returns the server's result table (as the local engine gives it) and a summary."""
        ref = m.pack_ref(pack_id, region=region, version=version, parameters=parameters)
        for remaining, pause in self.delays(timeout):
            received = [False]
            try:
                responses = self.engine.EvaluateBatch(m.batch_requests(ref, data, prior, history, self.chunk_bytes, cycle),
                                                      timeout=remaining, metadata=self.metadata)
                return m.read_results(responses, received)
            except grpc.RpcError as error:
                if received[0] or not self.retriable(error, True) or pause < 0:
                    raise from_rpc_error(error) from None
                time.sleep(pause)
        raise AssertionError("unreachable")

    # -- Packs --------------------------------------------------------------------------------------

    def list_packs(self) -> packs_pb2.ListPacksResponse:
        return self._call(self.packs.List, packs_pb2.ListPacksRequest())

    def get_pack(self, pack_id: str, version: str = "") -> packs_pb2.PackVersion:
        return self._call(self.packs.Get, packs_pb2.GetPackRequest(pack_id=pack_id, version=version))

    def validate_pack(self, yaml_text: str) -> packs_pb2.ValidatePackResponse:
        return self._call(self.packs.Validate, packs_pb2.ValidatePackRequest(yaml=yaml_text))

    def publish_pack(self, yaml_text: str) -> packs_pb2.PackVersion:
        # Safe to retry: publishing identical content returns the stored version.
        return self._call(self.packs.Publish, packs_pb2.PublishPackRequest(yaml=yaml_text))

    def activate_pack(self, region: str, pack_id: str, version: str = "", effective_from: str = "") -> packs_pb2.Activation:
        return self._call(self.packs.Activate, packs_pb2.ActivatePackRequest(
            region=region, pack_id=pack_id, version=version, effective_from=effective_from), retry=False)

    def pack_history(self, pack_id: str = "", region: str = "") -> packs_pb2.PackHistoryResponse:
        return self._call(self.packs.History, packs_pb2.PackHistoryRequest(pack_id=pack_id, region=region))

    # -- Cycles -------------------------------------------------------------------------------------

    def run_cycle(self, region: str, year: int, data: Any, *, prior: Any = None, history: Any = None,
                  as_of: str = "", timeout: float | None = None) -> cycles_pb2.Cycle:
        return self._upload(self.cycles.Run,
                            lambda: m.run_requests(region, year, as_of, data, prior, history, self.chunk_bytes),
                            timeout)

    def get_cycle(self, region: str, year: int) -> cycles_pb2.Cycle:
        return self._call(self.cycles.Get, cycles_pb2.GetCycleRequest(region=region, year=year))

    def freeze_cycle(self, region: str, year: int) -> cycles_pb2.Cycle:
        return self._call(self.cycles.Freeze, cycles_pb2.CycleRef(region=region, year=year))

    def publish_cycle(self, region: str, year: int) -> cycles_pb2.Cycle:
        return self._call(self.cycles.Publish, cycles_pb2.CycleRef(region=region, year=year))

    def appeal(self, region: str, year: int, enterprise_id: str, correction: dict[str, Any],
               reason: str) -> cycles_pb2.Decision:
        # Not retried: an appeal that reached the server must not be recorded twice.
        request = cycles_pb2.AppealRequest(region=region, year=year, enterprise_id=enterprise_id,
                                           correction=wire.record_message(correction), reason=reason)
        return self._call(self.cycles.Appeal, request, retry=False)

    def get_decision(self, region: str, year: int, enterprise_id: str, *, with_history: bool = False,
                     with_trace: bool = False) -> cycles_pb2.Decision:
        return self._call(self.cycles.GetDecision, cycles_pb2.GetDecisionRequest(
            region=region, year=year, enterprise_id=enterprise_id, with_history=with_history, with_trace=with_trace))

    def list_decisions(self, region: str, year: int, *, tier: str = "", group: str = "", page_size: int = 100,
                       page_token: str = "") -> cycles_pb2.ListDecisionsResponse:
        return self._call(self.cycles.ListDecisions, cycles_pb2.ListDecisionsRequest(
            region=region, year=year, tier=tier, group=group, page_size=page_size, page_token=page_token))

    def iter_decisions(self, region: str, year: int, **filters: Any) -> Iterator[cycles_pb2.Decision]:
        token = ""
        while True:
            page = self.list_decisions(region, year, page_token=token, **filters)
            yield from page.decisions
            token = page.next_page_token
            if not token:
                return

    def audit_log(self, region: str = "", page_size: int = 100, page_token: str = "") -> cycles_pb2.AuditLogResponse:
        return self._call(self.cycles.AuditLog, cycles_pb2.AuditLogRequest(region=region, page_size=page_size,
                                                                           page_token=page_token))

    # -- health -------------------------------------------------------------------------------------

    def health(self, service: str = "", timeout: float | None = None) -> str:
        response = self._call(self.health_stub.Check, health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def score_remote(server: str, token: str | None, pack_id: str, data: pl.DataFrame, prior: pl.DataFrame | None = None,
                 history: pl.DataFrame | None = None, *, cycle: int | None = None,
                 tls_ca: str | bytes | Path | None = None, parameters: dict[str, float] | None = None,
                 timeout: float = 600.0) -> pl.DataFrame:
    """Score ``data`` on a server: the same table ``mujun.load_pack(pack_id).evaluate(...).table`` gives locally."""
    with Client(server, token, tls_ca=tls_ca, timeout=timeout) as client:
        table, _summary = client.evaluate_batch(data, pack_id, prior=prior, history=history, parameters=parameters,
                                                cycle=cycle)
    return table


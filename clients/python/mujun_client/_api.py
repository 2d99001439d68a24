"""Every call of mujun.v1, defined once for the sync and the asyncio client.

A method here builds the request and names the RPC; the transport (``_unary``, ``_upload``,
``_batch`` of :class:`~mujun_client.Client` or :class:`~mujun_client.AsyncClient`) sends it, so the
sync client returns the response and the asyncio client an awaitable of it.

Retries: unary calls are retried by gRPC itself (the channel's service config ``retryPolicy``, on
``UNAVAILABLE`` with exponential backoff), except Packs.Activate and Cycles.Appeal, which must not
be recorded twice. Uploads are not left to that policy: gRPC replays only the first 256 KiB of a
request stream it kept, so an upload is retried here, rebuilt from its tables, while no response
has arrived.
"""

from __future__ import annotations

import json
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mujun_wire.records import record_message
from mujun_wire.v1 import (common_pb2, cycles_pb2, cycles_pb2_grpc, packs_pb2, packs_pb2_grpc, rule_engine_pb2,
                           rule_engine_pb2_grpc)

from mujun_client import _messages as m
from mujun_client._errors import from_rpc_error

__all__ = ["Api", "DEFAULT_COMPRESSION", "MiB", "channel_options", "credentials", "is_loopback"]

MiB = 1024 * 1024

#: Compression of bulk tables both ways: "auto" is LZ4 across a network (it halves the bytes for a
#: few hundred ms of CPU per million rows) and none on loopback, where bytes cost nothing to move and
#: compressing them measured slower end to end (benchmarks/results/bulk.json).
DEFAULT_COMPRESSION = "auto"
_LOOPBACK = ("localhost", "127.", "[::1]", "::1", "unix:", "ipv4:127.", "ipv6:[::1]")


def is_loopback(target: str) -> bool:
    """True when a channel target names this machine (loopback address, localhost or a Unix socket)."""
    host = target.lower().removeprefix("dns:///").removeprefix("dns:")
    return host.startswith(_LOOPBACK)

#: Calls that change state in a way a repeat would record twice: never retried.
NOT_RETRIED = (("mujun.v1.Packs", "Activate"), ("mujun.v1.Cycles", "Appeal"))
#: Uploads: retried by the client from the start (``upload_attempts``), so not by the channel as well.
UPLOADS = (("mujun.v1.Cycles", "Run"), ("mujun.v1.RuleEngine", "EvaluateBatch"))
SERVICES = ("mujun.v1.RuleEngine", "mujun.v1.Packs", "mujun.v1.Cycles", "grpc.health.v1.Health")


def service_config(retries: int, backoff: float) -> str:
    """gRPC's retry policy for every mujun service, without it for ``NOT_RETRIED`` and ``UPLOADS``."""
    policy = {"maxAttempts": max(2, min(retries + 1, 5)), "initialBackoff": f"{backoff:.3f}s", "maxBackoff": "5s",
              "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
    configs = [{"name": [{"service": s} for s in SERVICES], "retryPolicy": policy}]
    configs.append({"name": [{"service": s, "method": name} for s, name in (*NOT_RETRIED, *UPLOADS)]})
    return json.dumps({"methodConfig": configs if retries > 0 else configs[1:]})


def channel_options(max_message_bytes: int, retries: int = 4, backoff: float = 0.1) -> list[tuple[str, Any]]:
    return [("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.enable_retries", 1 if retries > 0 else 0),
            ("grpc.service_config", service_config(retries, backoff))]


def credentials(tls_ca: str | bytes | Path | None) -> grpc.ChannelCredentials | None:
    """TLS credentials from a CA bundle (path or PEM bytes); None for a plaintext loopback channel."""
    if tls_ca is None:
        return None
    pem = tls_ca if isinstance(tls_ca, bytes) else Path(tls_ca).read_bytes()
    return grpc.ssl_channel_credentials(root_certificates=pem)


def _serving_status(response: health_pb2.HealthCheckResponse) -> str:
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


class Api(ABC):
    """The calls; subclasses provide the channel and the transport."""

    def __init__(self, channel: Any, token: str | None, *, timeout: float, retries: int, backoff: float,
                 chunk_bytes: int, max_message_bytes: int, target: str = ""):
        self.channel = channel
        self.loopback = is_loopback(target)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.chunk_bytes = min(chunk_bytes, max_message_bytes - 1024)
        self.engine = rule_engine_pb2_grpc.RuleEngineStub(channel)
        self.packs = packs_pb2_grpc.PacksStub(channel)
        self.cycles = cycles_pb2_grpc.CyclesStub(channel)
        self.health_stub = health_pb2_grpc.HealthStub(channel)

    def upload_attempts(self, timeout: float | None) -> Iterator[tuple[float, float]]:
        """(time left for this attempt, pause before the next; -1 for the last) per upload attempt."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            pause = min(self.backoff * 2 ** attempt, 5.0) * random.uniform(0.5, 1.0)
            yield max(remaining, 0.001), pause if attempt < self.retries and remaining > pause else -1.0

    @staticmethod
    def upload_pause(error: grpc.RpcError, pause: float, received: bool) -> float:
        """The pause before an upload's next attempt; raises :class:`RemoteError` when it must not be
        retried (not UNAVAILABLE, an answer already arrived, or no attempt left)."""
        if received or error.code() != grpc.StatusCode.UNAVAILABLE or pause < 0:
            raise from_rpc_error(error) from None
        return pause

    def _codec(self, compression: str) -> str:
        """``compression`` with "auto" resolved: none on loopback, LZ4 across a network."""
        if compression == "auto":
            return "none" if self.loopback else "lz4"
        return compression

    # -- transport (the subclass) -------------------------------------------------------------------

    @abstractmethod
    def _unary(self, method: Any, request: Any, *, timeout: float | None = None, then: Any = None) -> Any:
        """One unary call; ``then`` turns the response into the method's result."""

    @abstractmethod
    def _upload(self, method: Any, make_requests: Any, timeout: float | None) -> Any:
        """A client-streaming call whose requests ``make_requests()`` builds afresh for each attempt."""

    @abstractmethod
    def _batch(self, make_requests: Any, timeout: float | None) -> Any:
        """EvaluateBatch: the upload, then the result table decoded from the response stream."""

    @abstractmethod
    def _export(self, request: Any, output: Any, timeout: float | None) -> Any:
        """ExportDecisions: the table (or the Parquet file written) decoded from the response stream."""

    # -- RuleEngine ---------------------------------------------------------------------------------

    def evaluate(self, data: Any, pack_id: str | None = None, *, region: str | None = None, version: str = "",
                 as_of: str = "", parameters: dict[str, float] | None = None, prior: Any = None,
                 history: list[dict] | None = None, explain: bool = False, timeout: float | None = None,
                 cycle: tuple[str, int] | None = None) -> Any:
        """Score a few records (protobuf records); returns ``EvaluateResponse``.

        ``cycle=(region, year)``: against that frozen cycle's benchmarks and cut lines, with its pinned
        pack (give no pack, prior or history then); ``response.basis`` says what they were scored against.
        """
        if cycle is not None:
            request = rule_engine_pb2.EvaluateRequest(records=m.records(data), explain=explain,
                                                      cycle=cycles_pb2.CycleRef(region=cycle[0], year=cycle[1]))
            return self._unary(self.engine.Evaluate, request, timeout=timeout)
        request = rule_engine_pb2.EvaluateRequest(
            pack=m.pack_ref(pack_id, region=region, version=version, as_of=as_of, parameters=parameters),
            records=m.records(data), prior=m.records(prior), explain=explain,
            history=[common_pb2.HistoryEntry(**h) for h in history or []])
        return self._unary(self.engine.Evaluate, request, timeout=timeout)

    def explain(self, data: Any, enterprise_id: str, pack_id: str | None = None, *, region: str | None = None,
                prior: Any = None, timeout: float | None = None, cycle: tuple[str, int] | None = None) -> Any:
        """One record's trace; ``cycle=(region, year)``: against that frozen cycle, as ``evaluate``."""
        if cycle is not None:
            request = rule_engine_pb2.ExplainRequest(records=m.records(data), enterprise_id=enterprise_id,
                                                     cycle=cycles_pb2.CycleRef(region=cycle[0], year=cycle[1]))
            return self._unary(self.engine.Explain, request, timeout=timeout)
        request = rule_engine_pb2.ExplainRequest(pack=m.pack_ref(pack_id, region=region), records=m.records(data),
                                                 prior=m.records(prior), enterprise_id=enterprise_id)
        return self._unary(self.engine.Explain, request, timeout=timeout)

    def evaluate_batch(self, data: Any, pack_id: str | None = None, *, region: str | None = None, version: str = "",
                       parameters: dict[str, float] | None = None, prior: Any = None, history: Any = None,
                       cycle: int | None = None, prefer: str | list[str] | tuple[str, ...] = (),
                       columns: list[str] | None = None, compression: str = DEFAULT_COMPRESSION,
                       timeout: float | None = None) -> Any:
        """Score a whole table (or several bureaus' tables, as ``run_cycle``) over Arrow IPC; returns
        (result table as pyarrow, ``BatchSummary`` with the run's notes and warnings): the table the
        local engine gives, or only its ``columns`` (names, patterns such as ``"item.*"``, or names of
        the run's intermediate values). ``compression`` ("auto", "lz4", "zstd", "none") codes both directions."""
        ref = m.pack_ref(pack_id, region=region, version=version, parameters=parameters)
        order = (prefer,) if isinstance(prefer, str) else tuple(prefer)
        return self._batch(lambda: m.batch_requests(ref, data, prior, history, self.chunk_bytes, cycle, order,
                                                    self._codec(compression), columns), timeout)

    # -- Packs --------------------------------------------------------------------------------------

    def list_packs(self) -> Any:
        return self._unary(self.packs.List, packs_pb2.ListPacksRequest())

    def get_pack(self, pack_id: str, version: str = "") -> Any:
        return self._unary(self.packs.Get, packs_pb2.GetPackRequest(pack_id=pack_id, version=version))

    def validate_pack(self, yaml_text: str) -> Any:
        return self._unary(self.packs.Validate, packs_pb2.ValidatePackRequest(yaml=yaml_text))

    def publish_pack(self, yaml_text: str) -> Any:
        # Safe to retry: publishing identical content returns the stored version.
        return self._unary(self.packs.Publish, packs_pb2.PublishPackRequest(yaml=yaml_text))

    def activate_pack(self, region: str, pack_id: str, version: str = "", effective_from: str = "") -> Any:
        return self._unary(self.packs.Activate, packs_pb2.ActivatePackRequest(
            region=region, pack_id=pack_id, version=version, effective_from=effective_from))

    def pack_history(self, pack_id: str = "", region: str = "") -> Any:
        return self._unary(self.packs.History, packs_pb2.PackHistoryRequest(pack_id=pack_id, region=region))

    def simulate(self, region: str, year: int, *, candidate_yaml: str = "", pack_id: str = "", version: str = "",
                 overrides: dict[str, Any] | None = None, sweep: str = "", html: bool = False,
                 timeout: float | None = None) -> Any:
        """What-if on the stored cycle (region, year): its pack (OLD) against NEW — ``candidate_yaml``, a
        published ``pack_id`` (``version``; default latest) or, with neither, a copy of OLD — with
        ``overrides`` ({parameter: value}, as ``--set``). Returns ``SimulateResponse``: ``report_json``
        (report.json's text) and, with ``html``, the report page."""
        request = packs_pb2.SimulateRequest(
            region=region, year=year, candidate_yaml=candidate_yaml, candidate_pack_id=pack_id,
            candidate_version=version, overrides={k: str(v) for k, v in (overrides or {}).items()}, sweep=sweep,
            with_html=html)
        return self._unary(self.packs.Simulate, request, timeout=timeout)

    def diff_packs(self, pack_id: str, version: str = "", other_pack_id: str = "", other_version: str = "") -> Any:
        """What changed from one published version to another (``other_pack_id`` empty: the same pack),
        one line each (``list[str]``)."""
        request = packs_pb2.DiffPacksRequest(pack_id=pack_id, version=version, other_pack_id=other_pack_id,
                                             other_version=other_version)
        return self._unary(self.packs.Diff, request, then=lambda response: list(response.lines))

    # -- Cycles -------------------------------------------------------------------------------------

    def run_cycle(self, region: str, year: int, data: Any, *, prior: Any = None, history: Any = None,
                  as_of: str = "", prefer: str | list[str] | tuple[str, ...] = (), compression: str = DEFAULT_COMPRESSION,
                  timeout: float | None = None) -> Any:
        """Score the region's firms as the cycle's draft over Arrow IPC; returns ``Cycle`` (with the run's
        notes and warnings). ``data`` is one table, or several bureaus' tables (``[tax, grid]`` or
        ``{"tax": tax, "grid": grid}``) joined on the enterprise id as the local ``pack.evaluate``;
        ``prefer`` names the sources whose values win where two differ."""
        order = (prefer,) if isinstance(prefer, str) else tuple(prefer)
        return self._upload(self.cycles.Run,
                            lambda: m.run_requests(region, year, as_of, data, prior, history, self.chunk_bytes, order,
                                                   self._codec(compression)),
                            timeout)

    def run_cycle_records(self, region: str, year: int, data: Any, *, prior: Any = None,
                          history: list[dict] | None = None, as_of: str = "", timeout: float | None = None) -> Any:
        """The same run from protobuf records (Cycles.RunRecords), for a county of at most the server's
        max_records_per_request firms; no Arrow needed on the wire."""
        return self._unary(self.cycles.RunRecords, m.run_records_request(region, year, as_of, data, prior, history),
                           timeout=timeout)

    def get_cycle(self, region: str, year: int) -> Any:
        return self._unary(self.cycles.Get, cycles_pb2.GetCycleRequest(region=region, year=year))

    def list_cycles(self, region: str = "", year: int = 0, page_size: int = 100, page_token: str = "") -> Any:
        """The cycles of ``region`` (empty: every region the token may see); ``year`` 0: every year."""
        return self._unary(self.cycles.List, cycles_pb2.ListCyclesRequest(region=region, year=year,
                                                                           page_size=page_size, page_token=page_token))

    def freeze_cycle(self, region: str, year: int) -> Any:
        return self._unary(self.cycles.Freeze, cycles_pb2.CycleRef(region=region, year=year))

    def publish_cycle(self, region: str, year: int) -> Any:
        return self._unary(self.cycles.Publish, cycles_pb2.CycleRef(region=region, year=year))

    def appeal(self, region: str, year: int, enterprise_id: str, correction: dict[str, Any], reason: str) -> Any:
        request = cycles_pb2.AppealRequest(region=region, year=year, enterprise_id=enterprise_id,
                                           correction=record_message(correction), reason=reason)
        return self._unary(self.cycles.Appeal, request)

    def get_decision(self, region: str, year: int, enterprise_id: str, *, with_history: bool = False,
                     with_trace: bool = False) -> Any:
        return self._unary(self.cycles.GetDecision, cycles_pb2.GetDecisionRequest(
            region=region, year=year, enterprise_id=enterprise_id, with_history=with_history, with_trace=with_trace))

    def list_decisions(self, region: str, year: int, *, tier: str = "", group: str = "", page_size: int = 100,
                       page_token: str = "") -> Any:
        return self._unary(self.cycles.ListDecisions, cycles_pb2.ListDecisionsRequest(
            region=region, year=year, tier=tier, group=group, page_size=page_size, page_token=page_token))

    def export_decisions(self, region: str, year: int, *, columns: list[str] | None = None,
                         compression: str = DEFAULT_COMPRESSION, output: str | Path | None = None,
                         timeout: float | None = None) -> Any:
        """A cycle's current decisions in one stream: (pyarrow Table, ``ExportSummary``), or with ``output``
        written to that Parquet file as they arrive, (path, summary); the file's metadata names the cycle,
        its state and pack (``mujun:*`` keys). ``columns`` as ``evaluate_batch``."""
        request = m.export_request(region, year, columns, self._codec(compression), self.chunk_bytes)
        return self._export(request, output, timeout)

    def audit_log(self, region: str = "", page_size: int = 100, page_token: str = "") -> Any:
        return self._unary(self.cycles.AuditLog, cycles_pb2.AuditLogRequest(region=region, page_size=page_size,
                                                                             page_token=page_token))

    # -- health -------------------------------------------------------------------------------------

    def health(self, service: str = "", timeout: float | None = None) -> Any:
        """``"SERVING"`` when the server (or ``service``) is up."""
        return self._unary(self.health_stub.Check, health_pb2.HealthCheckRequest(service=service), timeout=timeout,
                           then=_serving_status)

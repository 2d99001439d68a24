"""The asyncio client (grpc.aio): the same calls as :class:`~mujun_client.Client`, awaitable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import polars as pl
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mujun._proto import cycles_pb2, cycles_pb2_grpc, packs_pb2, packs_pb2_grpc, rule_engine_pb2, rule_engine_pb2_grpc
from mujun_client import _messages as m
from mujun_client._client import MiB, _Retrying, channel_options, credentials
from mujun_client._errors import from_rpc_error

__all__ = ["AsyncClient"]


class AsyncClient(_Retrying):
    def __init__(self, target: str, token: str | None = None, *, tls_ca: str | bytes | Path | None = None,
                 timeout: float = 60.0, retries: int = 4, backoff: float = 0.1, max_message_bytes: int = 16 * MiB,
                 chunk_bytes: int = 1 * MiB):
        super().__init__(token, timeout, retries, backoff)
        creds = credentials(tls_ca)
        options = channel_options(max_message_bytes)
        self.channel = (grpc.aio.secure_channel(target, creds, options) if creds
                        else grpc.aio.insecure_channel(target, options))
        self.chunk_bytes = min(chunk_bytes, max_message_bytes - 1024)
        self.engine = rule_engine_pb2_grpc.RuleEngineStub(self.channel)
        self.packs = packs_pb2_grpc.PacksStub(self.channel)
        self.cycles = cycles_pb2_grpc.CyclesStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.channel)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.channel.close()

    async def _call(self, method: Callable, request: Any, *, timeout: float | None = None, retry: bool = True) -> Any:
        for remaining, pause in self.delays(timeout):
            try:
                return await method(request, timeout=remaining, metadata=self.metadata)
            except grpc.RpcError as error:
                if not self.retriable(error, retry) or pause < 0:
                    raise from_rpc_error(error) from None
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def evaluate(self, data: Any, pack_id: str | None = None, *, region: str | None = None,
                       parameters: dict[str, float] | None = None, prior: Any = None, explain: bool = False,
                       timeout: float | None = None) -> rule_engine_pb2.EvaluateResponse:
        request = rule_engine_pb2.EvaluateRequest(pack=m.pack_ref(pack_id, region=region, parameters=parameters),
                                                  records=m.records(data), prior=m.records(prior), explain=explain)
        return await self._call(self.engine.Evaluate, request, timeout=timeout)

    async def evaluate_batch(self, data: Any, pack_id: str | None = None, *, region: str | None = None,
                             prior: Any = None, history: Any = None, timeout: float | None = None
                             ) -> tuple[pl.DataFrame, rule_engine_pb2.BatchSummary]:
        ref = m.pack_ref(pack_id, region=region)
        for remaining, pause in self.delays(timeout):
            chunks: list[bytes] = []
            summary = None
            try:
                call = self.engine.EvaluateBatch(m.batch_requests(ref, data, prior, history, self.chunk_bytes),
                                                 timeout=remaining, metadata=self.metadata)
                async for response in call:
                    if response.WhichOneof("part") == "result_chunk":
                        chunks.append(response.result_chunk)
                    else:
                        summary = response.summary
                return m.chunks_to_frame(chunks), summary
            except grpc.RpcError as error:
                if chunks or not self.retriable(error, True) or pause < 0:
                    raise from_rpc_error(error) from None
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def list_packs(self) -> packs_pb2.ListPacksResponse:
        return await self._call(self.packs.List, packs_pb2.ListPacksRequest())

    async def get_decision(self, region: str, year: int, enterprise_id: str) -> cycles_pb2.Decision:
        return await self._call(self.cycles.GetDecision, cycles_pb2.GetDecisionRequest(
            region=region, year=year, enterprise_id=enterprise_id))

    async def list_decisions(self, region: str, year: int, *, tier: str = "", group: str = "", page_size: int = 100,
                             page_token: str = "") -> cycles_pb2.ListDecisionsResponse:
        return await self._call(self.cycles.ListDecisions, cycles_pb2.ListDecisionsRequest(
            region=region, year=year, tier=tier, group=group, page_size=page_size, page_token=page_token))

    async def health(self, service: str = "", timeout: float | None = None) -> str:
        response = await self._call(self.health_stub.Check, health_pb2.HealthCheckRequest(service=service),
                                    timeout=timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

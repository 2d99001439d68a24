"""The asyncio client (grpc.aio): every call of :class:`~mujun_client.Client`, awaitable (one definition, ``_api``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa

from mujun_client import _messages as m
from mujun_client._api import MiB, Api, channel_options, credentials
from mujun_client._errors import from_rpc_error

__all__ = ["AsyncClient"]


class AsyncClient(Api):
    def __init__(self, target: str, token: str | None = None, *, tls_ca: str | bytes | Path | None = None,
                 timeout: float = 60.0, retries: int = 4, backoff: float = 0.1, max_message_bytes: int = 16 * MiB,
                 chunk_bytes: int = 1 * MiB):
        creds = credentials(tls_ca)
        options = channel_options(max_message_bytes, retries, backoff)
        channel = (grpc.aio.secure_channel(target, creds, options) if creds
                   else grpc.aio.insecure_channel(target, options))
        super().__init__(channel, token, timeout=timeout, retries=retries, backoff=backoff, chunk_bytes=chunk_bytes,
                         max_message_bytes=max_message_bytes, target=target)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.channel.close()

    async def iter_decisions(self, region: str, year: int, **filters: Any) -> AsyncIterator[Any]:
        """Every decision of a cycle, page by page: ``async for decision in client.iter_decisions(...)``."""
        token = ""
        while True:
            page = await self.list_decisions(region, year, page_token=token, **filters)
            for decision in page.decisions:
                yield decision
            token = page.next_page_token
            if not token:
                return

    async def watch_decisions(self, region: str = "", *, from_cursor: int | None = None, tiers: tuple[str, ...] = (),
                              measures: tuple[str, ...] = (), reconnect_pause: float = 0.5,
                              max_pause: float = 5.0) -> AsyncIterator[Any]:
        """``async for change in client.watch_decisions(...)``: as :meth:`Client.watch_decisions`, reconnecting
        after UNAVAILABLE from the last cursor it yielded."""
        cursor, pause = from_cursor, reconnect_pause
        while True:
            call = self.events.WatchDecisions(m.watch_request(region, tiers, measures, cursor), metadata=self.metadata,
                                              wait_for_ready=True)
            try:
                if cursor is None:
                    cursor = m.start_cursor(await call.initial_metadata())
                async for change in call:
                    cursor, pause = change.cursor, reconnect_pause
                    yield change
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise from_rpc_error(error) from None
            finally:
                call.cancel()
            await asyncio.sleep(pause)
            pause = min(pause * 2, max_pause)

    # -- transport ----------------------------------------------------------------------------------

    async def _unary(self, method: Callable, request: Any, *, timeout: float | None = None, then: Any = None) -> Any:
        try:
            response = await method(request, timeout=timeout or self.timeout, metadata=self.metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return then(response) if then else response

    async def _upload(self, method: Callable, make_requests: Callable[[], Iterator], timeout: float | None) -> Any:
        async def attempt(remaining: float, _received: list[bool]) -> Any:
            return await method(make_requests(), timeout=remaining, metadata=self.metadata)

        return await self._retried(attempt, timeout)

    async def _batch(self, make_requests: Callable[[], Iterator], timeout: float | None) -> tuple[pa.Table, Any]:
        async def attempt(remaining: float, received: list[bool]) -> tuple[pa.Table, Any]:
            chunks: list[bytes] = []
            summary = None
            async for response in self.engine.EvaluateBatch(make_requests(), timeout=remaining, metadata=self.metadata):
                received[0] = True
                if response.WhichOneof("part") == "result_chunk":
                    chunks.append(response.result_chunk)
                else:
                    summary = response.summary
            return m.chunks_to_table(chunks), summary

        return await self._retried(attempt, timeout)

    async def _export(self, request: Any, output: str | Path | None, timeout: float | None) -> tuple[Any, Any]:
        try:
            responses = [response async for response in self.cycles.ExportDecisions(
                request, timeout=timeout or self.timeout, metadata=self.metadata)]
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return m.read_export(iter(responses), request, output)

    async def _retried(self, attempt: Callable[[float, list[bool]], Any], timeout: float | None) -> Any:
        """An upload, sent again from the start while the server is UNAVAILABLE and nothing came back."""
        for remaining, pause in self.upload_attempts(timeout):
            received = [False]
            try:
                return await attempt(remaining, received)
            except grpc.RpcError as error:
                await asyncio.sleep(self.upload_pause(error, pause, received[0]))
        raise AssertionError("unreachable")

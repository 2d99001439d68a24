"""The synchronous client: one channel, a token, deadlines on every call, gRPC's retry policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa

from mujun_client import _messages as m
from mujun_client._api import MiB, Api, channel_options, credentials
from mujun_client._errors import RemoteError, from_rpc_error

__all__ = ["Client", "RemoteError", "score_remote"]

#: Response header of WatchDecisions: the cursor the stream starts after.


class Client(Api):
    """``Client("127.0.0.1:50051", token=...)``; every method raises :class:`RemoteError` on failure."""

    def __init__(self, target: str, token: str | None = None, *, tls_ca: str | bytes | Path | None = None,
                 timeout: float = 60.0, retries: int = 4, backoff: float = 0.1, max_message_bytes: int = 16 * MiB,
                 chunk_bytes: int = 1 * MiB):
        creds = credentials(tls_ca)
        options = channel_options(max_message_bytes, retries, backoff)
        channel = grpc.secure_channel(target, creds, options) if creds else grpc.insecure_channel(target, options)
        super().__init__(channel, token, timeout=timeout, retries=retries, backoff=backoff, chunk_bytes=chunk_bytes,
                         max_message_bytes=max_message_bytes, target=target)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def iter_decisions(self, region: str, year: int, **filters: Any) -> Iterator[Any]:
        """Every decision of a cycle, page by page."""
        token = ""
        while True:
            page = self.list_decisions(region, year, page_token=token, **filters)
            yield from page.decisions
            token = page.next_page_token
            if not token:
                return

    def watch_decisions(self, region: str = "", *, from_cursor: int | None = None, tiers: tuple[str, ...] = (),
                        measures: tuple[str, ...] = (), reconnect_pause: float = 0.5,
                        max_pause: float = 5.0) -> Iterator[Any]:
        """Every decision change (``DecisionChange`` messages) after ``from_cursor`` (None: from now on; 0: the
        oldest retained), forever. After UNAVAILABLE (a server restart, a dropped connection) it reconnects with
        the last cursor it yielded, so nothing is missed and nothing comes twice; other errors raise
        :class:`RemoteError` (OUT_OF_RANGE: the cursor is older than the server keeps). ``close()`` the
        iterator to stop."""
        cursor, pause = from_cursor, reconnect_pause
        while True:
            call = self.events.WatchDecisions(m.watch_request(region, tiers, measures, cursor), metadata=self.metadata,
                                              wait_for_ready=True)
            try:
                if cursor is None:
                    cursor = m.start_cursor(call.initial_metadata())
                for change in call:
                    cursor, pause = change.cursor, reconnect_pause
                    yield change
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE:
                    raise from_rpc_error(error) from None
            finally:
                call.cancel()
            time.sleep(pause)
            pause = min(pause * 2, max_pause)

    # -- transport ----------------------------------------------------------------------------------

    def _unary(self, method: Callable, request: Any, *, timeout: float | None = None, then: Any = None) -> Any:
        try:
            response = method(request, timeout=timeout or self.timeout, metadata=self.metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return then(response) if then else response

    def _upload(self, method: Callable, make_requests: Callable[[], Iterator], timeout: float | None) -> Any:
        return self._retried(lambda remaining, _received: method(make_requests(), timeout=remaining,
                                                                 metadata=self.metadata), timeout)

    def _batch(self, make_requests: Callable[[], Iterator], timeout: float | None) -> tuple[pa.Table, Any]:
        return self._retried(lambda remaining, received: m.read_results(
            self.engine.EvaluateBatch(make_requests(), timeout=remaining, metadata=self.metadata), received), timeout)

    def _export(self, request: Any, output: str | Path | None, timeout: float | None) -> tuple[Any, Any]:
        try:
            return m.read_export(self.cycles.ExportDecisions(request, timeout=timeout or self.timeout,
                                                             metadata=self.metadata), request, output)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def _retried(self, attempt: Callable[[float, list[bool]], Any], timeout: float | None) -> Any:
        """An upload, sent again from the start while the server is UNAVAILABLE and nothing came back."""
        for remaining, pause in self.upload_attempts(timeout):
            received = [False]
            try:
                return attempt(remaining, received)
            except grpc.RpcError as error:
                time.sleep(self.upload_pause(error, pause, received[0]))
        raise AssertionError("unreachable")

def score_remote(server: str, token: str | None, pack_id: str, data: Any, prior: Any = None, history: Any = None,
                 *, cycle: int | None = None, tls_ca: str | bytes | Path | None = None,
                 parameters: dict[str, float] | None = None, timeout: float = 600.0) -> pa.Table:
    """Score ``data`` on a server: the table ``mujun.load_pack(pack_id).evaluate(...).table`` gives locally."""
    with Client(server, token, tls_ca=tls_ca, timeout=timeout) as client:
        table, _summary = client.evaluate_batch(data, pack_id, prior=prior, history=history, parameters=parameters,
                                                cycle=cycle)
    return table

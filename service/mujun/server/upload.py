"""Uploads of whole tables (EvaluateBatch, Cycles.Run): admission, pacing and Arrow IPC decoding.

The stream is a header, then the chunks of one IPC stream per table in a fixed order: data, then
optionally prior-year data, then history. An upload may send several bureaus' tables instead of
one data table: the header names them (``data_sources``) and each comes as its own complete stream,
in that order, in ``source_chunk`` parts. Decoding pulls chunks while they arrive, so a large batch
is never held twice in memory and decoding overlaps the transfer.

Nothing of an upload is used unless all of it arrived as sent: every table's stream ends with its
end-of-stream marker, nothing follows it, and the row counts the header declares match (see
:mod:`mujun.server._ipc`). A caller cannot hold the server either: uploads are capped overall and per
caller, a silent stream is cut off, the messages and the decoded bytes of an upload are bounded, and
only ``upload_workers`` uploads are decoded, evaluated and answered at once, which bounds the server's
memory (a caller who stops reading its answer is cancelled, so it cannot keep a slot).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from mujun.errors import InputError, LimitExceeded, MujunError, RequestInvalid
from mujun.server._ipc import DecodedBudget, IpcStream, decoded_marked_bytes, to_frame
from mujun.server.config import ServerConfig
from mujun_wire.arrow import DICTIONARY_MARK

__all__ = ["Upload", "Uploads", "read_upload"]

_ORDER = ("data_chunk", "prior_chunk", "history_chunk")


@dataclass(frozen=True)
class Upload:
    header: Any
    data: pl.DataFrame | dict[str, pl.DataFrame]  # one table, or several sources by name in header order
    prior: pl.DataFrame | None
    history: pl.DataFrame | None


class _Parts:
    """The request stream with one part of look-ahead, counting messages and bytes against the limits."""

    def __init__(self, requests: Iterator[Any], config: ServerConfig):
        self._requests = iter(requests)
        self._config = config
        self._bytes = 0
        self._messages = 1
        first = next(self._requests, None)
        if first is None or first.WhichOneof("part") != "header":
            raise RequestInvalid("the stream must start with a header", [("header", "send it as the first message")])
        self.header = first.header
        self.sources = list(getattr(self.header, "data_sources", ()))
        self.pending: tuple[str, bytes] | None = None
        self._rank = 0
        self._source = 0
        self.advance()

    def _source_part(self, request: Any) -> str:
        """``source_chunk[i]``: a chunk of the i-th declared source, which come in header order."""
        index = request.source_chunk.source
        if not self.sources:
            raise RequestInvalid("source_chunk without header.data_sources", [("source_chunk", "name the sources in "
                                 "the header, or send one table in data_chunk")])
        if not 0 <= index < len(self.sources):
            raise RequestInvalid(f"source_chunk for source {index}; the header names {len(self.sources)}",
                                 [("source_chunk.source", f"between 0 and {len(self.sources) - 1}")])
        if index < self._source:
            raise RequestInvalid(f"a chunk of source {index} after source {self._source}: send each source's stream "
                                 "whole, in header order", [("source_chunk.source", "out of order")])
        self._source = index
        return f"source_chunk[{index}]"

    def advance(self) -> None:
        for request in self._requests:
            self._messages += 1
            if self._messages > self._config.max_upload_messages:
                raise LimitExceeded(f"the upload exceeds {self._config.max_upload_messages} messages; send the "
                                    "table in chunks of about 1 MiB", location="messages")
            part = request.WhichOneof("part")
            if part is None:
                continue
            if part == "header":
                raise RequestInvalid("a second header in the stream", [("header", "send exactly one, first")])
            if part == "data_chunk" and self.sources:
                raise RequestInvalid("data_chunk with header.data_sources: send each source in source_chunk",
                                     [("data_chunk", "not with data_sources")])
            rank = _ORDER.index("data_chunk" if part == "source_chunk" else part)
            if rank < self._rank:
                raise RequestInvalid(f"{part} after {_ORDER[self._rank]}: send data, then prior, then history",
                                     [(part, "out of order")])
            self._rank = rank
            if part == "source_chunk":
                chunk = request.source_chunk.chunk
                part = self._source_part(request)
            else:
                chunk = getattr(request, part)
            self._bytes += len(chunk)
            if self._bytes > self._config.max_batch_bytes:
                raise LimitExceeded(f"the upload exceeds {self._config.max_batch_bytes} bytes; split the table into "
                                    "several batches", location=part)
            self.pending = (part, chunk)
            return
        self.pending = None

    def chunks(self, part: str) -> Iterator[bytes]:
        while self.pending is not None and self.pending[0] == part:
            chunk = self.pending[1]
            self.advance()
            yield chunk


def _read_table(parts: _Parts, part: str, what: str, max_rows: int, budget: DecodedBudget) -> pl.DataFrame | None:
    if parts.pending is None or parts.pending[0] != part:
        return None
    source = IpcStream(parts.chunks(part), what, budget)
    try:
        reader = pa.ipc.open_stream(source)
        batches, rows = [], 0
        for batch in reader:
            batch.validate(full=True)  # offsets, indices, UTF-8: unchecked bytes could crash the process
            rows += batch.num_rows
            if rows > max_rows:
                raise LimitExceeded(f"{what}: more than {max_rows} rows; the limit per batch is {max_rows}",
                                    location=what)
            batches.append(batch)
        if not source.ended:  # pyarrow stops at the marker; IpcStream raises when the bytes end first
            raise RequestInvalid(f"{what}: the Arrow IPC stream has no end-of-stream marker",
                                 [(part, "the end-of-stream marker is missing")])
        table = pa.Table.from_batches(batches, schema=reader.schema)
        _require_unique_names(table, what)
        marked = [field.name for field in table.schema if (field.metadata or {}).get(DICTIONARY_MARK)]
        if marked:
            budget.spend(decoded_marked_bytes(table, marked), what, batch=False)
        return to_frame(table)  # columns dictionary-encoded for the wire come back as strings
    except (MujunError, pa.ArrowException, OSError, ValueError, pl.exceptions.PolarsError,
            pl.exceptions.PanicException) as exc:  # ValueError: a column name that is not UTF-8
        if source.error is not None:  # our own finding, whatever pyarrow made of it
            raise source.error from None
        if isinstance(exc, MujunError):
            raise
        raise InputError(f"{what}: not a valid Arrow IPC stream ({exc}); encode the table with "
                         "pyarrow.ipc.new_stream and send its bytes in order", location=what) from None


def _check_rows(header: Any, tables: dict[str, pl.DataFrame | None], sources: dict[str, pl.DataFrame]) -> None:
    """The row counts the header declares must be the rows that arrived (a source's always, the
    tables' when the header declares them)."""
    violations = [(f"header.data_sources[{i}].rows", f"declared {source.rows} for {source.name!r}, received "
                   f"{sources[source.name].height}")
                  for i, source in enumerate(getattr(header, "data_sources", ()))
                  if source.rows != sources[source.name].height]
    if header.HasField("rows"):
        violations += [(f"header.rows.{name}", f"declared {getattr(header.rows, name)}, received "
                        f"{table.height if table is not None else 0}")
                       for name, table in tables.items()
                       if getattr(header.rows, name) != (table.height if table is not None else 0)]
    if violations:
        raise RequestInvalid(f"the upload does not hold the rows its header declares ({violations[0][0]}: "
                             f"{violations[0][1]}); part of it was lost on the way and nothing was scored",
                             violations)


def read_upload(requests: Iterator[Any], config: ServerConfig) -> Upload:
    parts = _Parts(requests, config)
    budget = DecodedBudget(config.max_decoded_bytes, config.max_decoded_batch_bytes)
    sources = _read_sources(parts, config, budget)
    data = None if sources else _read_table(parts, "data_chunk", "data", config.max_batch_rows, budget)
    if data is None and not sources:
        raise RequestInvalid("the stream carried no data", [("data_chunk", "send the table as Arrow IPC stream bytes")])
    prior = _read_table(parts, "prior_chunk", "prior", config.max_batch_rows, budget)
    history = _read_table(parts, "history_chunk", "history", config.max_batch_rows, budget)
    if parts.pending is not None:
        raise RequestInvalid(f"unexpected {parts.pending[0]} at the end of the stream",
                             [(parts.pending[0], "send data, then prior, then history")])
    _check_rows(parts.header, {"data": data, "prior": prior, "history": history}, sources)
    return Upload(parts.header, data if data is not None else sources, prior, history)


def _read_sources(parts: _Parts, config: ServerConfig, budget: DecodedBudget) -> dict[str, pl.DataFrame]:
    """Each source the header names, from its own complete stream (the same checks as one table)."""
    names = [source.name for source in parts.sources]
    bad = [(f"header.data_sources[{i}].name", "is empty" if not name else f"{name!r} is given twice")
           for i, name in enumerate(names) if not name or names.index(name) != i]
    if bad:
        raise RequestInvalid(f"header.data_sources: {bad[0][0]} {bad[0][1]}; name each source once", bad)
    tables = {}
    for index, name in enumerate(names):
        what = f"data source {name!r}"
        table = _read_table(parts, f"source_chunk[{index}]", what, config.max_batch_rows, budget)
        if table is None:
            raise RequestInvalid(f"{what} (source {index}) was not sent; nothing was scored",
                                 [(f"source_chunk[{index}]", "send every source the header names, in order")])
        tables[name] = table
    return tables


class _Paced:
    """The request stream read by a helper thread, so that a caller who stops sending is cut off.

    grpc's request iterator blocks without a timeout; the helper blocks in it instead and hands the
    messages over through a small queue (which also keeps at most a few messages in memory).
    """

    _END = object()

    def __init__(self, requests: Iterator[Any], pool: futures.Executor, idle: float, total: float):
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._stop = threading.Event()
        self._idle = idle
        self._deadline = time.monotonic() + total
        self._total = total
        pool.submit(self._pump, requests)

    def _pump(self, requests: Iterator[Any]) -> None:
        try:
            for request in requests:
                if not self._put(request):
                    return
            self._put(self._END)
        except BaseException as error:  # noqa: BLE001 - handed to the reading thread, which raises it
            self._put(error)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """Let the helper go (it ends once grpc ends the call, if it is waiting for a message)."""
        self._stop.set()

    def messages(self) -> Iterator[Any]:
        while True:
            left = self._deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(min(self._idle, left), 0.0))
            except queue.Empty:
                if left <= self._idle:
                    raise LimitExceeded(f"the upload took longer than {self._total:g} s; send it faster or in "
                                        "several batches", location="stream") from None
                raise LimitExceeded(f"the upload sent nothing for {self._idle:g} s and was cut off; keep "
                                    "sending until the stream is complete", location="stream") from None
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class Uploads:
    """Admission, pacing and work slots of the server's uploads, with the threads they run on."""

    def __init__(self, config: ServerConfig):
        self._config = config
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()
        self._work = threading.BoundedSemaphore(config.upload_workers)
        # Two threads per admitted upload (its handler; its reader, then its answer's watchdog) and a
        # few to refuse the rest.
        self.handlers = futures.ThreadPoolExecutor(config.max_uploads + 4, thread_name_prefix="mujun-upload")
        self._readers = futures.ThreadPoolExecutor(config.max_uploads + 4, thread_name_prefix="mujun-upload-read")

    @contextmanager
    def admitted(self, principal: Any) -> Iterator[None]:
        """Hold one of the upload places for the whole call, or RESOURCE_EXHAUSTED at once."""
        caller = principal.actor if principal is not None else "<anonymous>"
        with self._lock:
            if sum(self._running.values()) >= self._config.max_uploads:
                raise LimitExceeded(f"{self._config.max_uploads} uploads are in progress, the server's limit; retry "
                                    "shortly", location="uploads")
            if self._running[caller] >= self._config.max_uploads_per_caller:
                raise LimitExceeded(f"{caller} has {self._config.max_uploads_per_caller} uploads in progress, the "
                                    "limit per caller; wait for one to finish", location="uploads")
            self._running[caller] += 1
        try:
            yield
        finally:
            with self._lock:
                self._running[caller] -= 1
                if not self._running[caller]:
                    del self._running[caller]

    @contextmanager
    def working(self, context: Any) -> Iterator[None]:
        """One of ``upload_workers`` slots while the upload is decoded, evaluated and answered."""
        remaining = context.time_remaining() if context is not None else None
        wait = min(self._config.upload_queue_seconds, remaining if remaining is not None else float("inf"))
        if not self._work.acquire(timeout=max(wait, 0.0)):
            raise LimitExceeded(f"the server is busy with {self._config.upload_workers} uploads; retry shortly",
                                location="uploads")
        try:
            yield
        finally:
            self._work.release()

    def respond(self, context: Any, responses: Iterator[Any]) -> Iterator[Any]:
        """Pass the responses on; a caller who stops reading them for ``upload_idle_seconds`` is cancelled
        (grpc blocks in each send until the caller takes the message, holding the upload's slot)."""
        sent = [time.monotonic()]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.25):
                if time.monotonic() - sent[0] > self._config.upload_idle_seconds:
                    context.cancel()
                    return

        self._readers.submit(watch)
        try:
            for response in responses:
                sent[0] = time.monotonic()
                yield response
        finally:
            done.set()

    def read(self, requests: Iterator[Any]) -> Upload:
        paced = _Paced(requests, self._readers, self._config.upload_idle_seconds, self._config.upload_max_seconds)
        try:
            return read_upload(paced.messages(), self._config)
        finally:
            paced.close()

    def close(self) -> None:
        self.handlers.shutdown(wait=False, cancel_futures=True)
        self._readers.shutdown(wait=False, cancel_futures=True)


def _require_unique_names(table: pa.Table, what: str) -> None:
    """Arrow allows a column name twice, a table of records does not: say which, before Polars fails."""
    names = table.column_names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"{what}: column(s) {', '.join(map(repr, repeated))} appear more than once; "
                         "give each column once", location=what)

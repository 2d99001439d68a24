"""Upload stage: the framing of one Arrow IPC stream, checked message by message before pyarrow decodes it.

pyarrow's stream reader treats the end of the bytes like the end-of-stream marker and never says
which one it saw, so a stream cut at a record-batch boundary decodes as a smaller table. It also
decompresses a batch before anyone can count its size. This reader walks the stream's framing
(``0xFFFFFFFF``, metadata length, flatbuffer metadata, body), reads each message whole and hands it
to pyarrow only after checking it:

* the stream ends with the end-of-stream marker, and nothing of the table follows it;
* each record or dictionary batch decodes to at most ``max_decoded_batch_bytes`` and the upload to at
  most the budget left, counted from the metadata (and, for compressed buffers, from the
  uncompressed length each one starts with), so a compression bomb is refused before it is inflated.

Only the few flatbuffer fields needed are read (Message.header, Message.bodyLength,
RecordBatch.buffers, RecordBatch.compression, DictionaryBatch.data); see Arrow's ``Message.fbs``.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from mujun_wire.arrow import DICTIONARY_MARK

from mujun.errors import InputError, LimitExceeded, RequestInvalid

__all__ = ["DecodedBudget", "IpcStream", "decoded_marked_bytes", "to_frame"]

_CONTINUATION = b"\xff\xff\xff\xff"
_DICTIONARY_BATCH, _RECORD_BATCH = 2, 3


class DecodedBudget:
    """Decoded bytes an upload may still use, shared by its tables."""

    def __init__(self, max_request: int, max_batch: int):
        self.max_request = max_request
        self.max_batch = max_batch
        self.used = 0

    def spend(self, size: int, what: str, *, batch: bool = True) -> None:
        """Count ``size`` decoded bytes of one record batch (``batch``) or of a later expansion."""
        if batch and size > self.max_batch:
            raise LimitExceeded(f"{what}: a record batch decodes to {size} bytes; the limit per batch is "
                                f"{self.max_batch}. Write smaller batches (pyarrow max_chunksize)", location=what)
        self.used += size
        if self.used > self.max_request:
            raise LimitExceeded(f"{what}: the upload decodes to more than {self.max_request} bytes, the limit per "
                                "request; split the table into several batches", location=what)


class _Chunks:
    """Exact-size reads over the chunk iterator of one table."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._head = memoryview(b"")

    def take(self, size: int) -> bytes:
        """``size`` bytes, or fewer when the table's chunks end first."""
        if len(self._head) >= size:
            piece, self._head = self._head[:size], self._head[size:]
            return piece.tobytes()
        pieces, missing = [self._head], size - len(self._head)
        self._head = memoryview(b"")
        for chunk in self._chunks:
            if len(chunk) >= missing:
                view = memoryview(chunk)
                pieces.append(view[:missing])
                self._head = view[missing:]
                return b"".join(pieces)
            pieces.append(memoryview(chunk))
            missing -= len(chunk)
        return b"".join(pieces)

    def any_left(self) -> bool:
        return bool(self._head) or any(len(chunk) for chunk in self._chunks)


def _u16(buf: bytes, at: int) -> int:
    return struct.unpack_from("<H", buf, at)[0]


def _u32(buf: bytes, at: int) -> int:
    return struct.unpack_from("<I", buf, at)[0]


def _i64(buf: bytes, at: int) -> int:
    return struct.unpack_from("<q", buf, at)[0]


def _field(buf: bytes, table: int, slot: int) -> int:
    """Absolute position of a flatbuffer table's field ``slot``, or 0 when absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    entry = 4 + 2 * slot
    if entry >= _u16(buf, vtable):
        return 0
    offset = _u16(buf, vtable + entry)
    return table + offset if offset else 0


def _table(buf: bytes, at: int) -> int:
    return at + _u32(buf, at)


def _decoded_size(metadata: bytes, body: bytes) -> int:
    """Bytes a message's buffers decode to, from its flatbuffer metadata and (compressed) body."""
    message = _table(metadata, 0)
    kind_at, header_at = _field(metadata, message, 1), _field(metadata, message, 2)
    kind = metadata[kind_at] if kind_at else 0
    if kind not in (_DICTIONARY_BATCH, _RECORD_BATCH) or not header_at:
        return 0
    batch = _table(metadata, header_at)
    if kind == _DICTIONARY_BATCH:
        data_at = _field(metadata, batch, 1)
        if not data_at:
            return 0
        batch = _table(metadata, data_at)
    buffers_at, compressed = _field(metadata, batch, 2), bool(_field(metadata, batch, 3))
    if not buffers_at:
        return 0
    vector = _table(metadata, buffers_at)
    count = _u32(metadata, vector)
    if vector + 4 + 16 * count > len(metadata):
        raise ValueError(f"{count} buffers do not fit in the message metadata")
    total = 0
    for i in range(count):
        offset, length = struct.unpack_from("<qq", metadata, vector + 4 + 16 * i)
        if offset < 0 or length < 0 or offset + length > len(body):
            raise ValueError(f"buffer {i} lies outside the message body")
        if not compressed or length == 0:
            total += length
        elif length < 8:
            raise ValueError(f"compressed buffer {i} is shorter than its length prefix")
        else:
            declared = _i64(body, offset)  # -1: this buffer was left uncompressed
            total += length - 8 if declared == -1 else declared
    return total


class IpcStream(io.RawIOBase):
    """A file over one table's chunks that yields checked, whole IPC messages to pyarrow.

    A problem found while pyarrow reads is kept in ``error`` (pyarrow may wrap what ``read`` raises);
    the caller raises it after decoding, or instead of pyarrow's own complaint.
    """

    def __init__(self, chunks: Iterator[bytes], what: str, budget: DecodedBudget):
        self._chunks = _Chunks(chunks)
        self._what = what
        self._budget = budget
        self._pending: list[bytes] = []
        self._ended = False
        self.error: Exception | None = None

    @property
    def ended(self) -> bool:
        """True once the end-of-stream marker went to pyarrow."""
        return self._ended

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # noqa: D102 - io protocol; pyarrow calls read(n) only
        if size < 0:
            raise io.UnsupportedOperation("read() needs a size")
        out: list[bytes] = []
        while size > 0:
            if not self._pending and not self._next_message():
                break
            head = self._pending[0]
            if len(head) <= size:
                out.append(self._pending.pop(0))  # whole pieces pass without a copy (bodies are large)
                size -= len(head)
            else:
                out.append(head[:size])
                self._pending[0] = head[size:]
                size = 0
        return out[0] if len(out) == 1 else b"".join(out)

    def _fail(self, error: Exception) -> None:
        self.error = error
        raise error

    def _truncated(self) -> RequestInvalid:
        return RequestInvalid(f"{self._what}: the Arrow IPC stream ends inside a message; the upload was cut short "
                              "and nothing was scored", [(f"{self._what}_chunk", "the stream is truncated")])

    def _invalid(self, exc: Exception) -> InputError:
        return InputError(f"{self._what}: not a valid Arrow IPC stream ({exc}); encode the table with "
                          "pyarrow.ipc.new_stream and send its bytes in order", location=self._what)

    def _next_message(self) -> bool:
        if self._ended or self.error is not None:
            return False
        prefix = self._chunks.take(4)
        if prefix == _CONTINUATION:
            size_bytes = self._chunks.take(4)
            prefix += size_bytes
        else:  # the pre-1.0 format has no continuation marker: the prefix is the length
            size_bytes = prefix
        if len(size_bytes) < 4:
            self._fail(RequestInvalid(
                f"{self._what}: the Arrow IPC stream ended without its end-of-stream marker; the upload was cut "
                "short and nothing was scored. Send the whole stream (pyarrow.ipc.new_stream writes the marker "
                "when closed)", [(f"{self._what}_chunk", "the end-of-stream marker is missing")]))
        length = struct.unpack("<i", size_bytes)[0]
        if length == 0:
            self._ended = True
            if self._chunks.any_left():
                self._fail(RequestInvalid(
                    f"{self._what}: bytes follow the end of the Arrow IPC stream (a second stream, or garbage); "
                    "send exactly one stream per table", [(f"{self._what}_chunk", "bytes after the end-of-stream marker")]))
            self._pending.append(prefix)
            return True
        if length < 0:
            self._fail(self._invalid(ValueError(f"message length {length}")))
        metadata = self._chunks.take(length)
        if len(metadata) < length:
            self._fail(self._truncated())
        try:
            body_at = _field(metadata, _table(metadata, 0), 3)
            body_length = _i64(metadata, body_at) if body_at else 0
            if body_length < 0:
                raise ValueError(f"body length {body_length}")
        except (struct.error, IndexError, ValueError) as exc:
            self._fail(self._invalid(exc))
        body = self._chunks.take(body_length)
        if len(body) < body_length:
            self._fail(self._truncated())
        try:
            decoded = _decoded_size(metadata, body)
        except (struct.error, IndexError, ValueError) as exc:
            self._fail(self._invalid(exc))
        try:
            self._budget.spend(decoded, self._what)
        except LimitExceeded as exc:
            self._fail(exc)
        self._pending.extend(piece for piece in (prefix, metadata, body) if piece)
        return True


def decoded_marked_bytes(table: pa.Table, marked: list[str]) -> int:
    """Bytes the dictionary columns marked for the wire take once cast back to plain columns."""
    total = 0
    for name in marked:
        column = table.column(name)
        if not pa.types.is_dictionary(column.type):
            continue  # already plain: the cast changes nothing
        textual = any(check(column.type.value_type) for check in (
            pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary))
        for chunk in column.chunks:
            if textual:
                total += pc.sum(pc.take(pc.binary_length(chunk.dictionary), chunk.indices)).as_py() or 0
            total += 8 * len(chunk)  # offsets, or the fixed-width values themselves
    return total


def to_frame(table: pa.Table) -> pl.DataFrame:
    """A Polars frame with the marked dictionary columns back as strings (Polars casts its
    categoricals to strings several times faster than Arrow casts dictionaries)."""
    marked = [field.name for field in table.schema if (field.metadata or {}).get(DICTIONARY_MARK)]
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col(marked).cast(pl.String)) if marked else frame

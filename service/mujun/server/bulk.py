"""Bulk answers on the wire (EvaluateBatch, Cycles.ExportDecisions): Arrow IPC streams compressed as asked.

The request names the compression of the Arrow IPC buffers (``mujun.v1.Compression``); the server
answers in it, and an unknown value is refused rather than answered uncompressed.
"""

from __future__ import annotations

from collections.abc import Iterator

from mujun_wire.arrow import codec, parts_to_chunks
from mujun_wire.v1 import cycles_pb2

from mujun.errors import RequestInvalid
from mujun.services.export import Export

__all__ = ["wire_codec", "export_responses"]


def wire_codec(compression: int, field: str = "header.compression") -> str | None:
    """pyarrow's codec for a request's ``mujun.v1.Compression``; an unknown value is refused, not ignored."""
    try:
        return codec(compression)
    except ValueError as exc:
        raise RequestInvalid(f"{field}: {exc}", [(field, "COMPRESSION_NONE, COMPRESSION_LZ4 or COMPRESSION_ZSTD")]) \
            from None


def export_responses(export: Export, chunk_bytes: int, compression: str | None
                     ) -> Iterator[cycles_pb2.ExportDecisionsResponse]:
    """The export's IPC stream in chunks, page after page as the store gives them, then its summary."""
    rows = 0

    def counted() -> Iterator:
        nonlocal rows
        for page in export.pages:
            rows += page.num_rows
            yield page

    for chunk in parts_to_chunks(counted(), export.schema, chunk_bytes, compression):
        yield cycles_pb2.ExportDecisionsResponse(chunk=chunk)
    cycle, pack = export.cycle, export.cycle.pack
    yield cycles_pb2.ExportDecisionsResponse(summary=cycles_pb2.ExportSummary(
        rows=rows, cycle_state=cycle.state, run_number=cycle.run_number, results_hash=export.results_hash,
        pack_id=pack.pack_id if pack else "", pack_version=pack.version if pack else "",
        pack_hash=pack.hash if pack else ""))

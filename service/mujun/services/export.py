"""Cycles.ExportDecisions: a cycle's current decisions as one Arrow table, read and sent page by page.

The export is what the store holds (each decision's stored result row, as its run or appeal scored
it), never a re-score: a published list must not change because the engine did. Its column types
come from the cycle's pinned pack (the result table of a zero-row evaluation), so every page has the
same schema whatever its values. A draft is not a list yet: only the roles that run cycles may
export one, to check it before freezing.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

import mujun
from mujun.errors import PreconditionFailed
from mujun.services.columns import chosen_columns
from mujun.services.context import Context
from mujun.services.principal import Principal
from mujun.services.results import Cycle
from mujun.store import Database, cycles, exports, packs
from mujun.store.models import CycleRow

__all__ = ["Export", "DRAFT_ROLES", "export_decisions"]

#: Roles that may export a cycle before it is frozen (they run it; a draft is theirs to check).
DRAFT_ROLES = frozenset({"operator", "admin"})
#: Decisions read, parsed and sent per page: about 30 MB of stored JSON, held once while it is parsed.
PAGE_ROWS = 20_000
#: The decision's own columns, after the result row's.
DECISION_COLUMNS = {"decision_version": pl.Int32, "appeal_reason": pl.String,
                    "decided_at": pl.Datetime("us", "UTC"), "decided_by": pl.String}


@dataclass(frozen=True)
class Export:
    """A cycle's export: what was exported (state, run, pinned pack), the stream's schema and its pages,
    read from the store while they are sent."""

    cycle: Cycle
    results_hash: str  # the run's, as recorded when it was scored
    schema: pa.Schema
    pages: Iterator[pa.Table]


def export_decisions(context: Context, principal: Principal, region: str, year: int, columns: Sequence[str], *,
                     page_rows: int = PAGE_ROWS) -> Export:
    """The cycle's export: its column schema (``columns`` chosen, checked now) and its pages, read lazily."""
    principal.require_region(region)
    db = context.db
    with db.read() as session:
        cycle = cycles.get(session, region, year)
        if cycle.state not in ("frozen", "published") and principal.role not in DRAFT_ROLES:
            raise PreconditionFailed(f"cycle {region}/{year} is {cycle.state}: it is exported once frozen; a draft "
                                     "is not a list yet (operators may export it to check it)",
                                     location=f"cycles/{region}/{year}")
        version = packs.by_id(session, cycle.pack_version_id) if cycle.pack_version_id else None
        sample = exports.first_input(session, cycle)
    result_schema = _result_schema(context.compiled(version), sample) if version is not None else {}
    full = {**result_schema, **DECISION_COLUMNS}
    chosen = chosen_columns(list(full), columns, "columns") if columns else list(full)
    schema = _page([], result_schema, chosen).to_arrow().schema
    return Export(Cycle.of(cycle, version), cycle.results_hash, schema,
                  _pages(db, cycle, result_schema, chosen, page_rows))


def _result_schema(pack: mujun.Pack, sample: str | None) -> dict[str, pl.DataType]:
    """The dtypes of the pack's result table, from evaluating it on no rows shaped like a stored input."""
    shape = pl.from_dicts([json.loads(sample)], infer_schema_length=None).head(0) if sample else \
        pl.DataFrame(schema={"enterprise_id": pl.String})
    return dict(pack.evaluate(shape).table.schema)


def _pages(db: Database, cycle: CycleRow, result_schema: dict[str, pl.DataType], chosen: list[str],
           page_rows: int) -> Iterator[pa.Table]:
    def read() -> Iterator[pa.Table]:
        with db.read() as session:
            for rows in exports.current_pages(session, cycle, page_rows):
                yield _page(rows, result_schema, chosen).to_arrow()

    return _read_ahead(read)


_END = object()


def _read_ahead(produce: Callable[[], Iterator[pa.Table]], depth: int = 2) -> Iterator[pa.Table]:
    """The pages of ``produce()`` made on a helper thread up to ``depth`` ahead, so that reading and parsing
    a page overlaps with encoding and sending the one before (SQLite, Polars and gRPC release the GIL).
    The helper owns the store session; it stops when the caller stops taking pages."""
    pages: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        produced = produce()
        try:
            for page in produced:
                if not put(page):
                    return
            put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            put(error)
        finally:
            produced.close()

    threading.Thread(target=run, name="mujun-export-read", daemon=True).start()
    try:
        while (item := pages.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _page(rows: list[tuple[Any, ...]], result_schema: dict[str, pl.DataType], chosen: list[str]) -> pl.DataFrame:
    """One page of export rows from stored decisions (``exports.COLUMNS`` tuples, the result row as bytes)."""
    wanted = {name: kind for name, kind in result_schema.items() if name in chosen}
    if rows and wanted:
        lines = b"\n".join(row[5] for row in rows)
        results = pl.read_ndjson(io.BytesIO(lines), schema=wanted)  # keys outside the schema (facts) are skipped
    else:
        results = pl.DataFrame(schema=wanted)
    meta = pl.DataFrame([row[1:5] for row in rows], schema={"decision_version": pl.Int32, "appeal_reason": pl.String,
                                                             "decided_at": pl.Datetime("us"), "decided_by": pl.String},
                        orient="row")
    # Times are UTC: SQLite hands them back without their zone, PostgreSQL's come converted to UTC.
    meta = meta.with_columns(pl.col("decided_at").dt.replace_time_zone("UTC"), pl.col("appeal_reason").replace("", None))
    return pl.concat([results, meta], how="horizontal").select(chosen)

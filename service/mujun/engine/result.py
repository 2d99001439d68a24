"""The result of one evaluation: the published table, explanations, a tier summary."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import polars as pl
import pyarrow as pa

from mujun.engine.benchmarks import BASIS
from mujun.engine.columns import ROW, STATUS, select
from mujun.engine.compile import Plan
from mujun.engine.evaluate import Run, output_columns
from mujun.engine.explain import explain_row
from mujun.engine.explain_mechanisms import mechanism_facts
from mujun.engine.parks import explain_park
from mujun.engine.tiers import GROUP, TIER
from mujun.errors import NotFound
from mujun.packs.fields import ID_FIELD

__all__ = ["Result", "tier_summary", "basis_notes", "status_counts"]


class Result:
    """One evaluation. ``table`` is what gets published; ``explain(id)`` is why."""

    def __init__(self, plan: Plan, run: Run):
        self._plan = plan
        self._run = run

    @cached_property
    def table(self) -> pl.DataFrame:
        return select(self._run.frame, *output_columns(self._plan, self._run.frame))

    def to_arrow(self) -> pa.Table:
        return self.table.to_arrow()

    @property
    def pack_hash(self) -> str:
        return self._plan.pack_hash

    @cached_property
    def _index(self) -> dict[str, int]:
        ids = self._run.frame[ID_FIELD].to_list()
        index: dict[str, int] = {}
        for position, ident in enumerate(ids):
            if ident is not None:
                index.setdefault(str(ident), position)
        return index

    def explain(self, enterprise_id: str) -> dict[str, Any]:
        position = self._index.get(str(enterprise_id))
        if position is None:
            raise NotFound(f"enterprise {enterprise_id!r} is not in this result")
        row = self._run.frame.row(position, named=True)
        trace = explain_row(self._plan, row)
        trace.update(mechanism_facts(self._plan, row) if row.get(STATUS) != "error" else {})
        return trace

    def explain_table(self) -> pl.DataFrame:
        """Every intermediate value of every record, flat: the 'explain everything' export."""
        frame = self._run.frame
        return frame.drop([c for c in frame.columns if c == ROW]).with_columns(
            pl.lit(self._plan.pack.id).alias("pack_id"), pl.lit(self._plan.pack_hash).alias("pack_hash")
        )

    @cached_property
    def parks(self) -> pl.DataFrame | None:
        """One row per park (a pack with a ``parks`` section), with the ids of the firms it was built from."""
        parks = self._run.parks
        return None if parks is None else parks.with_columns(
            pl.lit(self._plan.pack.id).alias("pack_id"), pl.lit(self._plan.pack.version).alias("pack_version"),
            pl.lit(self._plan.pack_hash).alias("pack_hash"))

    def explain_park(self, park: str) -> dict[str, Any]:
        if self._run.parks is None:
            raise NotFound(f"pack {self._plan.pack.id} has no parks section")
        return explain_park(self._plan, self._run.parks, park, self._run.frame)

    def summary(self) -> pl.DataFrame:
        """Firms per group and tier, with unrated and error rows counted under their status."""
        return tier_summary(self.table)

    @property
    def notes(self) -> list[str]:
        """Statements the output must carry, e.g. that a benchmark fell back to current-year data."""
        return basis_notes(self.table)

    def status_counts(self) -> dict[str, int]:
        return status_counts(self.table)


# Functions of a published result table, so a table that came back from a server reads the same way.


def tier_summary(table: pl.DataFrame) -> pl.DataFrame:
    label = pl.when(pl.col(STATUS) == "ok").then(pl.col(TIER)).otherwise(pl.col(STATUS))
    return (table.group_by(pl.col(GROUP).fill_null("—"), label.fill_null("—").alias(TIER))
            .agg(pl.len().alias("count")).sort([GROUP, TIER]))


def basis_notes(table: pl.DataFrame) -> list[str]:
    if BASIS not in table.columns:
        return []
    counts = table.filter(pl.col(BASIS).is_not_null()).group_by(BASIS).len().sort(BASIS)
    return [f"benchmark basis — {basis}: {n} firms" for basis, n in counts.iter_rows()]


def status_counts(table: pl.DataFrame) -> dict[str, int]:
    return dict(table.group_by(STATUS).len().iter_rows())

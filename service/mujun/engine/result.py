"""The result of one evaluation: the published table, explanations, a tier summary, the run report."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import polars as pl
import pyarrow as pa

from mujun.engine.benchmarks import BASIS
from mujun.engine.columns import ROW, STATUS, select
from mujun.engine.compile import Plan
from mujun.engine.evaluate import Run, output_columns
from mujun.engine.explain import explain_row, pack_language
from mujun.engine.headers import USED
from mujun.engine.intake import Intake
from mujun.engine.lookups import unknown_key_notes
from mujun.engine.parks import explain_park
from mujun.engine.report import error_groups, input_notes
from mujun.engine.schema import is_fact
from mujun.engine.tiers import GROUP, TIER
from mujun.errors import NotFound
from mujun.packs.fields import ID_FIELD

__all__ = ["Result", "input_sources", "tier_summary", "basis_notes", "status_counts", "error_groups"]


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

    def explain(self, enterprise_id: str, lang: str | None = None) -> dict[str, Any]:
        """The trace of one firm; ``lang`` zh or en (default: the pack's own language)."""
        position = self._index.get(str(enterprise_id))
        if position is None:
            raise NotFound(f"enterprise {enterprise_id!r} is not in this result")
        row = self._run.frame.row(position, named=True)
        return self._trace(row, position, lang)

    def explain_group(self, group: str, lang: str | None = None) -> list[dict[str, Any]]:
        """The traces of every firm of a tier group (``group`` as in the result table), in input order."""
        frame = self._run.frame
        positions = [i for i, g in enumerate(frame[GROUP].to_list()) if g is not None and str(g) == str(group)]
        if not positions:
            raise NotFound(f"group {group!r} is not in this result")
        return [self._trace(frame.row(i, named=True), i, lang) for i in positions]

    def _trace(self, row: dict[str, Any], position: int, lang: str | None) -> dict[str, Any]:
        return explain_row(self._plan, row, lang, input_sources(self._plan, self._run.intake, position))

    def facts(self) -> pl.DataFrame:
        """What the stages recorded beyond the published columns (cohort statistics before their factor,
        cohort sizes, item ratios and the rules applied, zero denominators, vetoes, tier streaks), one
        row per input row: stored with a decision, they let it be explained later without re-scoring."""
        frame, published = self._run.frame, set(self.table.columns)
        return frame.select([c for c in frame.columns if c not in published and is_fact(c)])

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

    def explain_park(self, park: str, lang: str | None = None) -> dict[str, Any]:
        """One park's trace; ``lines`` in ``lang`` (zh or en; default: the pack's own language)."""
        if self._run.parks is None:
            raise NotFound(f"pack {self._plan.pack.id} has no parks section")
        return explain_park(self._plan, self._run.parks, park, self._run.frame, lang or pack_language(self._plan))

    def summary(self) -> pl.DataFrame:
        """Firms per group and tier, with unrated and error rows counted under their status."""
        return tier_summary(self.table)

    @property
    def notes(self) -> list[str]:
        """Statements the output must carry: every input column and what became of it, unit
        conversions, absent fields with their consequence, how tables were joined, record errors by
        cause, where a benchmark fell back to current-year data, and lookups of keys a table lacks."""
        intake = self._run.intake
        inputs = input_notes(intake, self._plan, self.table.height) if intake is not None else []
        return [*inputs, *self.warnings, *error_groups(self.table), *basis_notes(self.table),
                *unknown_key_notes(self._plan, self._run.frame)]

    @property
    def warnings(self) -> list[str]:
        """What may have gone wrong unseen (a column that looks like a field but was not read): ``--strict`` fails."""
        return list(self._run.intake.warnings) if self._run.intake is not None else []

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


def input_sources(plan: Plan, intake: Intake | None, position: int) -> dict[str, dict[str, Any]]:
    """Each input's table and column, with any unit conversion: where an appeal's figure came from."""
    if intake is None:
        return {}
    shared = intake.provenance.row(position, named=True) if intake.provenance is not None \
        and intake.provenance.width and position < intake.provenance.height else {}
    columns = {(c.source, c.field): c for c in intake.columns if c.status == USED}
    found: dict[str, dict[str, Any]] = {}
    for name in plan.inputs:
        given = intake.given_by.get(name)
        if not given:
            found[name] = {"source": None}
            continue
        source = shared.get(name) or given[0]
        use = columns.get((source, name))
        found[name] = {"source": source if use is None else f"{source}: '{use.column}'"}
        if use is not None and use.conversion:
            found[name]["converted"] = use.conversion
    return found

"""After the stages — unknown lookup keys: ``lookup(table, key)`` of a key the table lacks is a recorded fact.

``lookup`` gives missing for an unknown key (the value then follows the null rules: a missing item,
no budget …). That must never pass in silence, so each lookup in the pack is a *site*, and each site
gets a column ``__lookup.N`` holding the key a record asked for when the table lacks it (empty
otherwise). A site counts only for records that reach it: an item's lookup for rated firms its
``when`` admits, a ``by_tier: {A: …}`` entry for tier A, a check's for the firms it applies to. The
explanation prints the fact and the run notes count it per site; it is not a record error.
Park expressions read park figures, not records, and have no sites here.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from mujun.engine.columns import FAILED, OK, STATUS, compile_expr, compile_part
from mujun.engine.compile import Plan, calls
from mujun.engine.formula import render
from mujun.engine.tiers import TIER
from mujun import lang as ex
from mujun.engine.lower import number_key

__all__ = ["LookupSite", "lookup_sites", "lookup_col", "unknown_key_columns", "unknown_key_notes", "site_message"]


@dataclass(frozen=True)
class LookupSite:
    """One ``lookup(table, key)`` of the pack: where it is, which table, the key expression."""

    index: int
    path: str
    table: str
    key: ex.Node


def lookup_col(site: LookupSite) -> str:
    return f"__lookup.{site.index}"


def lookup_sites(plan: Plan) -> list[LookupSite]:
    """Every lookup of the pack's record expressions, in YAML order (nested lookups included)."""
    sites: list[LookupSite] = []
    for path, node in plan.exprs.items():
        if path.startswith("parks."):
            continue
        for call in calls(node, "lookup"):
            table = call.args[0].value if isinstance(call.args[0], ex.Str) else call.args[0].name  # type: ignore[union-attr]
            sites.append(LookupSite(len(sites), path, table, call.args[1]))
    return sites


def site_message(site: LookupSite, key: str) -> str:
    return (f"lookup({site.table}, {render(site.key)}) at {site.path}: {key!r} is not a key of table {site.table}; "
            "the value is missing")


def _reaches(plan: Plan, path: str) -> pl.Expr:
    """Which records evaluate the expression at ``path`` (as the stages do)."""
    pack = plan.pack
    parts = path.split(".")
    kept = pl.col(STATUS) != FAILED
    rated = pl.col(STATUS) == OK
    if parts[0] == "items":
        item = pack.items[parts[1]]
        return rated & (compile_expr(plan, f"items.{parts[1]}.when").fill_null(False) if item.when is not None else True)
    if parts[0] in ("adjustments", "tiers"):
        return rated
    if parts[0] == "checks":
        check = pack.checks[int(parts[1])]
        if parts[2] == "when" or check.when is None:
            return rated
        return rated & compile_expr(plan, f"checks.{parts[1]}.when").fill_null(False)
    if parts[0] == "measures":
        graded = kept & pl.col(TIER).is_not_null()
        if parts[2] == "by_tier":
            return graded & (pl.col(TIER) == ".".join(parts[3:]))
        if parts[2] == "default":
            by_tier = pack.measures[parts[1]].by_tier
            entries = plan.tables[by_tier] if isinstance(by_tier, str) else (by_tier or {})
            return graded & ~pl.col(TIER).is_in(list(entries))
        return graded
    return kept  # scope, indicators, benchmarks: every record that was read


def unknown_key_columns(plan: Plan) -> list[pl.Expr]:
    """``__lookup.N``: the key a record asked site N for when the table lacks it, else empty."""
    columns = []
    for site in lookup_sites(plan):
        key = compile_part(plan, site.key)
        key = number_key(key) if site.key.type == ex.NUM else key.cast(pl.String)  # the key lookup read
        unknown = key.is_not_null() & ~key.is_in(list(plan.tables[site.table]))
        columns.append(pl.when(_reaches(plan, site.path) & unknown).then(key).alias(lookup_col(site)))
    return columns


def unknown_key_notes(plan: Plan, frame: pl.DataFrame) -> list[str]:
    """One run note per site that met an unknown key: how many records, which keys."""
    notes = []
    for site in lookup_sites(plan):
        column = lookup_col(site)
        if column not in frame.columns:
            continue
        keys = frame[column].drop_nulls()
        if keys.is_empty():
            continue
        distinct = sorted(keys.unique().to_list())
        shown = ", ".join(repr(k) for k in distinct[:5]) + (f" and {len(distinct) - 5} more" if len(distinct) > 5 else "")
        notes.append(f"{keys.len():,} record(s): lookup({site.table}, {render(site.key)}) at {site.path} — key(s) {shown} "
                     f"not in table {site.table}: the value is missing")
    return notes

"""Stage 0 — intake: one or several bureaus' tables in, one frame with the pack's field names out.

One table: its columns are renamed to fields (the unit factors are applied with the casts in the
prepare stage). Several tables (tax bureau, grid company, statistics bureau …): each is read into
typed values in its own units, then they are joined on the normalised enterprise id (NFKC, no
blanks, upper case). A field given by two tables with different values is that record's error
naming both tables and values, unless a precedence (``prefer``) says which table wins; a firm one
table lacks is reported and scored with the pack's missing-value policy. Nothing is dropped: every
column is accounted for in the report, and every row of every table ends in exactly one record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mujun.engine.cells import base_factor, map_values, number_value, value_map
from mujun.engine.columns import join_messages
from mujun.engine.compile import Plan
from mujun.engine.headers import NOT_RECOGNISED, USED, ColumnUse, looks_like, resolve_columns, units_of
from mujun.errors import InputError
from mujun.packs.fields import ID_FIELD, normalise_unit

__all__ = ["Source", "Intake", "take_in", "INTAKE_ERROR", "is_several"]

INTAKE_ERROR = "__intake_error"
_KEY = "__key"
_FULL_WIDTH = [chr(c) for r in ((0xFF10, 0xFF1A), (0xFF21, 0xFF3B), (0xFF41, 0xFF5B)) for c in range(*r)]  # ０-９ Ａ-Ｚ ａ-ｚ
_TOLERANCE = 1e-9  # relative: the same figure in 元 and in 万元 may differ in the last bits after conversion


@dataclass(frozen=True)
class Source:
    """A named table; ``columns`` are all its headers, also those not read into ``frame``."""

    name: str
    frame: pl.DataFrame
    columns: tuple[str, ...] = ()

    @property
    def headers(self) -> list[str]:
        return list(self.columns or self.frame.columns)


@dataclass
class Intake:
    """The joined frame and what the report must say about how it was made."""

    frame: pl.DataFrame
    columns: list[ColumnUse]
    factors: dict[str, float] = field(default_factory=dict)  # still to apply (one table)
    bases: dict[str, float] = field(default_factory=dict)
    given_by: dict[str, list[str]] = field(default_factory=dict)  # field -> the tables that have it
    provenance: pl.DataFrame | None = None  # per record, the table each field shared by several came from
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def conversions(self) -> list[ColumnUse]:
        return [c for c in self.columns if c.status == USED and c.conversion]


def is_several(data: Any) -> bool:
    """A list (or mapping) of tables, as opposed to a list of records."""
    if isinstance(data, Mapping):
        return True
    return isinstance(data, (list, tuple)) and bool(data) and not isinstance(data[0], dict)


def _sources(data: Any, to_frame: Any) -> list[Source]:
    if isinstance(data, Source):
        return [data]
    if not is_several(data):
        return [Source("input", to_frame(data))]
    items = data.items() if isinstance(data, Mapping) else ((None, d) for d in data)
    sources = []
    for number, (name, table) in enumerate(items, start=1):
        if isinstance(table, Source):
            sources.append(table if name is None else Source(str(name), table.frame, table.columns))
        else:
            sources.append(Source(str(name) if name is not None else f"input {number}", to_frame(table)))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise InputError(f"two inputs share a name ({', '.join(names)}); name each table once")
    return sources


def take_in(data: Any, plan: Plan, to_frame: Any, *, prefer: Sequence[str] = ()) -> Intake:
    """``to_frame`` turns any accepted table into a Polars frame (passed in: it lives in prepare)."""
    sources = _sources(data, to_frame)
    unknown = [p for p in prefer if p not in {s.name for s in sources}]
    if unknown:
        raise InputError(f"--prefer {', '.join(unknown)}: not one of the inputs ({', '.join(s.name for s in sources)})")
    uses = {s.name: resolve_columns(s.headers, plan, s.name) for s in sources}
    for source in sources:
        _require_one_value_per_cell(source, uses[source.name], plan)
    given_by: dict[str, list[str]] = {}
    for source in sources:
        for use in uses[source.name]:
            if use.status == USED:
                given_by.setdefault(use.field, []).append(source.name)  # type: ignore[arg-type]
    intake = (_one(sources[0], uses[sources[0].name], plan) if len(sources) == 1
              else _join(sources, uses, plan, list(prefer)))
    intake.given_by = given_by
    intake.sources = [s.name for s in sources]
    _account(intake, plan)
    return intake


def _require_one_value_per_cell(source: Source, uses: list[ColumnUse], plan: Plan) -> None:
    """A text or number field read from a column of lists (JSONL ``"region": ["320102"]``) or structs
    cannot be one value per record: an input error naming the column, before any cast fails on it."""
    for use in uses:
        spec = plan.inputs.get(use.field) if use.status == USED and use.field else None
        if spec is None or spec.type == "flags" or use.column not in source.frame.columns:
            continue
        dtype = source.frame.schema[use.column]
        if dtype.is_nested():
            example = source.frame[use.column].drop_nulls().head(1).to_list()
            shown = f" (e.g. {example[0]!r})" if example else ""
            raise InputError(f"{source.name}: column '{use.column}' holds {dtype} values{shown}; {use.field} takes "
                             f"one {spec.type} per record: write the value itself, not a list")


def _renamed(source: Source, uses: list[ColumnUse]) -> pl.DataFrame:
    present = set(source.frame.columns)
    return source.frame.select(pl.col(u.column).alias(u.field) for u in uses  # type: ignore[arg-type]
                               if u.status == USED and u.column in present)


def _one(source: Source, uses: list[ColumnUse], plan: Plan) -> Intake:
    frame = source.frame
    renamed = _renamed(source, uses) if frame.width else frame
    if frame.width and not renamed.width:  # nothing the pack reads: keep the columns, so the error can list them
        renamed = frame
    factors = {u.field: u.factor for u in uses if u.status == USED and u.factor != 1.0}
    bases = {u.field: _base(plan, u) for u in uses if u.status == USED and u.field in plan.inputs}
    return Intake(renamed, list(uses), factors=factors, bases=bases)  # type: ignore[arg-type]


def _base(plan: Plan, use: ColumnUse) -> float:
    """What ``12.3万`` in this column counts ten-thousands of (元 for a 万元 field), in the field's unit."""
    spec = plan.inputs[use.field]  # type: ignore[index]
    return base_factor(units_of(spec), use.unit or (normalise_unit(spec.unit) if spec.unit else None))


def _normalise_id(column: pl.Expr) -> pl.Expr:
    """Credit codes as bureaus write them: full-width digits and letters, blanks, lower case."""
    return (column.cast(pl.String).str.replace_many(_FULL_WIDTH, [unicodedata.normalize("NFKC", c) for c in _FULL_WIDTH])
            .str.replace_all(r"[\s\u3000]", "").str.to_uppercase().replace("", None))


def _typed(source: Source, uses: list[ColumnUse], plan: Plan) -> tuple[pl.DataFrame, list[str]]:
    """One table's fields as typed values in the pack's units, with its cell problems as a column."""
    frame = _renamed(source, uses)
    if ID_FIELD not in frame.columns:
        raise InputError(f"{source.name}: no column for {ID_FIELD}, so it cannot be joined with the other inputs; "
                         f"columns present: {', '.join(source.headers)}")
    unit = {u.field: u for u in uses if u.status == USED}
    exprs, problems = [_normalise_id(pl.col(ID_FIELD)).alias(_KEY)], []
    fields = [f for f in frame.columns if f != ID_FIELD and f in plan.inputs]
    for name in fields:
        spec = plan.inputs[name]
        if spec.type == "number":
            use = unit[name]
            value, cells, _ = number_value(frame, name, use.factor, _base(plan, use))
            exprs.append(value.fill_nan(None).alias(name))
            problems += [pl.when(cond).then(pl.format("{} ({})", message, pl.lit(source.name))) for cond, message in cells]
        elif spec.type == "string":
            text = pl.col(name).cast(pl.String).str.strip_chars().replace("", None)
            exprs.append(text.alias(name))
        else:
            exprs.append(pl.col(name).alias(name))
    typed = frame.with_columns(*exprs, join_messages(problems).alias(INTAKE_ERROR))
    mapped = [map_values(typed, n, value_map(plan.inputs[n], plan.pack)).alias(n)
              for n in fields if plan.inputs[n].type == "string"]
    return typed.with_columns(mapped).select(_KEY, *fields, INTAKE_ERROR), fields


def _join(sources: list[Source], uses: dict[str, list[ColumnUse]], plan: Plan, prefer: list[str]) -> Intake:
    tables = {s.name: _typed(s, uses[s.name], plan) for s in sources}
    order = [*prefer, *(s.name for s in sources if s.name not in prefer)]  # precedence of values
    keys, orphans, notes, dup_parts = [], [], [], []
    for name, (frame, _) in tables.items():
        keyed = frame.filter(pl.col(_KEY).is_not_null())
        dups = keyed.group_by(_KEY, maintain_order=True).len().filter(pl.col("len") > 1)
        if dups.height:
            dup_parts.append(dups.select(_KEY, pl.format("{}: duplicate '{}' in {} ({} rows share it)", pl.lit(ID_FIELD),
                                                          pl.col(_KEY), pl.lit(name), pl.col("len")).alias("dup")))
        keys.append(keyed.select(_KEY))
        lost = frame.filter(pl.col(_KEY).is_null())
        if lost.height:  # no id to join on: each row stays a record of its own, which fails on the id
            orphans.append(lost.with_columns(pl.concat_str(
                [pl.lit(f"{ID_FIELD}: missing required value ({name})"), pl.col(INTAKE_ERROR)],
                separator="; ", ignore_nulls=True).alias(INTAKE_ERROR)))
    base = pl.concat(keys).unique(_KEY, maintain_order=True)
    parts: dict[str, pl.DataFrame] = {}
    for name, (frame, _) in tables.items():
        first = frame.filter(pl.col(_KEY).is_not_null()).unique(_KEY, keep="first", maintain_order=True)
        parts[name] = base.join(first.with_columns(pl.lit(True).alias("__in")), on=_KEY, how="left",
                                maintain_order="left")
        missing = parts[name].filter(pl.col("__in").is_null()).height
        if missing:
            example = parts[name].filter(pl.col("__in").is_null())[_KEY][0]
            notes.append(f"{name} lacks {missing:,} of {base.height:,} firms (e.g. {example}): their "
                         f"{', '.join(tables[name][1]) or 'fields'} from it are missing and the pack's "
                         "missing-value policy applies")
    frame, provenance, conflicts = _merge(base, parts, tables, order, bool(prefer))
    errors = [pl.col(f"__err_{n}") for n in parts] + [pl.col("__conflicts")]
    if dup_parts:
        dups = pl.concat(dup_parts).group_by(_KEY, maintain_order=True).agg(pl.col("dup").str.join("; "))
        frame = frame.join(dups, on=_KEY, how="left", maintain_order="left")
        errors.append(pl.col("dup"))
    frame = frame.with_columns(pl.concat_str(errors, separator="; ", ignore_nulls=True).alias(INTAKE_ERROR))
    frame = frame.with_columns(pl.when(pl.col(INTAKE_ERROR) != "").then(pl.col(INTAKE_ERROR)).alias(INTAKE_ERROR))
    fields = [f for f in plan.inputs if f != ID_FIELD and f in frame.columns]
    frame = frame.select(pl.col(_KEY).alias(ID_FIELD), *fields, INTAKE_ERROR)
    if orphans:
        rest = pl.concat([o.rename({_KEY: ID_FIELD}) for o in orphans], how="diagonal_relaxed")
        frame = pl.concat([frame, rest.select([c for c in frame.columns if c in rest.columns])], how="diagonal_relaxed")
        provenance = pl.concat([provenance, provenance.clear(rest.height)]) if provenance.width else provenance
    if conflicts and prefer:
        notes.append(f"{conflicts:,} differing value(s) resolved by precedence: {' > '.join(order)}")
    columns = [u for s in sources for u in uses[s.name]]
    return Intake(frame, columns, provenance=provenance, notes=notes)


def _merge(base: pl.DataFrame, parts: dict[str, pl.DataFrame], tables: dict[str, tuple[pl.DataFrame, list[str]]],
           order: list[str], preferred: bool) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Each field from the first table (by precedence) that has it; differing values are conflicts."""
    wide = base.with_columns(
        column for name, part in parts.items()
        for column in (part[INTAKE_ERROR].alias(f"__err_{name}"), *(part[f].alias(f"{f}@{name}") for f in tables[name][1])))
    columns, provenance, messages, conflicts = [pl.col(_KEY)], [], [], 0
    for f in dict.fromkeys(f for _, fields in tables.values() for f in fields):
        givers = [n for n in order if f in tables[n][1]]
        values = [pl.col(f"{f}@{n}") for n in givers]
        columns.append(pl.coalesce(values).alias(f))
        if len(givers) == 1:
            continue
        provenance.append(pl.coalesce([pl.when(v.is_not_null()).then(pl.lit(n)) for v, n in zip(values, givers)]).alias(f))
        first, *rest = givers
        for other in rest:
            a, b = pl.col(f"{f}@{first}"), pl.col(f"{f}@{other}")
            differs = a.is_not_null() & b.is_not_null() & _differs(a, b, wide.schema[f"{f}@{first}"])
            conflicts += int(wide.select(differs.sum()).item())
            if not preferred:
                messages.append(pl.when(differs).then(pl.format(
                    "{}: {} says '{}', {} says '{}' (correct one of them, or choose with --prefer)",
                    pl.lit(f), pl.lit(first), a.cast(pl.String), pl.lit(other), b.cast(pl.String))))
    columns += [pl.col(f"__err_{n}") for n in parts]
    columns.append(join_messages(messages).alias("__conflicts") if messages
                   else pl.lit(None, dtype=pl.String).alias("__conflicts"))
    return wide.select(columns), wide.select(provenance) if provenance else pl.DataFrame(), conflicts


def _differs(a: pl.Expr, b: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_numeric():
        return (a - b).abs() > _TOLERANCE * pl.max_horizontal(a.abs(), b.abs())
    if isinstance(dtype, pl.List):
        return a.list.sort().list.join(";") != b.list.sort().list.join(";")
    return a.cast(pl.String) != b.cast(pl.String)


def _account(intake: Intake, plan: Plan) -> None:
    """Warnings for columns that look like a field the pack reads but did not get."""
    absent = {f for f in plan.inputs if f not in intake.given_by}
    for position, use in enumerate(intake.columns):
        if use.status == NOT_RECOGNISED and absent:
            hint = looks_like(use, plan, absent)
            if hint:
                intake.columns[position] = ColumnUse(use.source, use.column, use.status, looks_like=hint)
                intake.warnings.append(f"{use.source}: column '{use.column}' is not recognised but looks like {hint}; "
                                       "rename it to the field's name (or a listed alias) if it is that field")

"""Stage 1 — prepare: any table in, one typed Polars frame out, every bad record marked, none lost.

The intake stage has named the columns (and joined several bureaus' tables); here numbers are
parsed and converted to the field's unit without failing the batch (a non-numeric cell becomes that
record's error, naming the field and the value), written forms of enumerations become their values,
and the checks the pack declares (required, > 0, allowed values, unique id) become per-record errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from mujun.engine.cells import map_flags, map_values, number_value, value_map
from mujun.engine.columns import ERROR, FAILED, OK, REASON, ROW, STATUS, join_messages, scatter, select, status_lit
from mujun.engine.compile import InputField, Plan
from mujun.engine.intake import INTAKE_ERROR, Intake, Source, take_in
from mujun.errors import InputError
from mujun.packs.fields import ID_FIELD

__all__ = ["to_frame", "prepare", "take_in_data"]

DUPS = "__dups"
Problem = tuple[pl.Expr, pl.Expr]  # (condition per record, message naming field and value)
_FLAG_SEPARATORS = r"[;,|，；、]"


def to_frame(data: Any) -> pl.DataFrame:
    """Accept a Polars or pandas DataFrame, a pyarrow Table, or a list of dicts."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, Source):
        return data.frame
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, list):
        return _from_records(data)
    module = type(data).__module__
    try:
        if module.startswith("pyarrow"):
            return pl.from_arrow(data)  # type: ignore[return-value]
        if module.startswith("pandas"):
            return pl.from_pandas(data)
    except Exception as exc:  # noqa: BLE001 - any conversion failure means the table is unusable
        raise InputError(f"cannot read the input table: {exc}") from exc
    raise InputError(f"unsupported input type {type(data).__name__}: give a DataFrame, Arrow table or list of dicts")


def _from_records(rows: list[Any]) -> pl.DataFrame:
    """Build columns one by one so a single odd cell cannot make the whole list unreadable."""
    if not all(isinstance(r, dict) for r in rows):
        raise InputError("a list input must hold one dict per enterprise")
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns = {}
    for name in names:
        values = [r.get(name) for r in rows]
        present = [v for v in values if v is not None]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            columns[name] = pl.Series(name, values, dtype=pl.Float64)
        elif all(isinstance(v, (list, tuple)) for v in present):
            columns[name] = pl.Series(name, [list(map(str, v)) if v is not None else None for v in values],
                                      dtype=pl.List(pl.String))
        else:
            columns[name] = pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.String)
    return pl.DataFrame(columns, height=len(rows))


def take_in_data(data: Any, plan: Plan, *, prefer: tuple[str, ...] = ()) -> Intake:
    """One table or several (a list or a mapping of them) through the intake stage."""
    return take_in(data, plan, to_frame, prefer=prefer)


def prepare(data: Any, plan: Plan, *, tier_names: list[str] | None = None, messages: bool = True) -> pl.LazyFrame:
    """The typed frame with ``status`` and ``error``; ``messages=False`` (the prior year, read only
    for its statistics) marks bad records without writing what is wrong with them.

    ``data`` is an :class:`Intake` or anything ``take_in_data`` accepts.
    Lazy: the casts run fused with the element-wise stages that follow.
    """
    intake = data if isinstance(data, Intake) else take_in_data(data, plan)
    # One chunk per column: Polars 2.1 panics formatting the messages of a frame concatenated from
    # pieces (pl.concat without rechunk, as an appeal's cohort is), instead of raising.
    frame = intake.frame.rechunk()
    if frame.width == 0:  # an empty list: no records, so no columns to check
        frame = pl.DataFrame(schema={name: pl.String for name in plan.inputs})
    _require_columns(frame, plan, intake)
    frame = _count_duplicates(_clean_text(frame.with_row_index(ROW), plan))
    checks: list[Problem] = []
    casts: list[pl.Expr] = []
    for spec in plan.inputs.values():
        cast, problems = _field_checks(frame, spec, tier_names, intake)
        casts.append(cast)
        checks.extend(problems)
    checks.append(_duplicate_check())
    if INTAKE_ERROR in frame.columns:  # cells of several tables, conflicts between them, duplicates within one
        checks.insert(0, (pl.col(INTAKE_ERROR).is_not_null(), pl.col(INTAKE_ERROR)))
    # problems are read from the raw cells (so they can quote them), then the casts replace the cells
    flagged = select(frame, pl.any_horizontal([cond.fill_null(False) for cond, _ in checks])).to_series()
    read = [c for c in (*plan.inputs, DUPS, INTAKE_ERROR) if c in frame.columns]  # the rest need not be filtered
    error = _describe_problems(select(frame, *read), flagged, checks) if messages else pl.lit(None, dtype=pl.String)
    return frame.lazy().with_columns(casts).select(
        ROW, *plan.inputs,
        pl.when(pl.Series(flagged)).then(status_lit(FAILED)).otherwise(status_lit(OK)).alias(STATUS),
        error.alias(ERROR),
        pl.lit(None, dtype=pl.String).alias(REASON),
    )


def _require_columns(frame: pl.DataFrame, plan: Plan, intake: Intake) -> None:
    missing = [s for s in plan.inputs.values() if s.name not in frame.columns and s.require != "optional"]
    if missing:
        described = "; ".join(
            s.name + (f" (or {', '.join(s.aliases)})" if s.aliases else "") for s in missing
        )
        present = ", ".join(dict.fromkeys(c.column for c in intake.columns)) or ", ".join(frame.columns)
        hints = "".join(f"\n  {w}" for w in intake.warnings)
        raise InputError(f"the input has no column for: {described}. Columns present: {present}{hints}")


def _field_checks(frame: pl.DataFrame, spec: InputField, tier_names: list[str] | None,
                  intake: Intake) -> tuple[pl.Expr, list[Problem]]:
    """The cast of one field and the expressions that describe its problems per record."""
    name = spec.name
    if name not in frame.columns:
        dtype = {"number": pl.Float64, "string": pl.String, "flags": pl.List(pl.String)}[spec.type]
        return pl.lit(None, dtype=dtype).alias(name), []
    source = pl.col(name)
    dtype = frame.schema[name]
    problems: list[Problem] = []
    if spec.type == "number":
        value, problems, markers = number_value(frame, name, intake.factors.get(name, 1.0), intake.bases.get(name, 1.0))
        problems.extend(_value_checks(name, value, spec.require, markers=markers))
        return (value.fill_nan(None) if markers else value).alias(name), problems
    if spec.type == "flags":
        if dtype == pl.List(pl.String):
            value = source
        elif isinstance(dtype, pl.List):
            value = source.cast(pl.List(pl.String))
        else:
            value = (source.cast(pl.String).str.replace_all(_FLAG_SEPARATORS, ";").str.split(";")
                     .list.eval(pl.element().str.strip_chars()).list.eval(pl.element().filter(pl.element() != "")))
        return map_flags(value).fill_null(pl.lit([], dtype=pl.List(pl.String))).alias(name), []
    value = source  # already cleaned by _clean_text
    if spec.require != "optional":
        problems.append((value.is_null(), pl.lit(f"{name}: missing required value")))
    allowed = list(spec.allowed or (tier_names if name == "tier" and tier_names else []))
    if allowed:
        problems.append((value.is_not_null() & ~value.is_in(allowed),
                         pl.format("{}: '{}' is not one of {}", pl.lit(name), value, pl.lit(", ".join(allowed)))))
    return value.alias(name), problems


def _value_checks(name: str, value: pl.Expr, require: str, *, markers: bool) -> list[Problem]:
    """``markers``: a NaN in ``value`` marks a cell already reported as not a number."""
    checks: list[Problem] = []
    if require != "optional":
        checks.append((value.is_null(), pl.lit(f"{name}: missing required value")))
        if markers:
            value = value.fill_nan(None)
    if require == "positive":
        checks.append((value <= 0, pl.format("{}: must be > 0, got {}", pl.lit(name), value)))
    if require == "non_negative":
        checks.append((value < 0, pl.format("{}: must be ≥ 0, got {}", pl.lit(name), value)))
    return checks


def _clean_text(frame: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """Text fields once, up front: surrounding blanks dropped, an empty cell is a missing value,
    written forms (规上, 是) replaced by the values rules compare with."""
    cleaned = []
    for spec in plan.inputs.values():
        if spec.type == "string" and spec.name in frame.columns:
            text = pl.col(spec.name).cast(pl.String).str.strip_chars()
            cleaned.append(text.replace("", None).alias(spec.name))  # strips once (when/then would twice)
    frame = frame.with_columns(cleaned)
    mapped = [map_values(frame, spec.name, value_map(spec, plan.pack)).alias(spec.name)
              for spec in plan.inputs.values() if spec.type == "string" and spec.name in frame.columns
              and spec.name != ID_FIELD]
    return frame.with_columns(mapped) if mapped else frame


def _count_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``__dups`` (rows sharing the id, where more than one) without hashing every id as text.

    Sorting the 64-bit hashes finds the candidates in one vectorized pass; only those are compared
    as strings, so a hash collision can never make two different ids look like duplicates.
    """
    ids = frame[ID_FIELD]
    present = ids.is_not_null().to_numpy()
    hashes = ids.hash().to_numpy()[present]
    ordered = np.sort(hashes)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    counts = np.zeros(frame.height, dtype=np.uint32)
    if len(repeated):
        candidate = np.zeros(frame.height, dtype=bool)
        shared = pl.Series(hashes).is_in(pl.Series(np.unique(repeated)).implode()).to_numpy()  # hash set, not np.isin's sort
        candidate[np.flatnonzero(present)[shared]] = True
        sub = select(frame, ROW, ID_FIELD).filter(pl.Series(candidate)).select(ROW, pl.len().over(ID_FIELD).alias("n"))
        counts[sub[ROW].to_numpy()] = sub["n"].to_numpy()
    return frame.with_columns(pl.Series(DUPS, counts))


def _duplicate_check() -> Problem:
    """Every row of a duplicated id is an error: the bureau must say which record is right."""
    return pl.col(DUPS) > 1, pl.format("{}: duplicate '{}' ({} rows share it)", pl.lit(ID_FIELD), pl.col(ID_FIELD), pl.col(DUPS))


def _describe_problems(frame: pl.DataFrame, flagged: pl.Series, problems: list[Problem]) -> pl.Series:
    """The ``error`` column; messages are formatted only for the few records that have problems."""
    if not flagged.any():
        return pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    messages = frame.filter(flagged).select(join_messages([pl.when(cond).then(message) for cond, message in problems]))
    return scatter(messages.to_series(), flagged.to_numpy())

"""An appeal's corrected fields typed by the pack's input spec, before they replace a stored record's values.

Callers send what the user wrote (the CLI sends ``industry=13`` as the text ``13``); the pack says
what each field is (``type: number | string | flags``). A value that does not fit its field, or a
field that neither the pack reads nor the cycle's data holds, is refused with the field's name:
written into the stored cohort it would be cast to a missing value, or dropped, in silence.
"""

from __future__ import annotations

import math
import re
from typing import Any

import polars as pl

from mujun.engine.compile import InputField, Plan
from mujun.errors import RequestInvalid

__all__ = ["typed_correction", "corrected_cohort"]

#: How a text cell lists several flags (as the engine reads a flags column written as text).
_FLAG_SEPARATORS = re.compile(r"[;,|，；、]")


def typed_correction(plan: Plan, correction: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """``correction`` with each pack input typed by its spec and named as the stored cohort names it.

    ``columns``: the stored cohort's columns; an input found there under one of its aliases (a
    bureau's header) is corrected in that column. Raises :class:`RequestInvalid` listing every field
    that does not fit.
    """
    typed: dict[str, Any] = {}
    violations: list[tuple[str, str]] = []
    by_alias = {alias: spec for spec in plan.inputs.values() for alias in spec.aliases}
    for name, value in correction.items():
        spec = plan.inputs.get(name) or by_alias.get(name)
        if spec is None:
            if name not in columns:
                violations.append((f"correction.{name}", "the pack reads no such field and the cycle's data has "
                                   f"no such column; the pack's inputs are {', '.join(sorted(plan.inputs))}"))
            else:
                typed[name] = value
            continue
        try:
            typed[_column(spec, name, columns)] = _typed(spec, value)
        except ValueError as problem:
            violations.append((f"correction.{name}", str(problem)))
    if violations:
        raise RequestInvalid(f"appeal correction: {violations[0][0]} {violations[0][1]}", violations)
    return typed


def _column(spec: InputField, name: str, columns: list[str]) -> str:
    """Where the stored cohort holds the field: its name, else the alias it was read under."""
    if name in columns:
        return name
    return next((alias for alias in (spec.name, *spec.aliases) if alias in columns), spec.name)


def _typed(spec: InputField, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        raise ValueError(f"is a {spec.type} field; {value!r} is not a value for it")
    if spec.type == "number":
        return _number(value)
    if spec.type == "flags":
        return _flags(value)
    return _text(value)


def _number(value: Any) -> float:
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            raise ValueError(f"is a number field; {value!r} is not a number") from None
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        raise ValueError(f"is a number field; {value!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"is a number field; give a finite number, not {value!r}")
    return number


def _text(value: Any) -> str:
    """Text as written; a number that travelled as one (an extra's double) only when it is whole, so
    ``13.0`` on the wire is the code ``13`` and never the text ``13.0``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    raise ValueError(f"is a text field (a code or a name); send {value!r} as text")


def _flags(value: Any) -> list[str]:
    written = [value] if isinstance(value, str) else value
    if not isinstance(written, (list, tuple)) or not all(isinstance(flag, str) for flag in written):
        raise ValueError(f"is a flags field; send flags as text, got {value!r}")
    return [flag.strip() for text in written for flag in _FLAG_SEPARATORS.split(text) if flag.strip()]


_DTYPES = {float: pl.Float64, str: pl.String, list: pl.List(pl.String)}


def corrected_cohort(data: pl.DataFrame, position: int, record: dict[str, Any],
                     corrected: dict[str, Any]) -> pl.DataFrame:
    """The cohort with row ``position`` replaced by ``record``. A corrected input the cohort lacks becomes
    a column (missing for every other firm); a corrected value its column's type cannot hold is refused,
    since the cast would make it a missing value."""
    widened = [pl.lit(None, dtype=_DTYPES[type(value)]).alias(name) if name not in data.columns
               else pl.col(name).cast(pl.Float64)  # 2.5 employees into a column of whole numbers
               for name, value in corrected.items()
               if name not in data.columns or (isinstance(value, float) and data.schema[name].is_integer())]
    data = data.with_columns(widened) if widened else data
    row = pl.from_dicts([record], schema=data.schema, strict=False)
    lost = [name for name, value in corrected.items() if value is not None and row[name][0] is None]
    if lost:
        violations = [(f"correction.{name}", f"the cycle's data holds {name} as {data.schema[name]}; "
                       f"{corrected[name]!r} cannot be stored there") for name in lost]
        raise RequestInvalid(f"appeal correction: {violations[0][0]} {violations[0][1]}", violations)
    return pl.concat([data.slice(0, position), row, data.slice(position + 1)])

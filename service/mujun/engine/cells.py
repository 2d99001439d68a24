"""Stage 0b — cells: numbers and enumerations as bureaus write them, read into the values rules compare.

Numbers: ``1,234.5``, full-width ``１２３``, ``12.3万`` (× 10⁴ of the base unit: ``12.3万`` in a 税收
column is 12.3 万元, in a 用电量 column 123,000 kWh). Anything else stays that record's error.
Enumerations: declared value aliases (规上 → above, 是 → yes, 重大安全生产事故 → safety_accident), and the
allowed values themselves regardless of width and case. The fast path is Polars' own cast; Python
looks only at the few distinct cells that cast refuses, so a clean column costs nothing extra.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

from mujun.engine.compile import InputField
from mujun.packs.fields import BOOLEAN_VALUES, CANONICAL_FIELDS, FLAG_VALUES, normalise_value
from mujun.packs.model import Pack

__all__ = ["parse_number", "number_value", "value_map", "map_values", "map_flags", "base_factor"]

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$")
_MAGNITUDES = {"万": 1e4, "亿": 1e8}
Problem = tuple[pl.Expr, pl.Expr]


def parse_number(text: str) -> tuple[float, float] | None:
    """(number, magnitude) of a cell as written, or None when it is not a number.

    >>> parse_number("１，２３４．５"), parse_number("12.3万"), parse_number("n/a")
    ((1234.5, 1.0), (12.3, 10000.0), None)
    """
    cell = re.sub(r"[\s,_]", "", unicodedata.normalize("NFKC", text)).casefold()
    magnitude = _MAGNITUDES.get(cell[-1:], 1.0)
    if magnitude != 1.0:
        cell = cell[:-1]
    return (float(cell), magnitude) if _NUMBER.match(cell) else None


def base_factor(units: dict[str, float], unit: str | None) -> float:
    """The factor of the column's base unit (万元 → 元): what ``12.3万`` counts in ten-thousands of."""
    if not unit:
        return 1.0
    base = unit[1:] if unit[:1] in _MAGNITUDES and unit[1:] in units else unit
    return units.get(base, 1.0)


def number_value(frame: pl.DataFrame, name: str, factor: float, base: float) -> tuple[pl.Expr, list[Problem], bool]:
    """The field in its unit, the problems of its cells, and whether NaN marks a cell already reported."""
    source = pl.col(name)
    dtype = frame.schema[name]
    scale = (lambda v: v * factor) if factor != 1.0 else (lambda v: v)  # noqa: E731 - skip a no-op multiply
    if dtype.is_numeric():
        value = source.cast(pl.Float64)
        if dtype.is_float() and frame[name].is_nan().any():  # pandas writes missing as NaN
            value = value.fill_nan(None)
        return scale(value), [], False
    if dtype != pl.String:
        value = source.cast(pl.String).cast(pl.Float64, strict=False)
        return scale(value), [(source.is_not_null() & value.is_null(), pl.lit(f"{name}: not a number"))], True
    text = source.str.strip_chars()
    fast = text.str.replace_all(",", "").cast(pl.Float64, strict=False)
    value = scale(fast)
    refused = frame.lazy().select(text.filter(text.is_not_null() & (text != "") & fast.is_null()).unique()).collect()
    if refused.height:
        written, read = [], []
        for cell in refused.to_series().to_list():
            parsed = parse_number(cell)
            if parsed is not None:
                number, magnitude = parsed
                written.append(cell)
                read.append(number * magnitude * (base if magnitude != 1.0 else factor))
        if written:
            slow = text.replace_strict(written, read, default=None, return_dtype=pl.Float64)
            value = pl.when(fast.is_not_null()).then(value).otherwise(slow)
    unparsable = text.is_not_null() & (text != "") & value.is_null()
    problem = (unparsable, pl.format("{}: not a number: '{}'", pl.lit(name), text))
    return pl.when(unparsable).then(pl.lit(float("nan"))).otherwise(value), [problem], True


def value_map(spec: InputField, pack: Pack) -> dict[str, str]:
    """Normalised written form → the value rules compare with, for one text field."""
    mapping: dict[str, str] = {}
    allowed = spec.allowed or ()
    if allowed and set(allowed) <= {"yes", "no"}:
        mapping.update(BOOLEAN_VALUES)
    base = CANONICAL_FIELDS.get(spec.name)
    if base is not None:
        mapping.update(base.values)
    declared = pack.inputs.get(spec.name)
    if declared is not None:
        mapping.update(declared.value_aliases)
    mapping.update({a: a for a in allowed})
    return {normalise_value(k): v for k, v in mapping.items()}


def map_values(frame: pl.DataFrame, name: str, mapping: dict[str, str]) -> pl.Expr:
    """``name`` with each distinct written form replaced by its value (unknown forms left as written)."""
    if not mapping:
        return pl.col(name)
    distinct = frame[name].drop_nulls().unique().to_list()
    old = [v for v in distinct if mapping.get(normalise_value(v), v) != v]
    if not old:
        return pl.col(name)
    return pl.col(name).replace(old, [mapping[normalise_value(v)] for v in old])


def map_flags(value: pl.Expr) -> pl.Expr:
    """Flags written by their Chinese names become the names rules test with ``has_flag``."""
    return value.list.eval(pl.element().replace(list(FLAG_VALUES), list(FLAG_VALUES.values())))

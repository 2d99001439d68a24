"""Stage 0a — headers: which input column gives which field, in which unit; every column accounted for.

A header is normalised (NFKC, no whitespace, case folded) and matched against each field's name,
aliases and label, first whole, then without a trailing bracketed unit (``税收(元)``, ``用电量[万千瓦时]``).
The unit is read from the field's one table of units (``mujun.packs.fields``) and turned into a
factor; a unit the table does not know is an input error naming the column, never a guess.
A column nothing matches is still listed, and one that looks like a field the pack reads but did
not get is a warning naming both: that is how a silent fallback (energy computed from electricity
because ``综合能耗`` was not recognised) becomes visible.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from mujun.engine.compile import InputField, Plan
from mujun.errors import InputError
from mujun.packs.fields import (CANONICAL_FIELDS, ID_FIELD, describe_factor, normalise_header, normalise_unit,
                                split_unit)

__all__ = ["ColumnUse", "USED", "NOT_NEEDED", "NOT_RECOGNISED", "resolve_columns", "looks_like", "units_of",
           "header_names"]

USED, NOT_NEEDED, NOT_RECOGNISED = "used", "not needed", "not recognised"
_SIMILAR = 0.6  # difflib ratio from which a header "looks like" a field's name


@dataclass(frozen=True)
class ColumnUse:
    """One input column and what became of it."""

    source: str
    column: str
    status: str  # USED | NOT_NEEDED | NOT_RECOGNISED
    field: str | None = None
    unit: str | None = None  # as read from the header
    factor: float = 1.0  # multiplies a value in ``unit`` into the field's unit
    target_unit: str | None = None
    looks_like: str | None = None  # for NOT_RECOGNISED: "energy_tce (its unit 吨标煤 is one of energy_tce's)"

    @property
    def conversion(self) -> str | None:
        if self.factor == 1.0:
            return None
        return f"{self.unit} → {self.target_unit} {describe_factor(self.factor)}"

    def describe(self) -> str:
        where = f"{self.source}: '{self.column}'"
        if self.status == USED:
            unit = f", {self.conversion}" if self.conversion else (f" ({self.unit})" if self.unit else "")
            return f"{where} → {self.field}{unit}"
        if self.status == NOT_NEEDED:
            return f"{where} → {self.field}, not needed by this pack"
        return f"{where}: not recognised" + (f" — looks like {self.looks_like}" if self.looks_like else "")


def units_of(spec: InputField) -> dict[str, float]:
    """A field's units with factors to the unit this pack reads it in."""
    base = CANONICAL_FIELDS.get(spec.name)
    table = {normalise_unit(u): f for u, f in base.units.items()} if base else {}
    declared = normalise_unit(spec.unit) if spec.unit else None
    if declared and declared in table:
        return {u: f / table[declared] for u, f in table.items()}
    if declared:  # a pack's own unit (or one the canonical table does not list): that unit only
        return {declared: 1.0}
    return table


def header_names(spec: InputField) -> set[str]:
    """The normalised headers that name a field: its name, aliases and label."""
    return {normalise_header(n) for n in (spec.name, *spec.aliases, spec.label or "") if n}


def _canonical_spec(name: str) -> InputField:
    f = CANONICAL_FIELDS[name]
    return InputField(name=name, type=f.type, require="optional", allowed=None, aliases=f.aliases, unit=f.unit,
                      label=f.label)


def resolve_columns(columns: list[str], plan: Plan, source: str) -> list[ColumnUse]:
    """What each column of one table gives; raises on an unknown unit or two columns for one field."""
    read = {name: header_names(spec) for name, spec in plan.inputs.items()}
    others = {name: header_names(_canonical_spec(name)) for name in CANONICAL_FIELDS if name not in plan.inputs}
    uses: list[ColumnUse] = []
    taken: dict[str, str] = {}
    for column in columns:
        use = _resolve(column, plan, source, read, others)
        if use.status == USED:
            if use.field in taken:
                raise InputError(f"{source}: columns '{taken[use.field]}' and '{column}' both give {use.field}; "
                                 "keep one of them (or rename the other)")
            taken[use.field] = column
        uses.append(use)
    return uses


def _resolve(column: str, plan: Plan, source: str, read: dict[str, set[str]],
             others: dict[str, set[str]]) -> ColumnUse:
    header = normalise_header(column)
    for table, status in ((read, USED), (others, NOT_NEEDED)):
        whole = next((name for name, names in table.items() if header in names), None)
        if whole is not None:
            return ColumnUse(source, column, status, whole)
    stem, unit = split_unit(header)
    if unit is None:
        return ColumnUse(source, column, NOT_RECOGNISED)
    for table, status in ((read, USED), (others, NOT_NEEDED)):
        name = next((n for n, names in table.items() if stem in names), None)
        if name is None:
            continue
        spec = plan.inputs.get(name) or _canonical_spec(name)
        if spec.type != "number":  # a note such as 统一社会信用代码(18位) on a text field is no unit
            return ColumnUse(source, column, status, name)
        units = units_of(spec)
        if unit not in units:
            known = ", ".join(units) or "none (give the column without a unit)"
            raise InputError(f"{source}: column '{column}': unit '{unit}' is not known for {name}; "
                             f"known units: {known}")
        return ColumnUse(source, column, status, name, unit=unit, factor=units[unit], target_unit=spec.unit or unit)
    return ColumnUse(source, column, NOT_RECOGNISED)


def looks_like(use: ColumnUse, plan: Plan, absent: set[str]) -> str | None:
    """The field the pack reads but did not get that this unrecognised column resembles, and why."""
    stem, unit = split_unit(normalise_header(use.column))
    for name in sorted(absent, key=lambda n: (n == ID_FIELD, n)):
        spec = plan.inputs[name]
        if unit is not None and unit in units_of(spec):
            return f"{name} (its unit {unit} is one of {name}'s)"
        for known in sorted(header_names(spec)):
            if len(known) >= 2 and (known in stem or (len(stem) >= 2 and stem in known)):
                return f"{name} (its name contains '{known}')" if known in stem else f"{name} ('{known}')"
            if difflib.SequenceMatcher(None, stem, known).ratio() >= _SIMILAR:
                return f"{name} (close to '{known}')"
    return None

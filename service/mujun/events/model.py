"""Events as data: a typed event of one enterprise, checked against the pack's ``events.types``.

A bureau's row becomes an :class:`Event` or a :class:`Rejected` naming every field that is wrong, so
one bad row never drops the good ones. Rows come as mappings (a CSV line, a JSON object): the keys
``event_id``, ``enterprise_id``, ``type`` and ``date`` are the event; every other key (or the keys of a
nested ``fields`` object) is one of the type's fields. An empty cell is a missing field.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from mujun.errors import InputError
from mujun.packs.model import Events

__all__ = ["Event", "FieldViolation", "Rejected", "parse_events", "read_events", "in_order", "HEAD_KEYS"]

HEAD_KEYS = ("event_id", "enterprise_id", "type", "date")


@dataclass(frozen=True)
class Event:
    """One reported event; ``fields`` holds the type's fields (numbers as float, words as str)."""

    id: str
    enterprise: str
    type: str
    date: dt.date
    fields: Mapping[str, str | float] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldViolation:
    """What is wrong with one field of one event (the gRPC BadRequest.FieldViolation shape)."""

    field: str
    description: str


@dataclass(frozen=True)
class Rejected:
    """A row that is not a valid event: its position, its id if it had one, and every violation."""

    index: int
    event_id: str | None
    violations: tuple[FieldViolation, ...]

    def __str__(self) -> str:
        name = f"event {self.event_id!r}" if self.event_id else f"row {self.index + 1}"
        return f"{name}: " + "; ".join(f"{v.field}: {v.description}" for v in self.violations)


def in_order(events: Iterable[Event]) -> list[Event]:
    """The one order in which events are applied, whatever order they arrived in: date, enterprise, id."""
    return sorted(events, key=lambda e: (e.date, e.enterprise, e.id))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _field_value(name: str, value: Any, spec: Any, out: list[FieldViolation]) -> str | float | None:
    if spec.type == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            out.append(FieldViolation(name, f"must be a number, got {value!r}"))
            return None
        if not math.isfinite(number):
            out.append(FieldViolation(name, f"must be a finite number, got {value!r}"))
            return None
        return number
    word = str(value).strip()
    if spec.allowed is not None and word not in spec.allowed:
        out.append(FieldViolation(name, f"{word!r} is not allowed; allowed: {', '.join(spec.allowed)}"))
        return None
    return word


def _one(spec: Events, index: int, row: Mapping[str, Any], seen: set[tuple[str, str]]) -> Event | Rejected:
    bad: list[FieldViolation] = []
    head = {k: row.get(k) for k in HEAD_KEYS}
    bad += [FieldViolation(k, "required") for k in HEAD_KEYS if _blank(head[k])]
    event_id = None if _blank(head["event_id"]) else str(head["event_id"]).strip()
    enterprise = None if _blank(head["enterprise_id"]) else str(head["enterprise_id"]).strip()
    date = None
    if not _blank(head["date"]):
        try:
            date = _date(head["date"])
        except ValueError:
            bad.append(FieldViolation("date", f"must be a date YYYY-MM-DD, got {head['date']!r}"))
    kind = None if _blank(head["type"]) else str(head["type"]).strip()
    given = {k: v for k, v in row.items() if k not in HEAD_KEYS and k != "fields"}
    nested = row.get("fields")
    if isinstance(nested, Mapping):
        given.update(nested)
    elif not _blank(nested):
        bad.append(FieldViolation("fields", "must be an object of field values"))
    values: dict[str, str | float] = {}
    if kind is not None and kind not in spec.types:
        bad.append(FieldViolation("type", f"unknown event type {kind!r}; types: {', '.join(spec.types)}"))
    elif kind is not None:
        declared = spec.types[kind].fields
        for name, value in given.items():
            if name not in declared:
                if not _blank(value):
                    bad.append(FieldViolation(name, f"{kind} has no such field; fields: {', '.join(declared) or '(none)'}"))
                continue
            if not _blank(value) and (checked := _field_value(name, value, declared[name], bad)) is not None:
                values[name] = checked
        bad += [FieldViolation(n, "required") for n, f in declared.items() if f.required and _blank(given.get(n))]
    if event_id is not None and enterprise is not None:
        if (enterprise, event_id) in seen:
            bad.append(FieldViolation("event_id", f"{event_id!r} is given twice for {enterprise}"))
        seen.add((enterprise, event_id))
    if bad:
        return Rejected(index, event_id, tuple(bad))
    return Event(event_id, enterprise, kind, date, values)  # type: ignore[arg-type]


def parse_events(spec: Events, rows: Iterable[Mapping[str, Any]]) -> tuple[list[Event], list[Rejected]]:
    """Every valid event and every rejected row (with all its violations); neither hides the other."""
    events: list[Event] = []
    rejected: list[Rejected] = []
    seen: set[tuple[str, str]] = set()
    for index, row in enumerate(rows):
        checked = _one(spec, index, row, seen)
        (rejected if isinstance(checked, Rejected) else events).append(checked)  # type: ignore[arg-type]
    return events, rejected


def read_events(path: Path, spec: Events) -> list[Event]:
    """Events of a .csv or .jsonl file; any invalid row is an InputError listing every rejected row."""
    if path.suffix.lower() == ".jsonl":
        try:
            lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            rows: Sequence[Mapping[str, Any]] = [json.loads(line) for line in lines]
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read events: {exc}", location=str(path)) from exc
    elif path.suffix.lower() == ".csv":
        try:
            rows = pl.read_csv(path, infer_schema=False).to_dicts()  # every cell as text: fields are typed here
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"cannot read events: {exc}", location=str(path)) from exc
    else:
        raise InputError("events are read from a .csv or .jsonl file", location=str(path))
    if any(not isinstance(r, Mapping) for r in rows):
        raise InputError("every line of an events .jsonl file must be a JSON object", location=str(path))
    events, rejected = parse_events(spec, rows)
    if rejected:
        shown = "\n".join(f"  - {r}" for r in rejected[:20])
        more = f"\n  … and {len(rejected) - 20} more" if len(rejected) > 20 else ""
        raise InputError(f"{len(rejected)} invalid event(s):\n{shown}{more}", location=str(path))
    return events

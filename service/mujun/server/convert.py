"""proto ⇄ domain: records to tables, result rows to messages, store rows to messages, Arrow IPC chunks.

Nothing here decides anything; it only changes representation, so the servicers stay a few lines.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from typing import Any

import polars as pl
from google.protobuf import struct_pb2

from mujun_wire.v1 import common_pb2, cycles_pb2, packs_pb2, rule_engine_pb2
from mujun.server.core import PackSpec
from mujun.store.errors import LimitExceeded, RequestInvalid
from mujun_wire.records import NUMBER_FIELDS, STRING_FIELDS, record_message

__all__ = ["record_inputs", "records_to_frame", "history_to_frame", "pack_spec", "result_rows", "result_message", "to_struct",
           "pack_version", "activation", "cycle", "decision", "audit_entry",
           "correction_dict", "parse_date", "record_dicts", "scoring_basis"]

_PREFIX_MAPS = {"item": "items", "measure": "measures", "indicator": "indicators", "adjust": "adjustments",
                "benchmark": "benchmarks"}
_SCALARS = {"enterprise_id", "status", "error", "reason", "score", "tier", "rank", "group", "benchmark_basis",
            "pack_id", "pack_version", "pack_hash"}


# -- records ------------------------------------------------------------------------------------

def check_records(records: Iterable[common_pb2.Record], *, field: str, max_records: int, max_record_bytes: int) -> None:
    """The API's rules for unary records: a count limit, a size limit, a non-empty unique id."""
    records = list(records)
    if len(records) > max_records:
        raise LimitExceeded(f"{field}: {len(records)} records in one call; the limit is {max_records}. "
                            "Send large tables through EvaluateBatch (Arrow IPC)", location=field)
    violations: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, record in enumerate(records):
        if record.ByteSize() > max_record_bytes:
            violations.append((f"{field}[{i}]", f"record is {record.ByteSize()} bytes; the limit is {max_record_bytes}"))
        if not record.enterprise_id:
            violations.append((f"{field}[{i}].enterprise_id", "is empty; every record needs its enterprise id"))
        elif record.enterprise_id in seen and field == "records":
            violations.append((f"{field}[{i}].enterprise_id", f"{record.enterprise_id} appears twice in this request"))
        seen.add(record.enterprise_id)
        violations.extend((f"{field}[{i}].{where}", message) for where, message in _shadowing(record))
    if violations:
        raise RequestInvalid(f"{len(violations)} invalid record(s) in {field}: {violations[0][0]} {violations[0][1]}",
                             violations)


_CANONICAL = frozenset((*STRING_FIELDS, *NUMBER_FIELDS, "flags"))


def _shadowing(record: common_pb2.Record) -> list[tuple[str, str]]:
    """Extras that would replace a canonical field (or each other) once the record is a table row."""
    found = [(f"extra_{kind}[{name!r}]", f"{name} is a field of Record; set it there, not as an extra")
             for kind in ("numbers", "strings") for name in getattr(record, f"extra_{kind}") if name in _CANONICAL]
    found += [(f"extra_strings[{name!r}]", f"{name} is also in extra_numbers; give each extra once")
              for name in record.extra_strings if name in record.extra_numbers]
    return found


def record_inputs(request: Any, *, max_records: int, max_record_bytes: int
                  ) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """(data, prior, history) of a request carrying protobuf ``records``, ``prior`` and ``history``,
    each record checked against the limits first (Evaluate, Explain, Cycles.RunRecords)."""
    for field in ("records", "prior"):
        check_records(getattr(request, field), field=field, max_records=max_records, max_record_bytes=max_record_bytes)
    prior = records_to_frame(request.prior) if request.prior else None
    return records_to_frame(request.records), prior, history_to_frame(request.history)


def records_to_frame(records: Iterable[common_pb2.Record]) -> pl.DataFrame:
    records = list(records)
    columns: dict[str, list[Any]] = {name: [getattr(r, name) or None for r in records] for name in STRING_FIELDS}
    for name in NUMBER_FIELDS:
        columns[name] = [getattr(r, name) if r.HasField(name) else None for r in records]
    columns["flags"] = [list(r.flags) for r in records]
    schema: dict[str, Any] = {**{n: pl.String for n in STRING_FIELDS}, **{n: pl.Float64 for n in NUMBER_FIELDS},
                              "flags": pl.List(pl.String)}
    extra_numbers = sorted({k for r in records for k in r.extra_numbers})
    extra_strings = sorted({k for r in records for k in r.extra_strings})
    for name in extra_numbers:
        columns[name] = [r.extra_numbers[name] if name in r.extra_numbers else None for r in records]
        schema[name] = pl.Float64
    for name in extra_strings:
        columns[name] = [r.extra_strings[name] if name in r.extra_strings else None for r in records]
        schema[name] = pl.String
    return pl.DataFrame(columns, schema=schema)


def correction_dict(record: common_pb2.Record) -> dict[str, Any]:
    """The fields an appeal sets: non-empty strings, present numbers, flags when given, extras."""
    shadowing = _shadowing(record)
    if shadowing:
        raise RequestInvalid(f"correction.{shadowing[0][0]}: {shadowing[0][1]}",
                             [(f"correction.{where}", message) for where, message in shadowing])
    fields: dict[str, Any] = {name: getattr(record, name) for name in STRING_FIELDS if getattr(record, name)}
    fields.update({name: getattr(record, name) for name in NUMBER_FIELDS if record.HasField(name)})
    if record.flags:
        fields["flags"] = list(record.flags)
    fields.update(dict(record.extra_numbers))
    fields.update(dict(record.extra_strings))
    return fields


def history_to_frame(entries: Iterable[common_pb2.HistoryEntry]) -> pl.DataFrame | None:
    entries = list(entries)
    if not entries:
        return None
    return pl.DataFrame({"enterprise_id": [e.enterprise_id for e in entries], "cycle": [e.cycle for e in entries],
                         "tier": [e.tier for e in entries]})


def pack_spec(ref: common_pb2.PackRef) -> PackSpec:
    target = ref.WhichOneof("target")
    if target is None:
        raise RequestInvalid("pack: give pack_id or region", [("pack", "set pack_id (a published pack) or region")])
    return PackSpec(pack_id=ref.pack_id if target == "pack_id" else "", version=ref.version,
                    region=ref.region if target == "region" else "", as_of=parse_date(ref.as_of, "pack.as_of"),
                    parameters=dict(ref.parameters))


def parse_date(text: str, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise RequestInvalid(f"{field}: {text!r} is not an ISO date (YYYY-MM-DD)", [(field, "not an ISO date")]) from exc


# -- results ------------------------------------------------------------------------------------

def _value(value: Any) -> struct_pb2.Value:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, (int, float)):
        return struct_pb2.Value(number_value=float(value))
    return struct_pb2.Value(string_value=str(value))


def result_message(row: dict[str, Any]) -> common_pb2.EnterpriseResult:
    message = common_pb2.EnterpriseResult()
    for key in ("enterprise_id", "status", "error", "reason", "tier", "group", "benchmark_basis", "pack_id",
                "pack_version", "pack_hash"):
        if row.get(key) is not None:
            setattr(message, key, str(row[key]))
    if row.get("score") is not None:
        message.score = float(row["score"])
    if row.get("rank") is not None:
        message.rank = int(row["rank"])
    for key, value in row.items():
        if key in _SCALARS or key.startswith("__"):  # "__" keys: a stored decision's recorded facts, never sent
            continue
        prefix, dot, name = key.partition(".")
        target = getattr(message, _PREFIX_MAPS[prefix]) if dot and prefix in _PREFIX_MAPS else message.other
        target[name if dot and prefix in _PREFIX_MAPS else key].CopyFrom(_value(value))
    return message


def result_rows(table: pl.DataFrame) -> list[common_pb2.EnterpriseResult]:
    return [result_message(row) for row in table.iter_rows(named=True)]


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(value, default=str, ensure_ascii=False)))
    return struct


# -- store rows ---------------------------------------------------------------------------------

def _iso(value: dt.date | dt.datetime | None) -> str:
    """ISO text; times are stored in UTC (SQLite hands them back without the zone)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat() if value is not None else ""


def pack_version(row: Any, *, with_text: bool = False) -> packs_pb2.PackVersion:
    return packs_pb2.PackVersion(pack_id=row.pack_id, version=row.version, hash=row.hash, title=row.title,
                                 source=row.source, text=row.text if with_text else "",
                                 published_at=_iso(row.created_at), published_by=row.created_by,
                                 regions=json.loads(row.regions_json))


def activation(row: Any, version: Any) -> packs_pb2.Activation:
    return packs_pb2.Activation(region=row.region, pack_id=version.pack_id, version=version.version,
                                hash=version.hash, effective_from=_iso(row.effective_from),
                                activated_at=_iso(row.created_at), activated_by=row.created_by)


def cycle(row: Any, version: Any | None) -> cycles_pb2.Cycle:
    tiers = [common_pb2.TierCount(**t) for t in json.loads(row.tiers_json)]
    return cycles_pb2.Cycle(region=row.region, year=row.year, state=row.state,
                            pack_id=version.pack_id if version else "", pack_version=version.version if version else "",
                            pack_hash=version.hash if version else "", enterprises=row.enterprises, tiers=tiers,
                            run_number=row.run_number, updated_at=_iso(row.updated_at))


def decision(row: Any, cycle_row: Any, history: list[Any] | None = None) -> cycles_pb2.Decision:
    message = cycles_pb2.Decision(region=cycle_row.region, year=cycle_row.year, version=row.version, reason=row.reason,
                                  cycle_state=cycle_row.state, result=result_message(json.loads(row.result_json)),
                                  input=record_message(json.loads(row.input_json)),
                                  created_at=_iso(row.created_at), created_by=row.created_by)
    for old in history or []:
        entry = message.history.add(version=old.version, tier=old.tier or "", reason=old.reason,
                                    created_at=_iso(old.created_at))
        if old.score is not None:
            entry.score = old.score
    return message


def audit_entry(row: Any) -> cycles_pb2.AuditEntry:
    return cycles_pb2.AuditEntry(id=row.id, actor=row.actor, action=row.action, target=row.target, region=row.region,
                                 before_hash=row.before_hash, after_hash=row.after_hash, at=_iso(row.at),
                                 detail=to_struct(json.loads(row.detail_json)))


# -- Arrow IPC ----------------------------------------------------------------------------------


def record_dicts(records: Iterable[common_pb2.Record]) -> list[dict[str, Any]]:
    """Records as rows of canonical field names (the few-record path reads these, no table is built);
    the same values ``records_to_frame`` puts in its columns."""
    rows = []
    for r in records:
        row: dict[str, Any] = {name: getattr(r, name) or None for name in STRING_FIELDS}
        row.update({name: getattr(r, name) if r.HasField(name) else None for name in NUMBER_FIELDS})
        row["flags"] = list(r.flags)
        row.update(r.extra_numbers)
        row.update(r.extra_strings)
        rows.append(row)
    return rows


def scoring_basis(*, pack_id: str, pack_version: str, pack_hash: str, region: str = "",
                  year: int = 0) -> rule_engine_pb2.ScoringBasis:
    """What results were scored against: a frozen cycle (region and year given) or the records themselves."""
    kind = rule_engine_pb2.ScoringBasis.FROZEN_CYCLE if region else rule_engine_pb2.ScoringBasis.RECORDS
    return rule_engine_pb2.ScoringBasis(kind=kind, cycle=cycles_pb2.CycleRef(region=region, year=year) if region else None,
                                        pack_id=pack_id, pack_version=pack_version, pack_hash=pack_hash)

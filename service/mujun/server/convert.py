"""proto ⇄ domain: records to tables, result rows to messages, service results to messages, Arrow IPC chunks.

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
from mujun.errors import LimitExceeded, RequestInvalid
from mujun.services import PackSpec
from mujun.services.results import Activation, AuditEntry, Cycle, Decision, PackVersion
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


# -- service results ----------------------------------------------------------------------------

def _iso(value: dt.date | dt.datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def pack_version(version: PackVersion, *, with_text: bool = False) -> packs_pb2.PackVersion:
    return packs_pb2.PackVersion(pack_id=version.pack_id, version=version.version, hash=version.hash,
                                 title=version.title, source=version.source, text=version.text if with_text else "",
                                 published_at=_iso(version.published_at), published_by=version.published_by,
                                 regions=list(version.regions))


def activation(active: Activation) -> packs_pb2.Activation:
    return packs_pb2.Activation(region=active.region, pack_id=active.pack.pack_id, version=active.pack.version,
                                hash=active.pack.hash, effective_from=_iso(active.effective_from),
                                activated_at=_iso(active.activated_at), activated_by=active.activated_by)


def cycle(view: Cycle) -> cycles_pb2.Cycle:
    pack = view.pack
    tiers = [common_pb2.TierCount(group=t.group, tier=t.tier, count=t.count) for t in view.tiers]
    return cycles_pb2.Cycle(region=view.region, year=view.year, state=view.state,
                            pack_id=pack.pack_id if pack else "", pack_version=pack.version if pack else "",
                            pack_hash=pack.hash if pack else "", enterprises=view.enterprises, tiers=tiers,
                            run_number=view.run_number, updated_at=_iso(view.updated_at),
                            notes=view.notes, warnings=view.warnings)


def decision(view: Decision) -> cycles_pb2.Decision:
    message = cycles_pb2.Decision(region=view.region, year=view.year, version=view.version, reason=view.reason,
                                  cycle_state=view.cycle_state, result=result_message(view.result),
                                  input=record_message(view.input), created_at=_iso(view.created_at),
                                  created_by=view.created_by)
    for old in view.history:
        entry = message.history.add(version=old.version, tier=old.tier or "", reason=old.reason,
                                    created_at=_iso(old.created_at))
        if old.score is not None:
            entry.score = old.score
    if view.trace is not None:
        message.trace.CopyFrom(to_struct(view.trace))
    return message


def audit_entry(entry: AuditEntry) -> cycles_pb2.AuditEntry:
    return cycles_pb2.AuditEntry(id=entry.id, actor=entry.actor, action=entry.action, target=entry.target,
                                 region=entry.region, before_hash=entry.before_hash, after_hash=entry.after_hash,
                                 at=_iso(entry.at), detail=to_struct(entry.detail))


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

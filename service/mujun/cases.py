"""Golden cases: YAML files beside each pack (``rules/<id>/cases/*.yaml``) with hand-computed results.

One runner serves ``mujun pack test`` and the test suite. A case gives input records (and optionally
prior-year records, a tier history, parameter overrides) and, per enterprise, the expected status,
score, tier, rank, items, measures, indicators and benchmarks (checks packs: decision, failed, checks,
failed_contains as one text or a list; ``expect_parks`` per park); numbers match within ``tolerance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mujun.errors import InputError
from mujun.pack import Pack

__all__ = ["Case", "CaseOutcome", "load_cases", "run_case", "case_files"]

_SECTIONS = {"items": "item.", "measures": "measure.", "indicators": "indicator.", "benchmarks": "benchmark.",
             "adjustments": "adjust.", "checks": "check."}
_SCALARS = ("status", "score", "tier", "rank", "group", "benchmark_basis", "decision", "failed")
_CONTAINS = {"error_contains": "error", "reason_contains": "reason", "failed_contains": "failed"}


@dataclass(frozen=True)
class Case:
    path: Path
    name: str
    data: dict[str, Any]


@dataclass
class CaseOutcome:
    case: Case
    mismatches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches


def case_files(pack: Pack) -> list[Path]:
    if pack.path is None:
        return []
    return sorted((pack.path.parent / "cases").glob("*.yaml"))


def load_cases(pack: Pack) -> list[Case]:
    cases = []
    for path in case_files(pack):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "input" not in data or "expect" not in data:
            raise InputError(f"{path}: a case needs 'input' (records) and 'expect' (results by enterprise id)")
        cases.append(Case(path=path, name=str(data.get("name", path.stem)), data=data))
    return cases


def run_case(pack: Pack, case: Case) -> CaseOutcome:
    data = case.data
    pack = pack.with_parameters(data.get("parameters") or {})
    result = pack.evaluate(data["input"], prior=data.get("prior"), history=data.get("history"), cycle=data.get("cycle"))
    rows = {str(r["enterprise_id"]): r for r in result.table.iter_rows(named=True)}
    tolerance = float(data.get("tolerance", 1e-6))
    outcome = CaseOutcome(case)
    if result.table.height != len(data["input"]):
        outcome.mismatches.append(f"{result.table.height} output rows for {len(data['input'])} input rows")
    _compare_parks(outcome, result.parks, data.get("expect_parks") or {}, tolerance)
    for ident, expected in data["expect"].items():
        row = rows.get(str(ident))
        if row is None:
            outcome.mismatches.append(f"{ident}: not in the result")
            continue
        for key, want in expected.items():
            if key in _SCALARS:
                _compare(outcome, f"{ident}.{key}", row.get(key), want, tolerance)
            elif key in _SECTIONS:
                for name, value in want.items():
                    column = _SECTIONS[key] + name
                    _compare(outcome, f"{ident}.{column}", row.get(column), value, tolerance)
            elif key in _CONTAINS:
                text = row.get(_CONTAINS[key]) or ""
                for part in want if isinstance(want, list) else [want]:
                    if str(part) not in text:
                        outcome.mismatches.append(f"{ident}.{key}: {part!r} not in {text!r}")
            else:
                outcome.mismatches.append(f"{ident}: unknown expectation {key!r}")
    return outcome


def _compare(outcome: CaseOutcome, where: str, got: Any, want: Any, tolerance: float) -> None:
    if isinstance(want, (int, float)) and not isinstance(want, bool) and got is not None and not isinstance(got, str):
        if not math.isclose(float(got), float(want), rel_tol=tolerance, abs_tol=tolerance):
            outcome.mismatches.append(f"{where}: expected {want}, got {got}")
    elif got != want:
        outcome.mismatches.append(f"{where}: expected {want!r}, got {got!r}")


def _compare_parks(outcome: CaseOutcome, parks: Any, expected: dict[str, Any], tolerance: float) -> None:
    """``expect_parks: {P1: {firms: 3, members: [...], decision: ..., indicators: {...}, checks: {...}}}``."""
    rows = {} if parks is None else {str(r["park"]): r for r in parks.iter_rows(named=True)}
    for park, want in expected.items():
        row = rows.get(str(park))
        if row is None:
            outcome.mismatches.append(f"park {park}: not in the result")
            continue
        for key, value in want.items():
            if key in ("indicators", "checks"):
                for name, v in value.items():
                    _compare(outcome, f"park {park}.{key[:-1]}.{name}", row.get(f"{key[:-1]}.{name}"), v, tolerance)
            elif key == "failed_contains":
                for part in value if isinstance(value, list) else [value]:
                    if str(part) not in (row.get("failed") or ""):
                        outcome.mismatches.append(f"park {park}.failed: {part!r} not in {row.get('failed')!r}")
            elif key in row:
                _compare(outcome, f"park {park}.{key}", row[key], value, tolerance)
            else:
                outcome.mismatches.append(f"park {park}: unknown expectation {key!r}")

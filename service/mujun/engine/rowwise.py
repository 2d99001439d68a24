"""The few-record path: firms scored against a frozen cycle row by row, without building a Polars plan.

A vectorized run pays a fixed cost for planning its query (about 15–20 ms, whatever the number of
rows); a firm scored against a frozen cycle needs no cohort, so its stages are plain functions of its
own record. :class:`RowPlan` is built once per pack hash from the compiled plan: each stage is a
closure over the plan's parsed expressions, evaluated by the language's row interpreter
(:data:`eval_row`). It writes the same columns as the vectorized stages (with the benchmarks and
cut lines of :mod:`mujun.engine.frozen`), so the explanation reads its rows as it reads a frame's,
and ``tests/test_rowwise_agrees.py`` holds the two to the same output, column by column.

:func:`score_against` takes this road below :data:`ROWWISE_MAX_RECORDS` records when
:func:`row_path_refusal` finds nothing it does not cover (then the vectorized frozen stages run):
records of canonical field names and types (as the API's records are), no ``past()`` (earlier
cycles' rows), no tier history read by measures, no repeated id. This is not the reference
evaluator (``tests/oracle``, the independent oracle): it shares the engine's helpers on purpose.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mujun.engine.adjust import SCORE
from mujun.engine.benchmarks import BASIS, cohort_n_col, stat_col
from mujun.engine.cells import value_map
from mujun.engine.checks import (DECISION, FAILED_REASONS, check_col, compared_col, holds, message_digits,
                                 message_parts, render_number)
from mujun.engine.columns import (ERROR, FAILED, GROUP_N, OK, REASON, SCOPE_TIER, STATUS, UNRATED, VETO, adjust_col,
                                  benchmark_col, column_of, indicator_col, item_col, measure_col)
from mujun.engine.compile import CYCLE, Plan, calls
from mujun.engine.explain import explain_row
from mujun.engine.frozen import (FrozenContext, basis_fields, no_group_reason, place_tier, require_usable,
                                 score_frozen)
from mujun.engine.indicators import zero_col, zero_denominator_message
from mujun.engine.items import APPLIED, applied_col, ratio_col
from mujun.engine.lookups import lookup_col, lookup_sites
from mujun.engine.measures import TIER_STREAK
from mujun.engine.prepare import to_frame
from mujun.engine.tiers import FROZEN_BASIS, FROZEN_CUTS, GROUP, RANK, TIER
from mujun.errors import NotFound
from mujun.engine.rounding import round_half_away  # the decimal reading the vectorized stages use
from mujun.lang import eval_row  # the language's row interpreter
from mujun.packs.fields import FLAG_VALUES, ID_FIELD, TIER_FIELD, normalise_value

__all__ = ["FrozenScores", "RowPlan", "row_plan", "score_against", "row_path_refusal", "ROWWISE_MAX_RECORDS"]

#: Up to this many records the row path is taken. Measured (benchmarks/test_bench_latency.py): a record
#: costs it about 0.1 ms against a vectorized run's 15–20 ms fixed cost; on this shared machine the row
#: path's median stays below the vectorized one up to a few dozen records.
ROWWISE_MAX_RECORDS = 32

Row = dict[str, Any]
_ENV = "\0env"  # a row's name → value view while its stages run (removed before the row is returned)


@dataclass(frozen=True)
class FrozenScores:
    """Records scored against a frozen context: the published rows (the columns of ``Result.table``, in
    input order), each record's trace, and the stages' recorded facts."""

    context: FrozenContext
    rows: list[Row]
    path: str  # "rowwise" or "vectorized": which road scored them
    facts: list[Row]
    _explain: Callable[[str, str | None], dict[str, Any]]

    def explain(self, enterprise_id: str, lang: str | None = None) -> dict[str, Any]:
        """The trace of one record, as ``Result.explain`` gives it."""
        return self._explain(enterprise_id, lang)


class _Env(Mapping[str, Any]):
    """Pack names → a row's values (parameters as numbers): what :func:`eval_row` reads."""

    __slots__ = ("_row", "_columns", "_numbers")

    def __init__(self, row: Row, columns: dict[str, str], numbers: dict[str, float]):
        self._row, self._columns, self._numbers = row, columns, numbers

    def __getitem__(self, name: str) -> Any:
        column = self._columns.get(name)
        if column is None:
            return self._numbers[name] if name in self._numbers else self._row.get(name)
        return self._row.get(column)

    def __iter__(self):
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def _float_text(value: float) -> str:
    """A float as Polars' ``format`` writes it (``repr`` with ``e-7`` for ``e-07``)."""
    return repr(float(value)).replace("e-0", "e-")


class RowPlan:
    """The stages of one compiled plan as closures over its expressions, for a few records at a time."""

    def __init__(self, plan: Plan):
        self.plan = plan
        pack = plan.pack
        self._tables = plan.tables.__getitem__
        names = (set(plan.inputs) | set(pack.indicators) | set(pack.benchmarks) | {f"item.{n}" for n in pack.items}
                 | {f"measure.{n}" for n in pack.measures} | set(pack.groups) | {SCORE, TIER, RANK, TIER_STREAK, CYCLE})
        self._columns = {n: c for n in names if (c := column_of(plan, n)) is not None}
        self._maps = {name: value_map(spec, pack) for name, spec in plan.inputs.items()
                      if spec.type == "string" and name != ID_FIELD}
        self._exprs = plan.exprs
        self._tier_names = plan.tier_names
        self._reads_past = any(calls(node, "past") for node in plan.exprs.values())
        self._sites = lookup_sites(plan)
        self._basis = bool(basis_fields(plan))
        self._masks = {  # the columns published only for a rated record, a record not in error, a graded one
            "ok": [SCORE, RANK, *(item_col(n) for n in pack.items), *(adjust_col(a.name) for a in pack.adjustments),
                   *(benchmark_col(n) for n in pack.benchmarks), BASIS],
            "kept": [GROUP, *(indicator_col(n) for n in pack.indicators)],
            "graded": [TIER, *(measure_col(n) for n in pack.measures)]}
        self._published = [ID_FIELD, STATUS, ERROR, REASON, SCORE, TIER, RANK, GROUP, *pack.groups,
                           *(item_col(n) for n in pack.items), *(adjust_col(a.name) for a in pack.adjustments),
                           *(measure_col(n) for n in pack.measures), *(indicator_col(n) for n in pack.indicators),
                           *(benchmark_col(n) for n in pack.benchmarks)]
        if pack.checks:
            self._published += [DECISION, FAILED_REASONS, *(check_col(c.name) for c in pack.checks)]

    def _eval(self, path: str, row: Row) -> Any:
        return eval_row(self._exprs[path], row[_ENV], self._tables)

    # -- stages ----------------------------------------------------------------------------------

    def _prepare(self, record: Row, tier_names: list[str]) -> Row:
        """Stage 1 on a record of canonical values: the typed fields, status and error."""
        row: Row = {}
        problems: list[str] = []
        for name, spec in self.plan.inputs.items():
            value = record.get(name)
            if spec.type == "number":
                value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
                if spec.require != "optional" and value is None:
                    problems.append(f"{name}: missing required value")
                if value is not None and spec.require == "positive" and value <= 0:
                    problems.append(f"{name}: must be > 0, got {_float_text(value)}")
                if value is not None and spec.require == "non_negative" and value < 0:
                    problems.append(f"{name}: must be ≥ 0, got {_float_text(value)}")
            elif spec.type == "flags":
                value = [FLAG_VALUES.get(f, f) for f in value] if value is not None else []
            else:
                value = value.strip() if value is not None else None
                value = value or None
                mapping = self._maps.get(name)
                if value is not None and mapping:
                    value = mapping.get(normalise_value(value), value)
                if spec.require != "optional" and value is None:
                    problems.append(f"{name}: missing required value")
                allowed = list(spec.allowed or (tier_names if name == TIER_FIELD and tier_names else []))
                if allowed and value is not None and value not in allowed:
                    problems.append(f"{name}: '{value}' is not one of {', '.join(allowed)}")
            row[name] = value
        row[STATUS] = FAILED if problems else OK
        row[ERROR] = "; ".join(problems) if problems else None
        row[REASON] = None
        return row

    def _groups(self, row: Row) -> None:
        for name, spec in self.plan.pack.groups.items():
            code = row.get(spec.key)
            key = code if code is None or not spec.prefix else code[:spec.prefix]
            value = self.plan.tables[spec.table].get(key) if key is not None else None
            row[name] = value
            if value is None and row[STATUS] == OK:
                row[STATUS] = FAILED
                if key is None:
                    row[ERROR] = f"{spec.key} missing: no {name} (table {spec.table})"
                else:
                    prefix = f" (its first {spec.prefix}: '{key}')" if spec.prefix else ""
                    row[ERROR] = f"{spec.key} '{code}'{prefix} is not a key of table {spec.table} (for {name})"

    def _scope(self, row: Row) -> None:
        row[SCOPE_TIER] = None
        if row[STATUS] != OK:
            return
        for i, rule in enumerate(self.plan.pack.scope):
            if self._eval(f"scope.{i}.when", row) is True:
                row[REASON], row[SCOPE_TIER], row[STATUS] = rule.reason, rule.tier, UNRATED
                return

    def _indicators(self, row: Row) -> None:
        errors = []
        for name, indicator in self.plan.pack.indicators.items():
            path = f"indicators.{name}"
            value = self._eval(path, row)
            row[indicator_col(name)] = None if value is None else float(value)
            if indicator.zero_denominator is not None:
                node = self.plan.exprs[path]
                numerator, denominator = (eval_row(n, row[_ENV], self._tables) for n in (node.left, node.right))
                zero = denominator == 0 and numerator is not None and numerator > 0
                row[zero_col(name)] = zero
                if zero and indicator.zero_denominator == "error":
                    errors.append(zero_denominator_message(self.plan, name))
        if errors and row[STATUS] == OK:
            row[STATUS], row[ERROR] = FAILED, "; ".join(errors)

    def _benchmarks(self, row: Row, context: FrozenContext) -> None:
        for name, bm in self.plan.pack.benchmarks.items():
            if bm.value is not None:
                value = self._eval(f"benchmarks.{name}.value", row)
                row[benchmark_col(name)] = None if value is None else float(value)
                continue
            found = context.statistic(name, tuple(row.get(f) for f in bm.group_by))
            stat = None if found is None else found.stat
            factor = self._eval(f"benchmarks.{name}.factor", row)
            row[benchmark_col(name)] = None if stat is None else stat * factor
            row[stat_col(name)] = stat
            row[cohort_n_col(name)] = None if found is None else found.n
        if self._basis:
            row[BASIS] = context.basis_of(tuple(row.get(f) for f in context.basis_fields))

    def _items(self, row: Row) -> None:
        rated = row[STATUS] == OK
        failed, unrated = [], []
        for name, item in self.plan.pack.items.items():
            path = f"items.{name}"
            applicable = rated and (item.when is None or self._eval(f"{path}.when", row) is True)
            x = row[indicator_col(item.indicator)] if item.indicator else None
            weight = self._eval(f"{path}.weight", row) if item.weight is not None else None
            bits = 0
            ratio = None
            if item.method == "ratio":
                bm = self._eval(f"{path}.benchmark", row)
                ratio = x / bm if bm is not None and bm > 0 and x is not None else None
                capped = ratio
                if item.cap_ratio is not None and ratio is not None and ratio > item.cap_ratio:
                    capped = item.cap_ratio
                    bits |= _bit("cap_ratio")
                points = None if weight is None or capped is None else weight * capped
            elif item.method == "steps":
                points = None
                for i, step in enumerate(item.steps):
                    if x is not None and (step.min is None or x >= step.min):
                        points = self._eval(f"{path}.steps.{i}.points", row)
                        break
            else:
                points = self._eval(f"{path}.expr", row)
            indicator = self.plan.pack.indicators.get(item.indicator or "")
            if indicator is not None and indicator.zero_denominator == "full" and row.get(zero_col(item.indicator)):
                points = self._full_points(path, item, weight, row)
                bits |= _bit("zero_denominator_full")
            negative = x is not None and x < 0
            if item.negative == "zero" and negative:
                bits |= _bit("negative_zero")
                points = 0.0
            if item.floor is not None:
                floor = self._eval(f"{path}.floor", row)
                if points is not None and floor is not None and points < floor:
                    bits |= _bit("floor")
                    points = floor
            if item.cap is not None:
                cap = self._eval(f"{path}.cap", row)
                if points is not None and cap is not None and points > cap:
                    bits |= _bit("cap")
                    points = cap
            missing = points is None
            if missing:
                bits |= _bit(f"missing_{item.missing}")
            if item.negative in ("unrated", "error") and negative:
                bits |= _bit(f"negative_{item.negative}")
            if item.missing == "zero" and missing:
                points = 0.0
            label = f"{item.indicator or name}"
            if applicable and missing and item.missing in ("unrated", "error"):
                (unrated if item.missing == "unrated" else failed).append(f"{label}: missing, item {name} cannot be scored")
            if applicable and negative and item.negative in ("unrated", "error"):
                (unrated if item.negative == "unrated" else failed).append(f"{label}: negative, item {name} cannot be scored")
            if item.method == "ratio":
                row[ratio_col(name)] = ratio if applicable else None
            row[item_col(name)] = (None if points is None else float(points)) if applicable else None
            row[applied_col(name)] = bits if applicable else None
        if failed:
            row[STATUS], row[ERROR] = FAILED, "; ".join(failed)
        elif unrated:
            row[STATUS], row[REASON] = UNRATED, "; ".join(unrated)

    def _full_points(self, path: str, item: Any, weight: Any, row: Row) -> Any:
        if item.method == "ratio":
            return weight * item.cap_ratio if item.cap_ratio is not None else self._eval(f"{path}.cap", row)
        if item.method == "minmax":
            return weight
        return self._eval(f"{path}.steps.0.points", row)

    def _score(self, row: Row) -> None:
        pack = self.plan.pack
        rated = row[STATUS] == OK
        total = 0.0
        for name in pack.items:
            total = total + (row[item_col(name)] or 0.0)
        row[SCORE] = total if rated else None
        veto = None
        adjusted = []
        for i, adj in enumerate(pack.adjustments):
            hit = rated and self._eval(f"adjustments.{i}.when", row) is True
            if hit and adj.veto is not None and veto is None:
                veto = adj.veto
            points = self._eval(f"adjustments.{i}.points", row) if hit else (0.0 if rated else None)
            adjusted.append((adjust_col(adj.name), points))
        for column, points in adjusted:
            row[column] = points
        row[VETO] = veto
        if adjusted:
            extra = 0.0
            for column, _ in adjusted:
                extra = extra + (row[column] or 0.0)
            row[SCORE] = None if row[SCORE] is None else row[SCORE] + extra
        digits = pack.tiers.score_round if pack.tiers else None
        if digits is not None and row[SCORE] is not None:
            row[SCORE] = round_half_away(row[SCORE], digits)

    def _tiers(self, row: Row, context: FrozenContext) -> None:
        tiers = self.plan.pack.tiers
        fields = tiers.group_by if tiers else []
        if not fields:
            row[GROUP] = "all"
        elif len(fields) == 1:
            row[GROUP] = row.get(fields[0])
        else:
            values = [row.get(f) for f in fields]
            row[GROUP] = None if any(v is None for v in values) else "/".join(values)
        given = row.get(TIER_FIELD)  # a tier given as input (method input) is replaced by the tier here
        row[TIER] = row[RANK] = row[GROUP_N] = None
        row[FROZEN_BASIS], row[FROZEN_CUTS] = context.label, None
        if tiers is None:
            return
        names = self._tier_names
        eligible = row[STATUS] == OK and row[VETO] is None
        forced = row[VETO] if row[STATUS] == OK else row[SCOPE_TIER]
        if not eligible:
            row[TIER] = forced if forced in names else None
        elif tiers.method == "quota":
            row[TIER], row[GROUP_N], row[FROZEN_CUTS] = place_tier(self.plan, context, row)
            if row[TIER] is None:
                row[STATUS], row[REASON] = UNRATED, no_group_reason(context, row[GROUP] or "")
        elif tiers.method == "thresholds":
            score = row[SCORE]
            row[TIER] = next((t.tier for t in tiers.thresholds
                              if t.min is None or (score is not None and not math.isnan(score) and score >= t.min)), None)
        else:
            row[TIER] = given if given in names else None

    def _measures(self, row: Row, cycle: int | None) -> None:
        row[CYCLE] = None if cycle is None else float(cycle)
        pack = self.plan.pack
        if not pack.measures:
            return
        tier = row[TIER]
        row[TIER_STREAK] = 1.0 if tier is not None else None
        for name, measure in pack.measures.items():
            path = f"measures.{name}"
            if tier is None:
                row[measure_col(name)] = None
                continue
            if measure.expr is not None:
                value = self._eval(f"{path}.expr", row)
            else:
                by_tier = measure.by_tier
                table = self.plan.tables[by_tier] if isinstance(by_tier, str) else (by_tier or {})
                if tier in table:
                    value = float(table[tier]) if isinstance(by_tier, str) else self._eval(f"{path}.by_tier.{tier}", row)
                else:
                    value = self._eval(f"{path}.default", row) if measure.default is not None else None
            if value is not None and measure.type != "text":
                value = float(value)
            row[measure_col(name)] = value

    def _checks(self, row: Row) -> None:
        checks = self.plan.pack.checks
        if not checks:
            return
        rated = row[STATUS] == OK
        reasons = []
        for i, check in enumerate(checks):
            path = f"checks.{i}"
            value = self._eval(f"{path}.value", row)
            bound = "min" if check.min is not None else "max"
            threshold = self._eval(f"{path}.{bound}", row)
            value = None if value is None else float(value)
            threshold = None if threshold is None else float(threshold)
            applies = rated and (check.when is None or self._eval(f"{path}.when", row) is True)
            if check.precision is not None:
                row[compared_col(check.name, "raw")] = value if applies else None
                value, threshold = (None if x is None else round_half_away(x, check.precision) for x in (value, threshold))
            missing = value is None or threshold is None
            passed = not missing and holds(check, value, threshold, rounded=check.precision is not None)
            row[check_col(check.name)] = passed if applies else None
            row[compared_col(check.name, "value")] = value if applies else None
            row[compared_col(check.name, "threshold")] = threshold if applies else None
            if applies and not passed:
                failed_text, missing_text = message_parts(check)
                label = check.label or check.name
                if missing:
                    reasons.append(missing_text.format(label=label))
                else:
                    digits = message_digits(check, value, threshold)
                    reasons.append(failed_text.format(label=label, unit=check.unit or "",
                                                      value=render_number(value, digits),
                                                      threshold=render_number(threshold, digits)))
        joined = "; ".join(reasons)
        row[FAILED_REASONS] = (joined or None) if rated else None
        decision = self.plan.pack.decision
        row[DECISION] = (decision.pass_ if row[FAILED_REASONS] is None else decision.fail) if rated else None

    def _lookups(self, row: Row) -> None:
        """``__lookup.N``: the key a record asked a site for when its table lacks it (see engine.lookups)."""
        for site in self._sites:
            key = eval_row(site.key, row[_ENV], self._tables)  # the env reads the row as masked
            key = None if key is None else (_float_text(key) if isinstance(key, float) else str(key))
            unknown = key is not None and key not in self.plan.tables[site.table]
            row[lookup_col(site)] = key if unknown and self._reaches(site.path, row) else None

    def _reaches(self, path: str, row: Row) -> bool:
        parts = path.split(".")
        pack, status, tier = self.plan.pack, row[STATUS], row[TIER]
        rated = status == OK
        if parts[0] == "items":
            item = pack.items[parts[1]]
            return rated and (item.when is None or self._eval(f"items.{parts[1]}.when", row) is True)
        if parts[0] in ("adjustments", "tiers"):
            return rated
        if parts[0] == "checks":
            check = pack.checks[int(parts[1])]
            if parts[2] == "when" or check.when is None:
                return rated
            return rated and self._eval(f"checks.{parts[1]}.when", row) is True
        if parts[0] == "measures":
            graded = status != FAILED and tier is not None
            if parts[2] == "by_tier":
                return graded and tier == ".".join(parts[3:])
            if parts[2] == "default":
                by_tier = pack.measures[parts[1]].by_tier
                entries = self.plan.tables[by_tier] if isinstance(by_tier, str) else (by_tier or {})
                return graded and tier not in entries
            return graded
        return status != FAILED

    def _publishable(self, row: Row) -> None:
        """What a record's status does not allow to be published is masked (as ``evaluate._publishable``)."""
        ok, kept = row[STATUS] == OK, row[STATUS] != FAILED
        graded = row[TIER] is not None and kept
        masked = [*([] if ok else self._masks["ok"]), *([] if kept else self._masks["kept"]),
                  *([] if graded else self._masks["graded"])]
        for column in masked:
            if column in row:
                row[column] = None

    def published(self, row: Row) -> Row:
        """The columns of ``Result.table`` (``evaluate.output_columns``), in their order."""
        pack = self.plan.pack
        out = {name: row.get(name) for name in self._published}
        if BASIS in row:
            out[BASIS] = row[BASIS]
        out.update(pack_id=pack.id, pack_version=pack.version, pack_hash=self.plan.pack_hash)
        return out

    def score(self, records: list[Row], context: FrozenContext) -> list[Row]:
        """Every stage on each record: the full rows (every column the vectorized frame would hold)."""
        tier_names = self._tier_names
        rows = []
        for record in records:
            row = self._prepare(record, tier_names)
            row[_ENV] = _Env(row, self._columns, self.plan.numbers)
            self._groups(row)
            self._scope(row)
            self._indicators(row)
            self._benchmarks(row, context)
            self._items(row)
            self._score(row)
            self._tiers(row, context)
            self._measures(row, context.year)
            self._checks(row)
            self._publishable(row)
            self._lookups(row)
            del row[_ENV]
            rows.append(row)
        return rows

    def refusal(self, records: list[Row], history: Any) -> str | None:
        """Why these records take the vectorized road, or None when the row path covers them."""
        plan = self.plan
        if self._reads_past:
            return "the pack reads earlier cycles (past)"
        if plan.pack.measures and history is not None and len(history):
            return "the cycle has a tier history that measures read"
        seen: set[Any] = set()
        for record in records:
            ident = record.get(ID_FIELD)
            if ident in seen:
                return "a repeated enterprise id"
            seen.add(ident)
        for name, spec in plan.inputs.items():
            present = [r.get(name) for r in records if name in r]
            if not present and spec.require != "optional":
                return f"no record has {name}"  # the vectorized intake says what is missing
            wanted = {"number": (int, float), "string": (str,), "flags": (list, tuple)}[spec.type]
            if any(v is not None and (not isinstance(v, wanted) or isinstance(v, bool)) for v in present):
                return f"{name} is not given as a {spec.type}"
            if spec.type == "number" and any(v is not None and math.isinf(v) for v in present):
                return f"{name} is infinite"
        return None


def _bit(code: str) -> int:
    return 1 << APPLIED.index(code)


@functools.lru_cache(maxsize=64)
def _row_plan(key: str, plan_ref: _PlanRef) -> RowPlan:
    return RowPlan(plan_ref.plan)


@dataclass(frozen=True, eq=False)
class _PlanRef:
    plan: Plan

    def __hash__(self) -> int:
        return hash(self.plan.pack_hash)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _PlanRef) and other.plan.pack_hash == self.plan.pack_hash


def row_plan(plan: Plan) -> RowPlan:
    """The row stages of ``plan``, built once per pack hash."""
    return _row_plan(plan.pack_hash, _PlanRef(plan))


def row_path_refusal(plan: Plan, records: list[Row], history: Any = None) -> str | None:
    if len(records) > ROWWISE_MAX_RECORDS:
        return f"more than {ROWWISE_MAX_RECORDS} records"
    return row_plan(plan).refusal(records, history)


def _facts(plan: Plan, row: Row, published: Row) -> Row:
    return {k: v for k, v in row.items() if k not in published and (k.startswith("__") or k == TIER_STREAK)}


def _sources(plan: Plan, record: Row) -> dict[str, dict[str, Any]]:
    """Each input's source, as the intake records it for a list of records (table ``input``)."""
    return {name: ({"source": f"input: '{name}'"} if name in record else {"source": None}) for name in plan.inputs}


def score_against(plan: Plan, context: FrozenContext, records: list[Row], *, prior: Any = None,
                  history: Any = None, rowwise: bool | None = None) -> FrozenScores:
    """Score ``records`` (rows of canonical field names) against a frozen context; the row path when it
    covers them (``rowwise``: force it on or off, for the differential tests)."""
    require_usable(plan, context)
    use_rows = row_path_refusal(plan, records, history) is None if rowwise is None else rowwise
    if use_rows:
        rows_plan = row_plan(plan)
        full = rows_plan.score(records, context)
        published = [rows_plan.published(row) for row in full]
        index = {str(row[ID_FIELD]): i for i, row in reversed(list(enumerate(full))) if row[ID_FIELD] is not None}

        def explain(enterprise_id: str, lang: str | None = None) -> dict[str, Any]:
            position = index.get(str(enterprise_id))
            if position is None:
                raise NotFound(f"enterprise {enterprise_id!r} is not in this result")
            return explain_row(plan, full[position], lang, _sources(plan, records[position]))

        return FrozenScores(context, published, "rowwise",
                            [_facts(plan, row, out) for row, out in zip(full, published)], explain)
    result = score_frozen(plan, context, to_frame(records), prior=prior, history=history)
    return FrozenScores(context, result.table.to_dicts(), "vectorized", result.facts().to_dicts(), result.explain)

"""The reference evaluator: the same pack semantics, one record at a time, in plain Python.

It shares nothing with the vectorized stages but the parsed expressions and their row interpreter,
so when both agree on random data the columnar plan is right (the differential test in tests/).
It is slow on purpose: clarity over speed. It takes canonical field names (no aliases).
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from mujun.engine.allocate import DECIMALS
from mujun.engine.checks import holds, message_digits, message_parts, render_number, round_half_away
from mujun.engine.compile import Plan, calls
from mujun.engine.tiers import cumulative_cuts
from mujun import lang as ex
from mujun.packs.fields import ID_FIELD
from mujun.packs.model import Benchmark, Item

__all__ = ["reference_evaluate", "reference_parks"]


def reference_evaluate(plan: Plan, records: list[dict[str, Any]], prior: list[dict[str, Any]] | None = None,
                       history: list[dict[str, Any]] | None = None, cycle: int | None = None) -> list[dict[str, Any]]:
    latest, years = _split_years(prior, cycle)
    rows = _indicators(plan, _past(plan, _scope(plan, _prepare(plan, records)), years))
    prior_rows = _indicators(plan, _scope(plan, _prepare(plan, latest))) if latest is not None else None

    _benchmarks(plan, rows, prior_rows)
    _items(plan, rows)
    _score(plan, rows)
    _tiers(plan, rows)
    _measures(plan, rows, history, cycle)
    if plan.pack.checks:
        _checks(plan, rows)
    _unknown_lookups(plan, rows)
    return rows


def _eval(plan: Plan, path: str, env: dict[str, Any]) -> Any:
    return ex.eval_row(plan.node(path), env, plan.tables.__getitem__)


def _number(value: Any) -> tuple[float | None, bool]:
    """(value, ok): ok is False for text that is not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (None if math.isnan(value) else float(value)), True
    try:
        return float(str(value).strip().replace(",", "")), True
    except ValueError:
        return None, False


def _prepare(plan: Plan, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        ident = record.get(ID_FIELD)
        if ident is not None and str(ident).strip():
            counts[str(ident).strip()] += 1
    rows = []
    for record in records:
        env: dict[str, Any] = dict(plan.numbers)
        bad = False
        for name, spec in plan.inputs.items():
            raw = record.get(name)
            if spec.type == "number":
                value, ok = _number(raw)
                bad |= not ok
                bad |= spec.require != "optional" and ok and value is None
                bad |= spec.require == "positive" and value is not None and value <= 0
                bad |= spec.require == "non_negative" and value is not None and value < 0
            elif spec.type == "flags":
                value = list(raw or [])
            else:
                value = None if raw is None or not str(raw).strip() else str(raw).strip()
                bad |= spec.require != "optional" and value is None
                allowed = spec.allowed or (plan.tier_names if name == "tier" else None)
                bad |= bool(allowed) and value is not None and value not in allowed
            env[name] = value
        ident = env.get(ID_FIELD)
        bad |= ident is not None and counts[ident] > 1
        for name, group in plan.pack.groups.items():  # derived groups: an unknown code is an error
            code = env.get(group.key)
            code = code[: group.prefix] if code is not None and group.prefix else code
            env[name] = plan.tables[group.table].get(code) if code is not None else None
            bad |= env[name] is None
        env["status"] = "error" if bad else "ok"
        env["reason"] = None
        env["scope_tier"] = None
        rows.append(env)
    return rows


def _scope(plan: Plan, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for env in rows:
        if env["status"] != "ok":
            continue
        for i, rule in enumerate(plan.pack.scope):
            if _eval(plan, f"scope.{i}.when", env) is True:
                env.update(status="unrated", reason=rule.reason, scope_tier=rule.tier)
                break
    return rows


def _indicators(plan: Plan, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for env in rows:
        for name, indicator in plan.pack.indicators.items():
            env[name] = _eval(plan, f"indicators.{name}", env)
            if indicator.zero_denominator is not None:
                node = plan.node(f"indicators.{name}")
                top, bottom = (ex.eval_row(n, env, plan.tables.__getitem__) for n in (node.left, node.right))
                env[f"zero.{name}"] = bottom == 0 and top is not None and top > 0
                if env[f"zero.{name}"] and indicator.zero_denominator == "error" and env["status"] == "ok":
                    env["status"] = "error"
    return rows


def _split_years(prior: list[dict[str, Any]] | None, cycle: int | None) -> tuple[list | None, dict[int, list]]:
    """Earlier cycles by how far back they are (no ``cycle`` key: all of it is one cycle back)."""
    if prior is None or not any("cycle" in r for r in prior):
        return prior, ({} if prior is None else {1: prior})
    years = [int(r["cycle"]) for r in prior]
    now = cycle if cycle is not None else max(years) + 1
    split: dict[int, list] = defaultdict(list)
    for record, year in zip(prior, years):
        if year < now:
            split[now - year].append({k: v for k, v in record.items() if k != "cycle"})
    return (split[min(split)] if split else []), dict(split)


def _past(plan: Plan, rows: list[dict[str, Any]], years: dict[int, list]) -> list[dict[str, Any]]:
    wanted = [c for path, node in plan.exprs.items() if path.startswith("indicators.") for c in calls(node, "past")]
    for call in wanted:
        back, name = int(call.args[1].value), call.args[0].name  # type: ignore[union-attr]
        found = {env[ID_FIELD]: env.get(name) for env in _indicators(plan, _prepare(plan, years.get(back, [])))
                 if env["status"] != "error" and env[ID_FIELD] is not None}
        for env in rows:
            env[ex.earlier_column(call)] = found.get(env[ID_FIELD])
    return rows


def _statistic(bm: Benchmark, values: list[Any]) -> float | None:
    if not values:
        return None
    if bm.reading == "ratio_of_sums":  # values are (numerator, denominator) pairs
        below = math.fsum(d for _, d in values)
        return math.fsum(n for n, _ in values) / below if below != 0 else None
    if bm.stat == "mean":
        return math.fsum(values) / len(values)
    if bm.stat == "median":
        return statistics.median(values)
    if bm.stat == "min":
        return min(values)
    if bm.stat == "max":
        return max(values)
    ordered = sorted(values)
    position = (len(ordered) - 1) * bm.percentile / 100.0  # type: ignore[operator]
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _cohort_stats(plan: Plan, name: str, bm: Benchmark, rows: Iterable[dict[str, Any]]) -> dict[tuple, float | None]:
    groups: dict[tuple, list[float]] = defaultdict(list)
    for env in rows:
        if env["status"] != "ok" or env[bm.of] is None:  # type: ignore[index]
            continue
        if bm.where is not None and _eval(plan, f"benchmarks.{name}.where", env) is not True:
            continue
        value = env[bm.of]  # type: ignore[index]
        if bm.reading == "ratio_of_sums":
            value = (_eval(plan, f"benchmarks.{name}.numerator", env), _eval(plan, f"benchmarks.{name}.denominator", env))
        groups[tuple(env[g] for g in bm.group_by)].append(value)
    return {key: _statistic(bm, values) for key, values in groups.items()}


def _benchmarks(plan: Plan, rows: list[dict[str, Any]], prior_rows: list[dict[str, Any]] | None) -> None:
    for name, bm in plan.pack.benchmarks.items():
        if bm.value is not None:
            for env in rows:
                env[name] = _eval(plan, f"benchmarks.{name}.value", env)
            continue
        factor = _eval(plan, f"benchmarks.{name}.factor", dict(plan.numbers))
        current = _cohort_stats(plan, name, bm, rows)
        previous = _cohort_stats(plan, name, bm, prior_rows) if prior_rows is not None and bm.source != "current" else {}
        for env in rows:
            key = tuple(env[g] for g in bm.group_by)
            if bm.source == "current" or prior_rows is None:
                stat = current.get(key)
            elif bm.source == "prior":
                stat = previous.get(key)
            else:
                stat = previous.get(key) if previous.get(key) is not None else current.get(key)
            env[name] = None if stat is None else stat * factor


def _raw_points(plan: Plan, name: str, item: Item, env: dict[str, Any], bounds: dict[tuple, tuple]) -> Any:
    path = f"items.{name}"
    weight = _eval(plan, f"{path}.weight", env)
    x = env[item.indicator] if item.indicator else None
    if item.method == "ratio":
        bm = _eval(plan, f"{path}.benchmark", env)
        if x is None or bm is None or weight is None or bm <= 0:
            return None
        ratio = x / bm
        if item.cap_ratio is not None and ratio > item.cap_ratio:
            ratio = item.cap_ratio
        return weight * ratio
    if item.method == "minmax":
        if x is None or weight is None:
            return None
        low, high = bounds[tuple(env[c] for c in item.cohort)]
        spread = 20 + 80 * (x - low) / (high - low) if high > low else 100.0
        return weight * spread / 100
    if item.method == "steps":
        if x is None:
            return None
        for i, step in enumerate(item.steps):
            if step.min is None or x >= step.min:
                return _eval(plan, f"{path}.steps.{i}.points", env)
        return None
    return _eval(plan, f"{path}.expr", env)


def _applies(plan: Plan, name: str, item: Item, env: dict[str, Any]) -> bool:
    return env["status"] == "ok" and (item.when is None or _eval(plan, f"items.{name}.when", env) is True)


def _items(plan: Plan, rows: list[dict[str, Any]]) -> None:
    verdicts: dict[int, str] = {}
    for name, item in plan.pack.items.items():
        path = f"items.{name}"
        bounds: dict[tuple, tuple] = {}
        if item.method == "minmax":
            groups: dict[tuple, list[float]] = defaultdict(list)
            for env in rows:
                if _applies(plan, name, item, env) and env[item.indicator] is not None:  # type: ignore[index]
                    groups[tuple(env[c] for c in item.cohort)].append(env[item.indicator])  # type: ignore[index]
            bounds = {k: (min(v), max(v)) for k, v in groups.items()}
        points_by_row: list[Any] = []
        for env in rows:
            points = _raw_points(plan, name, item, env, bounds) if _applies(plan, name, item, env) else None
            if points is None and env.get(f"zero.{item.indicator}") and \
                    plan.pack.indicators[item.indicator].zero_denominator == "full":  # type: ignore[index]
                weight = _eval(plan, f"{path}.weight", env)
                points = {"ratio": lambda: weight * item.cap_ratio if item.cap_ratio is not None
                          else _eval(plan, f"{path}.cap", env),
                          "minmax": lambda: weight,
                          "steps": lambda: _eval(plan, f"{path}.steps.0.points", env)}[item.method]()
            x = env[item.indicator] if item.indicator else None
            negative = x is not None and x < 0
            if points is not None or negative:
                if negative and item.negative == "zero":
                    points = 0.0
                floor = _eval(plan, f"{path}.floor", env) if item.floor is not None else None
                cap = _eval(plan, f"{path}.cap", env) if item.cap is not None else None
                if points is not None and floor is not None and points < floor:
                    points = floor
                if points is not None and cap is not None and points > cap:
                    points = cap
            if _applies(plan, name, item, env):
                if negative and item.negative in ("unrated", "error"):
                    verdicts[id(env)] = max(verdicts.get(id(env), ""), item.negative, key=("", "unrated", "error").index)
                if points is None and item.missing in ("unrated", "error"):
                    verdicts[id(env)] = max(verdicts.get(id(env), ""), item.missing, key=("", "unrated", "error").index)
            points_by_row.append(points)
        if item.missing == "cohort_mean":
            sums: dict[tuple, list[float]] = defaultdict(list)
            for env, points in zip(rows, points_by_row):
                if points is not None and _applies(plan, name, item, env):
                    sums[tuple(env[c] for c in item.cohort)].append(points)
            means = {k: math.fsum(v) / len(v) for k, v in sums.items()}
            points_by_row = [p if p is not None else means.get(tuple(env[c] for c in item.cohort))
                             for env, p in zip(rows, points_by_row)]
        elif item.missing == "zero":
            points_by_row = [0.0 if p is None else p for p in points_by_row]
        for env, points in zip(rows, points_by_row):
            env[f"item.{name}"] = points if _applies(plan, name, item, env) else None
    for env in rows:
        verdict = verdicts.get(id(env))
        if verdict:
            env["status"] = verdict
            for name in plan.pack.items:  # a record that is not rated publishes no item scores
                env[f"item.{name}"] = None


def _score(plan: Plan, rows: list[dict[str, Any]]) -> None:
    for env in rows:
        env["veto"] = None
        if env["status"] != "ok":
            env["score"] = None
            continue
        # left to right, as the columnar sum adds: equal firms must tie in both evaluators
        total = sum((env[f"item.{n}"] for n in plan.pack.items if env[f"item.{n}"] is not None), 0.0)
        env["score"] = total
        bonus = 0.0
        for i, adj in enumerate(plan.pack.adjustments):
            if _eval(plan, f"adjustments.{i}.when", env) is True:
                bonus += _eval(plan, f"adjustments.{i}.points", env)
                if adj.veto is not None and env["veto"] is None:
                    env["veto"] = adj.veto
        env["score"] = total + bonus
        digits = plan.pack.tiers.score_round if plan.pack.tiers else None
        if digits is not None:
            env["score"] = ex.eval_row(ex.parse(f"round(score, {digits})"), env, plan.tables.__getitem__)


def _compare(a: dict[str, Any], b: dict[str, Any], keys: list[tuple[str, bool]]) -> int:
    for name, descending in keys:
        x, y = a[name], b[name]
        if x == y:
            continue
        if x is None or y is None:
            return 1 if x is None else -1  # missing last, whichever the direction
        return (-1 if x > y else 1) if descending else (-1 if x < y else 1)
    return 0


def _tiers(plan: Plan, rows: list[dict[str, Any]]) -> None:
    tiers = plan.pack.tiers
    for env in rows:
        env["group"] = "/".join(str(env[g]) for g in tiers.group_by) if tiers and tiers.group_by else "all"
        env["tier"] = env.get("tier") if tiers and tiers.method == "input" else None
        env["rank"] = None
    if tiers is None:
        return
    keys = [*plan.order_by, (ID_FIELD, False)]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for env in rows:
        if env["status"] == "ok" and env["veto"] is None:
            groups[env["group"]].append(env)
    for members in groups.values():
        members.sort(key=functools.cmp_to_key(lambda a, b: _compare(a, b, keys)))
        cuts = _least_counts(tiers.quotas, cumulative_cuts([q.percent for q in tiers.quotas], tiers.rounding, len(members)),
                             len(members)) if tiers.method == "quota" else []
        for position, env in enumerate(members, start=1):
            env["rank"] = position
            if tiers.method == "quota":
                k = next((k for k, cut in enumerate(cuts) if position <= cut), len(cuts) - 1)
                env["tier"] = tiers.quotas[_bounded(tiers.quotas, k, env["score"])].tier
            elif tiers.method == "thresholds":
                env["tier"] = next((t.tier for t in tiers.thresholds if t.min is None or env["score"] >= t.min), None)
    for env in rows:
        if env["status"] == "ok" and env["veto"] is not None:
            env["tier"] = env["veto"]
        elif env["status"] != "ok":
            env["tier"] = env["scope_tier"] if env["status"] == "unrated" else None


def _least_counts(quotas: list, cuts: list[int], n: int) -> list[int]:
    """min_count, tier by tier: from the tail of the tier above (the first tier: the head of the next)."""
    cuts = list(cuts)
    for k, quota in enumerate(quotas):
        if quota.min_count and k == 0:
            cuts = [max(c, min(quota.min_count, n)) for c in cuts]
        elif quota.min_count:
            bound = max(cuts[k] - quota.min_count, 0)
            cuts = [min(c, bound) if j < k else c for j, c in enumerate(cuts)]
    return cuts


def _bounded(quotas: list, k: int, score: float | None) -> int:
    """Down while under the tier's min_score, then up while over its max_score (not past a floor)."""
    def under(j: int) -> bool:
        return score is not None and quotas[j].min_score is not None and score < quotas[j].min_score

    while k < len(quotas) - 1 and under(k):
        k += 1
    while (k > 0 and score is not None and quotas[k].max_score is not None and score > quotas[k].max_score
           and not under(k - 1)):
        k -= 1
    return k


def _measures(plan: Plan, rows: list[dict[str, Any]], history: list[dict[str, Any]] | None, cycle: int | None) -> None:
    past: dict[str, dict[int, str]] = defaultdict(dict)
    for entry in history or []:
        past[str(entry[ID_FIELD])][int(entry["cycle"])] = str(entry["tier"])
    now = cycle if cycle is not None else (max((c for p in past.values() for c in p), default=0) + 1)
    for env in rows:
        env["cycle"] = None if cycle is None else float(cycle)
        if env["tier"] is None:
            env["tier_streak"] = None
            continue
        streak, year = 1, now - 1
        while past.get(env[ID_FIELD], {}).get(year) == env["tier"]:
            streak, year = streak + 1, year - 1
        env["tier_streak"] = float(streak)
        for path, node in plan.exprs.items():
            for call in calls(node, "tier_count") if path.startswith(("measures.", "checks.")) else []:
                tier, last = call.args[0].value, int(call.args[1].value)  # type: ignore[union-attr]
                earlier = sum(past.get(env[ID_FIELD], {}).get(now - back) == tier for back in range(1, last))
                env[ex.earlier_column(call)] = float((env["tier"] == tier) + earlier)
    for name, measure in plan.pack.measures.items():  # measure by measure: an allocation needs the whole group
        if measure.allocate is not None:
            _allocate(plan, name, measure.allocate, rows)
            continue
        for env in rows:
            env[f"measure.{name}"] = None if env["tier"] is None else _measure_value(plan, name, measure, env)


def _measure_value(plan: Plan, name: str, measure: Any, env: dict[str, Any]) -> Any:
    path = f"measures.{name}"
    if measure.expr is not None:
        return _eval(plan, f"{path}.expr", env)
    if isinstance(measure.by_tier, str):
        table = plan.tables[measure.by_tier]
        if env["tier"] in table:
            return table[env["tier"]]
    elif env["tier"] in (measure.by_tier or {}):
        return _eval(plan, f"{path}.by_tier.{env['tier']}", env)
    return _eval(plan, f"{path}.default", env) if measure.default is not None else None


def _allocate(plan: Plan, name: str, spec: Any, rows: list[dict[str, Any]]) -> None:
    """Floor each share to whole units, then one unit each to the largest remainders (see engine.allocate)."""
    path = f"measures.{name}.allocate"
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for env in rows:
        groups[tuple(env[g] for g in spec.group_by)].append(env)
    for members in groups.values():
        budget = _eval(plan, f"{path}.budget", members[0])
        units = None if budget is None else math.floor(_round(budget / spec.unit))
        weights = []
        for env in members:
            w = _eval(plan, f"{path}.weight", env) if env["tier"] is not None else None
            weights.append(w if w is not None and w > 0 else 0.0)
        total = math.fsum(weights)
        shares = []
        for env, w in zip(members, weights):
            raw = units * w / total if units is not None and total > 0 else 0.0
            base = math.floor(_round(raw))
            shares.append([env, w, base, raw - base])
        left = 0 if units is None else units - sum(s[2] for s in shares)
        order = sorted(shares, key=lambda s: (-s[3], -s[1], s[0][ID_FIELD] is None, s[0][ID_FIELD] or ""))
        for position, share in enumerate(order):
            if share[1] > 0 and position < left:
                share[2] += 1
        for env, _w, base, _frac in shares:
            ok = env["tier"] is not None and units is not None
            env[f"measure.{name}"] = float(base) * spec.unit if ok else None


def _round(value: float) -> float:
    return round(value, DECIMALS)


def _checks(plan: Plan, rows: list[dict[str, Any]]) -> None:
    decision = plan.pack.decision
    for env in rows:
        env.setdefault("cycle", None)
        rated = env["status"] == "ok"
        reasons = []
        for i, check in enumerate(plan.pack.checks):
            path = f"checks.{i}"
            applies = rated and (check.when is None or _eval(plan, f"{path}.when", env) is True)
            if not applies:
                env[f"check.{check.name}"] = None
                continue
            bound = "min" if check.min is not None else "max"
            value, threshold = _eval(plan, f"{path}.value", env), _eval(plan, f"{path}.{bound}", env)
            missing = value is None or threshold is None
            if not missing and check.precision is not None:
                value, threshold = round_half_away(value, check.precision), round_half_away(threshold, check.precision)
            passed = not missing and holds(check, value, threshold, rounded=check.precision is not None)
            env[f"check.{check.name}"] = passed
            if not passed:
                failed, lacking = message_parts(check)
                label = check.label or check.name
                digits = None if missing else message_digits(check, value, threshold)
                reasons.append(lacking.format(label=label) if missing else failed.format(
                    label=label, unit=check.unit or "", value=render_number(value, digits),
                    threshold=render_number(threshold, digits)))
        env["failed"] = ("; ".join(reasons) or None) if rated else None
        env["decision"] = (decision.fail if reasons else decision.pass_) if rated else None


class _Absent(dict):
    """A record's names; a name the record never reached (an item of an unrated firm) is missing."""

    def __missing__(self, key: str) -> None:
        return None


def _lookups_in(node: ex.Node) -> list[ex.Call]:
    found = [node] if isinstance(node, ex.Call) and node.func == "lookup" else []
    for value in vars(node).values():
        for child in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(child, ex.Node):
                found += _lookups_in(child)
    return found


def _reached(plan: Plan, path: str, env: dict[str, Any]) -> bool:
    """Does this record evaluate the expression at ``path``? (The stages' own rules, row by row.)"""
    pack, part = plan.pack, path.split(".")
    rated, tier = env["status"] == "ok", env.get("tier")
    if part[0] == "items":
        return rated and (pack.items[part[1]].when is None or _eval(plan, f"items.{part[1]}.when", env) is True)
    if part[0] in ("adjustments", "tiers"):
        return rated
    if part[0] == "checks":
        check = pack.checks[int(part[1])]
        return rated and (part[2] == "when" or check.when is None or _eval(plan, f"checks.{part[1]}.when", env) is True)
    if part[0] == "measures":
        if tier is None:
            return False
        if part[2] == "by_tier":
            return tier == ".".join(part[3:])
        if part[2] == "default":
            by_tier = pack.measures[part[1]].by_tier
            return tier not in (plan.tables[by_tier] if isinstance(by_tier, str) else (by_tier or {}))
    return True


def _unknown_lookups(plan: Plan, rows: list[dict[str, Any]]) -> None:
    """``unknown_lookups``: the (path, table, key) of each lookup a record reached with a key its table lacks."""
    for row in rows:
        env = _Absent(row)
        found = []
        for path, node in plan.exprs.items():
            if row["status"] == "error" or path.startswith("parks.") or not _reached(plan, path, env):
                continue
            for call in _lookups_in(node):
                table = call.args[0].value if isinstance(call.args[0], ex.Str) else call.args[0].name  # type: ignore[union-attr]
                key = ex.table_key(ex.eval_row(call.args[1], env, plan.tables.__getitem__))
                if key is not None and key not in plan.tables[table]:
                    found.append((path, table, key))
        row["unknown_lookups"] = sorted(found)


def reference_parks(plan: Plan, rows: list[dict[str, Any]], prior: list[dict[str, Any]] | None = None,
                    cycle: int | None = None) -> list[dict[str, Any]]:
    """One dict per park (sorted by park), from the rows ``reference_evaluate`` returned and the prior records."""
    spec = plan.pack.parks
    if spec is None:
        return []
    latest, _ = _split_years(prior, cycle)
    before: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for env in _indicators(plan, _scope(plan, _prepare(plan, latest or []))):
        if env["status"] == "ok" and env[spec.by] is not None:
            before[env[spec.by]].append(env)

    rated = [env for env in rows if env["status"] == "ok"]
    town = [env for env in rated if spec.city_where is None or _eval(plan, "parks.city_where", env) is True]
    city = {"city_firms": len(town), **{f"city_{x}": _total(town, x) for x in spec.sums}}
    parks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for env in rated:
        if env[spec.by] is not None:
            parks[env[spec.by]].append(env)
    out = []
    for park in sorted(parks):
        members = parks[park]
        row: dict[str, Any] = {"park": park, "firms": len(members), "members": [e[ID_FIELD] for e in members], **city,
                               **{f"sum_{x}": _total(members, x) for x in spec.sums},
                               "prior_firms": len(before[park]) if park in before else None,
                               **{f"prior_sum_{x}": _total(before[park], x) if park in before else None for x in spec.sums}}
        if spec.industry is not None:
            by_industry: dict[Any, list[dict[str, Any]]] = defaultdict(list)
            for env in members:
                by_industry[env[spec.industry]].append(env)
            row["industries"] = len(by_industry)
            if spec.leading is not None:
                _leading_row(plan, row, by_industry, len(members))
        for name in spec.indicators:
            row[name] = _eval(plan, f"parks.indicators.{name}", {**plan.numbers, **row})
        _park_checks(plan, row)
        out.append(row)
    return out


def _total(members: list[dict[str, Any]], name: str) -> float | None:
    values = [env[name] for env in members]
    return None if any(v is None for v in values) else math.fsum(values)


def _leading_row(plan: Plan, row: dict[str, Any], by_industry: dict[Any, list], firms: int) -> None:
    spec = plan.pack.parks
    by, park_total = spec.leading.by, row[f"sum_{spec.leading.by}"]
    names = ["top_industry", "leading_industries", "top_share_firms", *(f"top_share_{x}" for x in spec.sums)]
    if park_total is None or park_total == 0:
        row.update(dict.fromkeys(names))
        return
    sums = {k: {x: _total(v, x) for x in spec.sums} for k, v in by_industry.items()}
    top = sorted(sums, key=lambda k: (-sums[k][by], k))[0]
    row["top_industry"] = top
    least = _eval(plan, "parks.leading.min_share", dict(plan.numbers))
    row["leading_industries"] = sum(100 * s[by] / park_total >= least for s in sums.values())
    row["top_share_firms"] = 100 * len(by_industry[top]) / firms
    for x in spec.sums:
        whole = row[f"sum_{x}"]
        row[f"top_share_{x}"] = 100 * sums[top][x] / whole if whole and sums[top][x] is not None else None


def _park_checks(plan: Plan, row: dict[str, Any]) -> None:
    spec = plan.pack.parks
    if not spec.checks:  # type: ignore[union-attr]
        return
    env = {**plan.numbers, **row}
    reasons = []
    for i, check in enumerate(spec.checks):  # type: ignore[union-attr]
        path, bound = f"parks.checks.{i}", ("min" if check.min is not None else "max")
        if check.when is not None and _eval(plan, f"{path}.when", env) is not True:
            row[f"check.{check.name}"] = None
            continue
        value, threshold = _eval(plan, f"{path}.value", env), _eval(plan, f"{path}.{bound}", env)
        missing = value is None or threshold is None
        row[f"check.{check.name}"] = passed = not missing and (value >= threshold if bound == "min" else value <= threshold)
        if not passed:
            failed, lacking = message_parts(check)
            label = check.label or check.name
            reasons.append(lacking.format(label=label) if missing else failed.format(
                label=label, unit=check.unit or "", value=render_number(value, check.digits),
                threshold=render_number(threshold, check.digits)))
    row["failed"] = "; ".join(reasons) or None
    row["decision"] = spec.decision.fail if reasons else spec.decision.pass_  # type: ignore[union-attr]

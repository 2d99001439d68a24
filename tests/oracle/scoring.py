"""The oracle's scoring, record by record: benchmarks over cohorts, item points with their policies,
the score with its adjustments."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from mujun.packs.model import Benchmark, Item

from oracle.figures import round_half_away
from oracle.firms import ERROR, OK, UNRATED
from oracle.rules import Rules

PRIOR, CURRENT_FALLBACK = "prior year", "current year (no prior-year data for this group)"
MIXED = "mixed: prior year where the group has prior-year data, else current year"


def _statistic(bm: Benchmark, values: list[Any]) -> float | None:
    if not values:
        return None
    if bm.reading == "ratio_of_sums":  # (numerator, denominator) pairs: the cohort's own ratio
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
    ordered = sorted(values)  # percentile, linear between the two nearest ranks
    position = (len(ordered) - 1) * bm.percentile / 100.0  # type: ignore[operator]
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _cohorts(rules: Rules, name: str, rows: list[dict[str, Any]]) -> dict[tuple, tuple[float | None, int]]:
    """(statistic, firms) per group of the records: its cohort is the rated firms with a value (and
    matching ``where``); a firm missing a group field belongs to no group."""
    bm = rules.pack.benchmarks[name]
    members: dict[tuple, list[Any]] = defaultdict(list)
    for env in rows:
        key = tuple(env[g] for g in bm.group_by)
        if None in key:
            continue
        members.setdefault(key, [])  # a group of the records, even if none of its firms is in the cohort
        if env["status"] != OK or env[bm.of] is None:  # type: ignore[index]
            continue
        if bm.where is not None and not rules.holds(f"benchmarks.{name}.where", env):
            continue
        if bm.reading == "ratio_of_sums":
            pair = (rules.value(f"benchmarks.{name}.numerator", env), rules.value(f"benchmarks.{name}.denominator", env))
            if pair[1] is not None:
                members[key].append(pair)
        else:
            members[key].append(env[bm.of])  # type: ignore[index]
    return {key: (_statistic(bm, values), len(values)) for key, values in members.items()}


def compute_benchmarks(rules: Rules, rows: list[dict[str, Any]], prior_rows: list[dict[str, Any]] | None) -> None:
    """Each benchmark per record, with the statistic before its factor and the cohort's size
    (``bm.<name>.stat``, ``bm.<name>.n``), and ``basis``: where the prior-sourced ones came from."""
    had_prior: dict[int, list[bool]] = defaultdict(list)
    for name, bm in rules.pack.benchmarks.items():
        if bm.value is not None:
            for env in rows:
                env[name] = rules.value(f"benchmarks.{name}.value", env)
            continue
        factor = rules.value(f"benchmarks.{name}.factor", dict(rules.numbers))
        current = _cohorts(rules, name, rows)
        prior = _cohorts(rules, name, prior_rows) if prior_rows is not None and bm.source != "current" else {}
        for env in rows:
            key = tuple(env[g] for g in bm.group_by)
            stat, n = current.get(key, (None, None))
            before = prior.get(key, (None, None))
            if bm.source != "current":
                had_prior[id(env)].append(before[0] is not None)
            if prior_rows is not None and (bm.source == "prior" or (bm.source == "prior_or_current" and before[0] is not None)):
                stat, n = before
            env[name] = None if stat is None else stat * factor
            env[f"bm.{name}.stat"], env[f"bm.{name}.n"] = stat, n
    for env in rows:
        marks = had_prior.get(id(env))
        env["basis"] = None if marks is None else PRIOR if all(marks) else CURRENT_FALLBACK if not any(marks) else MIXED


def _full_points(rules: Rules, name: str, item: Item, env: dict[str, Any]) -> Any:
    """An item's best points, for an indicator whose zero denominator means the best result."""
    weight = rules.value(f"items.{name}.weight", env)
    if item.method == "ratio":
        if item.cap_ratio is not None:
            return None if weight is None else weight * item.cap_ratio
        return rules.value(f"items.{name}.cap", env)
    if item.method == "minmax":
        return weight
    return rules.value(f"items.{name}.steps.0.points", env)


def _raw_points(rules: Rules, name: str, item: Item, env: dict[str, Any], bounds: dict[tuple, tuple]) -> Any:
    path = f"items.{name}"
    weight = rules.value(f"{path}.weight", env)
    x = env[item.indicator] if item.indicator else None
    if item.method == "ratio":
        bm = rules.value(f"{path}.benchmark", env)
        env[f"ratio.{name}"] = ratio = x / bm if x is not None and bm is not None and bm > 0 else None
        if ratio is not None and item.cap_ratio is not None and ratio > item.cap_ratio:
            env[f"applied.{name}"].append("cap_ratio")
            ratio = item.cap_ratio
        return None if ratio is None or weight is None else weight * ratio
    if item.method == "minmax":
        if x is None or weight is None:
            return None
        low, high = bounds[tuple(env[c] for c in item.cohort)]
        return weight * (20 + 80 * (x - low) / (high - low) if high > low else 100.0) / 100
    if item.method == "steps":
        if x is None:
            return None
        env[f"steps.{name}"] = reached = next((i for i, s in enumerate(item.steps) if s.min is None or x >= s.min), None)
        return None if reached is None else rules.value(f"{path}.steps.{reached}.points", env)
    return rules.value(f"{path}.expr", env)


def _applies(rules: Rules, name: str, item: Item, env: dict[str, Any]) -> bool:
    return env["status"] == OK and (item.when is None or rules.holds(f"items.{name}.when", env))


def _points(rules: Rules, name: str, item: Item, env: dict[str, Any], bounds: dict[tuple, tuple]) -> Any:
    """Raw points → zero denominator (full) → negative → floor → cap; ``applied.<name>`` lists what acted."""
    path, applied = f"items.{name}", env[f"applied.{name}"]
    points = _raw_points(rules, name, item, env, bounds)
    if item.indicator and env.get(f"zero.{item.indicator}") and \
            rules.pack.indicators[item.indicator].zero_denominator == "full":
        applied.insert(0, "zero_denominator_full")
        points = _full_points(rules, name, item, env)
    x = env[item.indicator] if item.indicator else None
    if x is not None and x < 0 and item.negative == "zero":
        applied.append("negative_zero")
        points = 0.0
    for bound, crossed in (("floor", lambda p, b: p < b), ("cap", lambda p, b: p > b)):
        limit = rules.value(f"{path}.{bound}", env) if getattr(item, bound) is not None else None
        if points is not None and limit is not None and crossed(points, limit):
            applied.append(bound)
            points = limit
    if points is None:
        applied.append(f"missing_{item.missing}")
    if x is not None and x < 0 and item.negative in ("unrated", "error"):
        applied.append(f"negative_{item.negative}")
    return points


def score_items(rules: Rules, rows: list[dict[str, Any]]) -> None:
    """Every item of every record first; statuses change after, so no policy moves another item's cohort."""
    verdicts: dict[int, dict[str, list[str]]] = defaultdict(lambda: {ERROR: [], UNRATED: []})
    for name, item in rules.pack.items.items():
        applicable = [env for env in rows if _applies(rules, name, item, env)]
        bounds: dict[tuple, tuple] = {}
        if item.method == "minmax":
            values: dict[tuple, list[float]] = defaultdict(list)
            for env in applicable:
                if env[item.indicator] is not None:  # type: ignore[index]
                    values[tuple(env[c] for c in item.cohort)].append(env[item.indicator])  # type: ignore[index]
            bounds = {key: (min(v), max(v)) for key, v in values.items()}
        for env in rows:
            env[f"item.{name}"] = env[f"applied.{name}"] = env[f"ratio.{name}"] = env[f"steps.{name}"] = None
        for env in applicable:
            env[f"applied.{name}"] = []
            env[f"item.{name}"] = _points(rules, name, item, env, bounds)
            label = item.indicator or name
            if env[f"item.{name}"] is None and item.missing in (ERROR, UNRATED):
                verdicts[id(env)][item.missing].append(f"{label}: missing, item {name} cannot be scored")
            if "negative_unrated" in env[f"applied.{name}"] or "negative_error" in env[f"applied.{name}"]:
                verdicts[id(env)][item.negative].append(f"{label}: negative, item {name} cannot be scored")
        _fill_missing(name, item, applicable)
    for env in rows:
        said = verdicts.get(id(env))
        if said and said[ERROR]:
            env.update(status=ERROR, error="; ".join(said[ERROR]))
        elif said and said[UNRATED]:
            env.update(status=UNRATED, reason="; ".join(said[UNRATED]))


def _fill_missing(name: str, item: Item, applicable: list[dict[str, Any]]) -> None:
    """``missing: zero`` gives 0; ``cohort_mean`` the mean item points of the firms of its cohort that have them."""
    column = f"item.{name}"
    if item.missing == "zero":
        for env in applicable:
            env[column] = 0.0 if env[column] is None else env[column]
    elif item.missing == "cohort_mean":
        scored: dict[tuple, list[float]] = defaultdict(list)
        for env in applicable:
            if env[column] is not None:
                scored[tuple(env[c] for c in item.cohort)].append(env[column])
        for env in applicable:
            mine = scored.get(tuple(env[c] for c in item.cohort))
            if env[column] is None and mine:
                env[column] = math.fsum(mine) / len(mine)


def score(rules: Rules, rows: list[dict[str, Any]]) -> None:
    """Items added left to right, then adjustments (which read the item total as ``score``); a veto
    names a tier; ``score_round`` rounds the result."""
    digits = rules.pack.tiers.score_round if rules.pack.tiers else None
    for env in rows:
        rated = env["status"] == OK
        total = 0.0
        for name in rules.pack.items:
            total += env[f"item.{name}"] or 0.0
        env["score"], env["veto"] = (total if rated else None), None
        extra = 0.0
        for i, adj in enumerate(rules.pack.adjustments):
            hit = rated and rules.holds(f"adjustments.{i}.when", env)
            env[f"hit.{adj.name}"] = hit if rated else None
            env[f"adjust.{adj.name}"] = rules.value(f"adjustments.{i}.points", env) if hit else (0.0 if rated else None)
            if hit and adj.veto is not None and env["veto"] is None:
                env["veto"] = adj.veto
        for adj in rules.pack.adjustments:
            extra += env[f"adjust.{adj.name}"] or 0.0
        if rated and rules.pack.adjustments:
            env["score"] = env["score"] + extra
        if rated and digits is not None:
            env["score"] = round_half_away(env["score"], digits)

"""The oracle's measures: a firm's tier history (streak, tier counts), per-tier values, budget allocations."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mujun import lang as ex
from mujun.packs.fields import ID_FIELD
from mujun.packs.model import Allocation, Measure

from oracle.figures import floor_forgiving
from oracle.rules import Rules


def tier_history(rules: Rules, rows: list[dict[str, Any]], history: list[dict[str, Any]] | None, cycle: int | None) -> None:
    """``tier_streak``: cycles in a row, this one included, in the current tier; ``tier_count(T, n)``:
    cycles of the last n, this one included, in T (a firm's last history row of a cycle counts)."""
    past: dict[str, dict[int, str]] = defaultdict(dict)
    for entry in history or []:
        past[str(entry[ID_FIELD])][int(entry["cycle"])] = str(entry["tier"])
    now = cycle if cycle is not None else max((c for p in past.values() for c in p), default=0) + 1
    counts = rules.calls("tier_count", ("measures.", "checks."))
    for env in rows:
        env["cycle"] = None if cycle is None else float(cycle)
        mine = past.get(env[ID_FIELD], {})
        if env["tier"] is None:
            env["tier_streak"] = None
            for call in counts:
                env[ex.earlier_column(call)] = None
            continue
        streak = 1
        while mine.get(now - streak) == env["tier"]:
            streak += 1
        env["tier_streak"] = float(streak)
        for call in counts:
            tier, last = call.args[0].value, int(call.args[1].value)  # type: ignore[union-attr]
            earlier = sum(mine.get(now - back) == tier for back in range(1, last))
            env[ex.earlier_column(call)] = float((env["tier"] == tier) + earlier)


def apply_measures(rules: Rules, rows: list[dict[str, Any]]) -> None:
    """Measure by measure, in declaration order (a later one may read an earlier one); only a firm
    with a tier has measures."""
    for name, measure in rules.pack.measures.items():
        if measure.allocate is not None:
            _allocate(rules, name, measure.allocate, rows)
            continue
        for env in rows:
            env[f"measure.{name}"] = None if env["tier"] is None else _measure_value(rules, name, measure, env)


def _measure_value(rules: Rules, name: str, measure: Measure, env: dict[str, Any]) -> Any:
    path = f"measures.{name}"
    if measure.expr is not None:
        return rules.value(f"{path}.expr", env)
    if isinstance(measure.by_tier, str):  # a table parameter, keyed by tier
        table = rules.tables[measure.by_tier]
        if env["tier"] in table:
            return float(table[env["tier"]])
    elif env["tier"] in measure.by_tier:  # type: ignore[operator]
        return rules.value(f"{path}.by_tier.{env['tier']}", env)
    return rules.value(f"{path}.default", env) if measure.default is not None else None


def _allocate(rules: Rules, name: str, spec: Allocation, rows: list[dict[str, Any]]) -> None:
    """Each group's budget in whole units, shared by weight: every share floored, then the units left
    one each to the largest remainders (ties: larger weight, then id; a missing id last)."""
    path = f"measures.{name}.allocate"
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for env in rows:
        groups[tuple(env[g] for g in spec.group_by)].append(env)
    for members in groups.values():
        budget = rules.value(f"{path}.budget", members[0])  # reads only parameters and the group's fields
        units = None if budget is None else floor_forgiving(budget / spec.unit)
        shares = []
        for env in members:
            weight = rules.value(f"{path}.weight", env) if env["tier"] is not None else None
            shares.append({"env": env, "weight": weight if weight is not None and weight > 0 else 0.0})
        total = sum(s["weight"] for s in shares)
        for share in shares:
            exact = units * share["weight"] / total if units is not None and total > 0 else 0.0
            share["units"] = floor_forgiving(exact)
            share["remainder"] = exact - share["units"]
        left = 0 if units is None else units - sum(s["units"] for s in shares)
        by_remainder = sorted(shares, key=lambda s: (-s["remainder"], -s["weight"], s["env"][ID_FIELD] is None,
                                                     s["env"][ID_FIELD] or ""))
        for place, share in enumerate(by_remainder):
            if share["weight"] > 0 and place < left:
                share["units"] += 1
        for share in shares:
            given = share["env"]["tier"] is not None and units is not None
            share["env"][f"measure.{name}"] = float(share["units"]) * spec.unit if given else None

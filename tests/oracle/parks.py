"""The oracle's parks: rated firms summed per park, set against the city, described and checked."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from mujun.packs.fields import ID_FIELD

from oracle.checks import failure
from oracle.evaluate import run_through_indicators
from oracle.firms import OK, split_years
from oracle.rules import Rules, read_rules


def reference_parks(pack: Any, rows: list[dict[str, Any]], prior: list[dict[str, Any]] | None = None,
                    cycle: int | None = None) -> list[dict[str, Any]]:
    """One dict per park (sorted by park), from the rows ``reference_evaluate`` returned and the prior records."""
    rules = read_rules(pack)
    spec = rules.pack.parks
    if spec is None:
        return []
    rows = [row["env"] for row in rows]  # each record under the pack's names
    latest, _ = split_years(prior, cycle)
    before: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for env in run_through_indicators(rules, latest or []):
        if env["status"] == OK and env[spec.by] is not None:
            before[env[spec.by]].append(env)
    rated = [env for env in rows if env["status"] == OK]
    town = [env for env in rated if spec.city_where is None or rules.holds("parks.city_where", env)]
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
                _leading(rules, row, by_industry, len(members))
        for name in spec.indicators:
            row[name] = rules.value(f"parks.indicators.{name}", {**rules.numbers, **row})
        _park_checks(rules, row)
        out.append(row)
    return out


def _total(members: list[dict[str, Any]], name: str) -> float | None:
    """A park's sum; missing when a member lacks the figure (a total is never quietly short)."""
    values = [env[name] for env in members]
    return None if any(v is None for v in values) else math.fsum(values)


def _leading(rules: Rules, row: dict[str, Any], by_industry: dict[Any, list], firms: int) -> None:
    spec = rules.pack.parks
    by, park_total = spec.leading.by, row[f"sum_{spec.leading.by}"]  # type: ignore[union-attr]
    names = ["top_industry", "leading_industries", "top_share_firms", *(f"top_share_{x}" for x in spec.sums)]  # type: ignore[union-attr]
    if park_total is None or park_total == 0:
        row.update(dict.fromkeys(names))
        return
    sums = {k: {x: _total(v, x) for x in spec.sums} for k, v in by_industry.items()}  # type: ignore[union-attr]
    top = min(sums, key=lambda k: (-sums[k][by], k))  # the largest; ties: the smaller code
    row["top_industry"] = top
    least = rules.value("parks.leading.min_share", dict(rules.numbers))
    row["leading_industries"] = sum(100 * s[by] / park_total >= least for s in sums.values())
    row["top_share_firms"] = 100 * len(by_industry[top]) / firms
    for x in spec.sums:  # type: ignore[union-attr]
        whole = row[f"sum_{x}"]
        row[f"top_share_{x}"] = 100 * sums[top][x] / whole if whole and sums[top][x] is not None else None


def _park_checks(rules: Rules, row: dict[str, Any]) -> None:
    """Park checks compare unrounded and print with ``digits``."""
    spec = rules.pack.parks
    if not spec.checks:  # type: ignore[union-attr]
        return
    env, reasons = {**rules.numbers, **row}, []
    for i, check in enumerate(spec.checks):  # type: ignore[union-attr]
        path, bound = f"parks.checks.{i}", ("min" if check.min is not None else "max")
        if check.when is not None and not rules.holds(f"{path}.when", env):
            row[f"check.{check.name}"] = None
            continue
        value, threshold = rules.value(f"{path}.value", env), rules.value(f"{path}.{bound}", env)
        missing = value is None or threshold is None
        row[f"check.{check.name}"] = passed = not missing and (value >= threshold if bound == "min" else value <= threshold)
        if not passed:
            reasons.append(failure(check, value, threshold, digits=check.digits))
    row["failed"] = "; ".join(reasons) or None
    row["decision"] = spec.decision.fail if reasons else spec.decision.pass_  # type: ignore[union-attr]

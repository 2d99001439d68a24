"""The oracle's tiers: ranks by sorting each group's firms, quota cuts in exact fractions, thresholds."""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

from mujun.packs.fields import ID_FIELD
from mujun.packs.model import Quota

from oracle.firms import OK, UNRATED
from oracle.rules import Rules


def quota_cuts(percents: list[float], rounding: str, n: int) -> list[int]:
    """The last rank of each tier in a group of ``n``: the cumulative share × n, rounded by the pack's rule.

    The shares are read as the decimals the pack writes (12.5 % is exactly 1/8), so 5 × 60 % is 3,
    not 3.0000000000000004 rounded up.

    >>> quota_cuts([20, 40, 35, 5], "half_up", 7), quota_cuts([20, 40, 35, 5], "floor", 7)
    ([1, 4, 7, 7], [1, 4, 6, 7])
    """
    cuts, running = [], Fraction(0)
    for percent in percents:
        running += Fraction(Decimal(repr(float(percent))))
        exact = running * n / 100
        cuts.append({"floor": math.floor(exact), "ceil": math.ceil(exact),
                     "half_up": math.floor(exact + Fraction(1, 2))}[rounding])
    return cuts


def with_minimum_counts(quotas: list[Quota], cuts: list[int], n: int) -> list[int]:
    """Move the cuts so each tier with a ``min_count`` holds that many (or the whole of a smaller group):
    the first tier takes them from the head of the tier below, any other from the tail of the tiers above."""
    last = list(cuts)
    for k, quota in enumerate(quotas):
        if not quota.min_count:
            continue
        if k == 0:
            last = [max(cut, min(quota.min_count, n)) for cut in last]
        else:
            starts_by = max(last[k] - quota.min_count, 0)  # tier k must begin right after this rank
            last = [min(cut, starts_by) if j < k else cut for j, cut in enumerate(last)]
    return last


def _bounded(quotas: list[Quota], k: int, score: float) -> int:
    """Down while under the tier's ``min_score``, then up while over its ``max_score`` (never into a
    tier whose ``min_score`` the firm misses)."""
    def under(j: int) -> bool:
        return quotas[j].min_score is not None and score < quotas[j].min_score

    while k < len(quotas) - 1 and under(k):
        k += 1
    while k > 0 and quotas[k].max_score is not None and score > quotas[k].max_score and not under(k - 1):
        k -= 1
    return k


def _before(a: dict[str, Any], b: dict[str, Any], keys: list[tuple[str, bool]]) -> int:
    """Sort order of two firms: each key in turn, missing last in either direction."""
    for name, descending in keys:
        x, y = a[name], b[name]
        if x == y:
            continue
        if x is None or y is None:
            return 1 if x is None else -1
        return (-1 if x > y else 1) if descending else (-1 if x < y else 1)
    return 0


def assign_tiers(rules: Rules, rows: list[dict[str, Any]]) -> None:
    """``group``, ``rank`` (within the group, id as the last key), ``group_n``, ``tier`` of each record,
    and for a quota ``last_rank``: the last rank of each tier in the firm's group."""
    tiers = rules.pack.tiers
    fields = tiers.group_by if tiers else []
    for env in rows:
        values = [env[f] for f in fields]
        env["group"] = "all" if not fields else None if None in values else "/".join(values)
        env["input_tier"] = env.get("tier") if tiers is not None and tiers.method == "input" else None
        env["tier"] = env["rank"] = env["group_n"] = env["last_rank"] = None
    if tiers is None:
        return
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for env in rows:
        if env["status"] == OK and env["veto"] is None:
            groups[env["group"]].append(env)
    keys = [*rules.order_by(), (ID_FIELD, False)]
    for members in groups.values():
        members.sort(key=functools.cmp_to_key(lambda a, b: _before(a, b, keys)))
        n = len(members)
        if tiers.method == "quota":
            last = with_minimum_counts(tiers.quotas, quota_cuts([q.percent for q in tiers.quotas], tiers.rounding, n), n)
        for rank, env in enumerate(members, start=1):
            env["rank"], env["group_n"] = rank, n
            if tiers.method == "quota":
                env["last_rank"] = dict(zip((q.tier for q in tiers.quotas), last))
                k = next((k for k, cut in enumerate(last) if rank <= cut), len(last) - 1)
                env["tier"] = tiers.quotas[_bounded(tiers.quotas, k, env["score"])].tier
            elif tiers.method == "thresholds":
                env["tier"] = next((t.tier for t in tiers.thresholds if t.min is None or env["score"] >= t.min), None)
            else:
                env["tier"] = env["input_tier"]
    for env in rows:  # the veto's tier; an unrated firm its scope rule's, if any
        if env["status"] == OK and env["veto"] is not None:
            env["tier"] = env["veto"]
        elif env["status"] == UNRATED:
            env["tier"] = env["scope_tier"]

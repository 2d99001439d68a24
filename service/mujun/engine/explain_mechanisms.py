"""Explanation facts for derived groups, benchmark readings, earlier cycles, unknown lookup keys and hybrid quotas.

Kept apart from :mod:`mujun.engine.explain` so each mechanism states its own facts: which code gave
the group, how a cohort mean was read, which earlier values an indicator used, and why a firm's tier
differs from the one its rank alone would give. Only keys a pack uses appear.
"""

from __future__ import annotations

from typing import Any

from mujun.engine.adjust import SCORE
from mujun.engine.columns import GROUP_N
from mujun.engine.compile import Plan, calls
from mujun.engine.lookups import lookup_col, lookup_sites, site_message
from mujun.engine.tiers import RANK, TIER, cumulative_cuts, cut_col, minimum_counts
from mujun.lang import earlier_column

__all__ = ["mechanism_facts", "applied_cuts"]


def mechanism_facts(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    pack = plan.pack
    facts: dict[str, Any] = {}
    if pack.groups:
        facts["groups"] = {name: {"from": spec.key, "code": row.get(spec.key), "table": spec.table,
                                  "key": (row.get(spec.key) or "")[: spec.prefix] if spec.prefix else row.get(spec.key),
                                  "value": row.get(name)} for name, spec in pack.groups.items()}
    readings = {name: _reading(plan, name) for name, bm in pack.benchmarks.items() if bm.stat == "mean"}
    if readings:
        facts["benchmark_readings"] = readings
    earlier = {earlier_column(c): row.get(earlier_column(c))
               for path, node in plan.exprs.items() for c in calls(node, "past") + calls(node, "tier_count")}
    if earlier:
        facts["earlier_cycles"] = earlier
    unknown = [{"path": site.path, "table": site.table, "key": row[lookup_col(site)],
                "message": site_message(site, row[lookup_col(site)])}
               for site in lookup_sites(plan) if row.get(lookup_col(site)) is not None]
    if unknown:
        facts["unknown_lookup_keys"] = unknown
    if pack.tiers and pack.tiers.method == "quota" and row.get(RANK) is not None:
        placed = _quota_place(plan, row)
        if placed is not None:
            facts["quota_rule"] = placed
    return facts


def _reading(plan: Plan, name: str) -> str:
    bm = plan.pack.benchmarks[name]
    formula = plan.pack.indicators[bm.of].expr  # type: ignore[index]
    if bm.reading != "ratio_of_sums":
        return f"mean over the cohort of each firm's {bm.of} = {formula} (mean of ratios)"
    return f"Σ numerator ÷ Σ denominator of {bm.of} = {formula} over the cohort (ratio of sums)"


def applied_cuts(plan: Plan, row: dict[str, Any], n: int) -> list[int]:
    """The last rank of each quota tier in the firm's group, as the tiers stage recorded it; a decision
    stored before the cut lines were recorded has them worked out again from its group's size."""
    quotas = plan.pack.tiers.quotas  # type: ignore[union-attr]
    if all(row.get(cut_col(q.tier)) is not None for q in quotas):
        return [int(row[cut_col(q.tier)]) for q in quotas]
    cuts = cumulative_cuts([q.percent for q in quotas], plan.pack.tiers.rounding, n)  # type: ignore[union-attr]
    return [int(c) for c in minimum_counts(cuts, [q.min_count for q in quotas], n)]


def _quota_place(plan: Plan, row: dict[str, Any]) -> dict[str, Any] | None:
    """The tier the rank alone gives, the cuts (rounded, and as applied after minimum counts) and the
    score bound that moved it."""
    tiers = plan.pack.tiers
    quotas = tiers.quotas  # type: ignore[union-attr]
    if not any(q.min_count or q.min_score is not None or q.max_score is not None for q in quotas):
        return None
    n, rank = int(row[GROUP_N]), int(row[RANK])
    cuts = cumulative_cuts([q.percent for q in quotas], tiers.rounding, n)  # type: ignore[union-attr]
    least = applied_cuts(plan, row, n)
    by_rank = next(q.tier for q, cut in zip(quotas, least) if rank <= cut)
    fact: dict[str, Any] = {"group_size": n, "rank": rank, "cuts": [int(c) for c in cuts],
                            "cuts_after_min_count": [int(c) for c in least], "tier_by_rank": by_rank,
                            "tier": row.get(TIER), "score": row.get(SCORE)}
    if by_rank != row.get(TIER):
        q = next(q for q in quotas if q.tier == by_rank)
        fact["moved_because"] = (f"score {row.get(SCORE)} < min_score {q.min_score} of {by_rank}"
                                 if q.min_score is not None and row.get(SCORE) is not None and row[SCORE] < q.min_score
                                 else f"score {row.get(SCORE)} > max_score {q.max_score} of {by_rank}")
    return fact

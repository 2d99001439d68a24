"""The one ordered list of the pipeline's stages: compile passes and evaluation stages both follow it.

A stage has a compile pass (checks and declares its names), an evaluation step, or both; each is
registered by stage name and put in this order by :func:`in_order`, so adding a stage (events, a park
level) is one name here plus its functions. Order constraints: a stage reads only what stages before it
declared (an indicator reads fields and earlier indicators; tiers need the score; checks read tiers
and measures; parks sum the firms' finished rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

__all__ = ["STAGES", "in_order"]

STAGES: tuple[str, ...] = (
    "groups",  # derived text fields (industry group), read like fields from here on
    "scope",  # who is rated; a scope rule may force a tier
    "earlier",  # past(x, k): earlier cycles' values, before the indicators read them
    "indicators",  # in declaration order: an indicator may read earlier ones
    "benchmarks",  # cohort statistics of this and the prior year's indicators
    "items",
    "score",  # the items' sum and the adjustments (vetoes)
    "tiers",  # after the score: thresholds, quotas and vetoes need it
    "history",  # tier_count(T, n): earlier cycles' tiers, for measures and checks
    "measures",  # in declaration order: a measure may read earlier ones
    "checks",  # a condition may read a tier or a measure
    "parks",  # last: a park sums its firms' finished rows
)

T = TypeVar("T")


def in_order(steps: Mapping[str, T]) -> tuple[tuple[str, T], ...]:
    """``steps`` (one function per stage name) as (name, function) in pipeline order."""
    unknown = sorted(set(steps) - set(STAGES))
    if unknown:
        raise ValueError(f"not a pipeline stage: {', '.join(unknown)}; stages: {', '.join(STAGES)}")
    return tuple((name, steps[name]) for name in STAGES if name in steps)

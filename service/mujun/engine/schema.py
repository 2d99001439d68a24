"""Every column name of the evaluation frame and of the published result, in one place.

Published columns carry the pack's own names (``item.x``, ``indicator.x`` …); everything a stage
keeps for itself or records for the explanation starts with :data:`INTERNAL` (``__``): such a
column is never published, and a stored decision keeps the recorded facts (``__bm.x.stat``,
``__item.x.applied`` …) so it can be explained later without re-scoring.
"""

from __future__ import annotations

__all__ = ["INTERNAL", "internal", "ROW", "STATUS", "ERROR", "REASON", "SCORE", "GROUP", "TIER", "RANK",
           "TIER_STREAK", "DECISION", "FAILED_REASONS", "BASIS", "VETO", "SCOPE_TIER", "GROUP_N", "FROZEN_BASIS", "FROZEN_CUTS", "OK", "UNRATED",
           "FAILED", "PACK_COLUMNS", "indicator_col", "benchmark_col", "item_col", "adjust_col", "measure_col",
           "check_col", "zero_col", "stat_col", "cohort_n_col", "ratio_col", "step_col", "hit_col", "applied_col", "cut_col", "compared_col",
           "lookup_col", "is_fact"]

#: The reserved prefix of internal columns: a pack name can never start with it.
INTERNAL = "__"


def internal(*parts: object) -> str:
    """An internal column: ``internal("bm", "x", "stat")`` is ``__bm.x.stat``."""
    return INTERNAL + ".".join(str(p) for p in parts)


# ---------------------------------------------------------------- published, per record
STATUS, ERROR, REASON = "status", "error", "reason"
OK, UNRATED, FAILED = "ok", "unrated", "error"  # the values of STATUS
SCORE = "score"
GROUP, TIER, RANK = "group", "tier", "rank"
TIER_STREAK = "tier_streak"  # readable by measures; recorded, not published
DECISION, FAILED_REASONS = "decision", "failed"
BASIS = "benchmark_basis"
#: Constant columns naming the rules every result row was decided by.
PACK_COLUMNS = ("pack_id", "pack_version", "pack_hash")


def indicator_col(name: str) -> str:
    return f"indicator.{name}"


def benchmark_col(name: str) -> str:
    return f"benchmark.{name}"


def item_col(name: str) -> str:
    return f"item.{name}"


def adjust_col(name: str) -> str:
    return f"adjust.{name}"


def measure_col(name: str) -> str:
    return f"measure.{name}"


def check_col(name: str) -> str:
    return f"check.{name}"


# ---------------------------------------------------------------- internal: the run's own bookkeeping
ROW = internal("row")
VETO, SCOPE_TIER, GROUP_N = internal("veto"), internal("scope_tier"), internal("group_n")
#: A record scored later against a frozen cycle (:mod:`mujun.engine.frozen`): what it was scored
#: against, and the cut lines it was placed against; the explanation reads them.
FROZEN_BASIS, FROZEN_CUTS = internal("frozen.basis"), internal("frozen.cuts")


# ---------------------------------------------------------------- internal: facts recorded for explain
def zero_col(name: str) -> str:
    """The indicator's denominator was 0 with a positive numerator."""
    return internal("zero_den", name)


def stat_col(name: str) -> str:
    """The cohort statistic a benchmark used, before its factor."""
    return internal("bm", name, "stat")


def cohort_n_col(name: str) -> str:
    """How many firms the benchmark's cohort statistic was taken over."""
    return internal("bm", name, "n")


def ratio_col(name: str) -> str:
    """Indicator ÷ benchmark of a ratio item, before ``cap_ratio``."""
    return internal("item", name, "ratio")


def step_col(name: str) -> str:
    """The position in ``steps`` of the step a steps item's indicator reached."""
    return internal("item", name, "step")


def hit_col(name: str) -> str:
    """The adjustment's condition held for a rated firm."""
    return internal("adjust", name, "hit")


def applied_col(name: str) -> str:
    """The rules that changed an item's points, a bit mask (see ``items.APPLIED``)."""
    return internal("item", name, "applied")


def cut_col(tier: str) -> str:
    """The last rank of a quota ``tier`` in the firm's group, after ``min_count`` moved the cuts."""
    return internal("quota", tier, "last_rank")


def compared_col(name: str, part: str) -> str:
    """What a check compared: ``part`` is value or threshold (rounded if declared), or raw."""
    return internal("check", name, part)


def lookup_col(index: int) -> str:
    """The key of the pack's ``index``-th lookup, where it named no entry of the table."""
    return internal("lookup", index)


def is_fact(column: str) -> bool:
    """A column recorded for the explanation (stored with a decision), not the run's bookkeeping."""
    return (column.startswith(INTERNAL) and column != ROW) or column == TIER_STREAK

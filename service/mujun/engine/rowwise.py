"""The few-record path: a frozen cycle's firms scored row by row, without building a Polars plan.

Placeholder: the vectorized frozen stages only (replaced below by the row path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mujun.engine.compile import Plan
from mujun.engine.frozen import FrozenContext, score_frozen

__all__ = ["FrozenScores", "score_against"]


@dataclass(frozen=True)
class FrozenScores:
    """Records scored against a frozen context: the published rows (the columns of ``Result.table``, in
    input order) and each record's trace."""

    context: FrozenContext
    rows: list[dict[str, Any]]
    path: str  # "rowwise" or "vectorized": which road scored them
    _explain: Callable[[str, str | None], dict[str, Any]]
    facts: list[dict[str, Any]]

    def explain(self, enterprise_id: str, lang: str | None = None) -> dict[str, Any]:
        return self._explain(enterprise_id, lang)


def score_against(plan: Plan, context: FrozenContext, records: list[dict[str, Any]], *, prior: Any = None,
                  history: Any = None) -> FrozenScores:
    from mujun.engine.prepare import to_frame
    result = score_frozen(plan, context, to_frame(records), prior=prior, history=history)
    return FrozenScores(context, result.table.to_dicts(), "vectorized", result.explain, result.facts().to_dicts())

"""The packed-integer ranking must order exactly like a full multi-key sort, ties and all."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from mujun.engine.ranking import rank_within_groups

KEYS = [("score", True), ("tax", True), ("id", False)]


def _expected(frame: pl.DataFrame, groups: np.ndarray) -> np.ndarray:
    """Rank by a plain Polars sort over (group, keys…)."""
    ranked = (frame.with_columns(pl.Series("g", groups), pl.int_range(pl.len()).alias("row"))
              .sort(["g", *(k for k, _ in KEYS)], descending=[False, *(d for _, d in KEYS)], nulls_last=True)
              .with_columns(pl.int_range(pl.len()).over("g").alias("rank") + 1)
              .sort("row"))
    return ranked["rank"].to_numpy()


@pytest.mark.parametrize(("group_count", "seed"), [(1, 0), (7, 1), (500, 2)])
def test_rank_matches_full_sort(group_count, seed):
    """Exact ties, missing scores, and scores 1e-12 apart: below the ~38 leading bits of the score
    that fit in the packed key beside group and row number, so only the tie settling orders them."""
    rng = np.random.default_rng(seed)
    n = 2_000
    base = rng.choice([50.0, 87.25, 100.0, -3.5], size=n)
    score = base + rng.choice([0.0, 1e-12, 2e-9, 3e-6], size=n)
    score[rng.random(n) < 0.05] = np.nan
    frame = pl.DataFrame({
        "score": pl.Series(score, nan_to_null=True),
        "tax": rng.choice([1.0, 2.0, 2.0000001], size=n),
        "id": [f"E{i:05d}" for i in rng.permutation(n)],
    })
    groups = rng.integers(0, group_count, size=n)
    rank, counts = rank_within_groups(frame, groups, KEYS)
    np.testing.assert_array_equal(rank, _expected(frame, groups))
    np.testing.assert_array_equal(counts[groups], np.bincount(groups)[groups])

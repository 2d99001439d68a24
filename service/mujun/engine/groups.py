"""Group coding: the text fields a pack groups by (county, industry …) as dense integer codes.

Benchmarks and quota tiers both work per group; with integer codes a group mean is a ``bincount``
and a ranking key fits in one 64-bit integer, and no string is hashed more than once.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["group_codes", "NO_GROUP"]

NO_GROUP = -1


def group_codes(frames: list[pl.DataFrame], fields: list[str]) -> tuple[list[np.ndarray], int]:
    """Integer group codes (−1 where a field is missing), the same code for the same group in every frame.

    Each field is dictionary-encoded once over all frames by a Polars categorical cast with
    categories of its own, so codes are dense from 0 and no global string cache grows.
    """
    lengths = [f.height for f in frames]
    combined: np.ndarray | None = None
    size = 1
    for field in fields:
        column = pl.concat([f[field].cast(pl.String) for f in frames], rechunk=False)
        codes = (column.cast(pl.Categorical(pl.Categories.random())).to_physical().cast(pl.Int64)
                 .fill_null(NO_GROUP).to_numpy())
        width = max(int(codes.max(initial=NO_GROUP)) + 1, 1)
        combined = codes if combined is None else np.where((combined < 0) | (codes < 0), NO_GROUP,
                                                           combined * width + codes)
        size *= width
    if combined is None:  # no fields: one group of everyone
        combined = np.zeros(sum(lengths), dtype=np.int64)
    if size > 4 * max(sum(lengths), 1):  # many fields: renumber densely so arrays stay small
        present = combined >= 0
        uniques, dense = np.unique(combined[present], return_inverse=True)
        combined[present] = dense
        size = len(uniques)
    return np.split(combined, np.cumsum(lengths)[:-1]), size

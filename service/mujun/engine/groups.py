"""Group coding: the text fields a pack groups by (county, industry …) as dense integer codes.

Benchmarks and quota tiers both work per group; with integer codes a group mean is a ``bincount``
and a ranking key fits in one 64-bit integer, and no string is hashed more than once. Each year is
coded on its own; ``labels`` (the field values of each code) line two years' groups up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from mujun.engine.columns import ERROR, FAILED, OK, STATUS, status_lit
from mujun.engine.compile import Plan

__all__ = ["Groups", "GroupCoder", "group_codes", "derive_groups", "NO_GROUP"]

NO_GROUP = -1


@dataclass(frozen=True)
class Groups:
    codes: np.ndarray  # int64 per row; NO_GROUP where a field is missing
    labels: pl.DataFrame  # row k: the field values of group k (one column per field)

    @property
    def size(self) -> int:
        return self.labels.height


#: ``group_codes`` or a memo of it: one run codes the same fields of the same rows only once.
GroupCoder = Callable[[pl.DataFrame, list[str]], Groups]


def group_codes(frame: pl.DataFrame, fields: list[str]) -> Groups:
    """Dense codes from 0, by one Polars categorical cast per field with categories of its own
    (so no global string cache grows), combined arithmetically when there are several fields."""
    combined: np.ndarray | None = None
    categories: list[pl.Series] = []
    for field in fields:
        dictionary = pl.Categories.random()
        column = frame[field].cast(pl.String).cast(pl.Categorical(dictionary))  # keeps the dictionary alive
        codes = column.to_physical().cast(pl.Int64).fill_null(NO_GROUP).to_numpy()
        names = dictionary.to_series()  # the value of each code, in code order
        width = max(len(names), 1)
        combined = codes if combined is None else np.where((combined < 0) | (codes < 0), NO_GROUP,
                                                           combined * width + codes)
        categories.append(names)
    if combined is None:  # no fields: one group of everyone
        return Groups(np.zeros(frame.height, dtype=np.int64), pl.DataFrame(height=1))
    if len(fields) == 1:
        return Groups(combined, pl.DataFrame({fields[0]: categories[0]}))
    present = combined >= 0  # renumber the combinations that occur densely, then decode them
    uniques, dense = np.unique(combined[present], return_inverse=True)
    combined[present] = dense
    labels = {}
    for field, names in zip(reversed(fields), reversed(categories)):
        uniques, index = np.divmod(uniques, max(len(names), 1))
        labels[field] = names.gather(index)
    return Groups(combined, pl.DataFrame({f: labels[f] for f in fields}))


def derive_groups(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    """The pack's derived groups (``groups:``) as text columns, e.g. industry group from industry code.

    A rated record whose code is missing or not in the table becomes an error that names the code
    and the table: a firm in no group would otherwise score against no benchmark, a silent 0.
    """
    for name, spec in plan.pack.groups.items():
        code = key = pl.col(spec.key).cast(pl.String)
        if spec.prefix:
            key = code.str.slice(0, spec.prefix)
        table = plan.tables[spec.table]
        value = key.replace_strict(list(table), list(table.values()), default=None, return_dtype=pl.String)
        message = (pl.when(key.is_null()).then(pl.lit(f"{spec.key} missing: no {name} (table {spec.table})"))
                   .otherwise(pl.concat_str([pl.lit(f"{spec.key} '"), code, pl.lit("'"),
                                             *([pl.lit(f" (its first {spec.prefix}: '"), key, pl.lit("')")] if spec.prefix else []),
                                             pl.lit(f" is not a key of table {spec.table} (for {name})")])))
        bad = value.is_null() & (pl.col(STATUS) == OK)
        frame = frame.with_columns(value.alias(name)).with_columns(
            pl.when(bad).then(status_lit(FAILED)).otherwise(pl.col(STATUS)).alias(STATUS),
            pl.when(bad).then(message).otherwise(pl.col(ERROR)).alias(ERROR),
        )
    return frame

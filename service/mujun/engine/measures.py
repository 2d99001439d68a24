"""Stage 8 — measures: what each tier means for a firm (surcharges, tax reductions, quota, subsidies).

``tier_streak`` counts the consecutive cycles, this one included, in which a firm has had its
current tier, from the ``history`` table (enterprise_id, cycle, tier): Shandong's surcharge grows
with consecutive D years. ``cycle`` (the evaluated year) is a column from here on, for rates that
change by year; ``allocate`` measures share a budget across a group (see :mod:`mujun.engine.allocate`).
"""

from __future__ import annotations

import polars as pl

from mujun.engine.allocate import allocate
from mujun.engine.columns import compile_expr, measure_col, reads, with_columns_batched
from mujun.engine.compile import CYCLE, Plan
from mujun.engine.schema import TIER_STREAK
from mujun.engine.tiers import TIER
from mujun.errors import InputError
from mujun.packs.fields import ID_FIELD

__all__ = ["apply_measures", "prepare_history", "TIER_STREAK"]



def prepare_history(history: pl.DataFrame | None) -> pl.DataFrame | None:
    if history is None or (history.height == 0 and history.width == 0):
        return None
    missing = [c for c in (ID_FIELD, "cycle", TIER) if c not in history.columns]
    if missing:
        raise InputError(f"the history table needs columns enterprise_id, cycle, tier; missing: {', '.join(missing)}")
    try:
        return history.select(
            pl.col(ID_FIELD).cast(pl.String), pl.col("cycle").cast(pl.Int64), pl.col(TIER).cast(pl.String)
        )
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"history: 'cycle' must be a whole number (a year): {exc}") from exc


def _streak(frame: pl.LazyFrame, history: pl.DataFrame | None, cycle: int | None) -> pl.LazyFrame:
    """Consecutive earlier cycles (cycle-1, cycle-2, …) with the same tier, plus this one."""
    if history is None or history.height == 0:
        return frame.with_columns(pl.when(pl.col(TIER).is_not_null()).then(pl.lit(1.0)).alias(TIER_STREAK))
    current = cycle if cycle is not None else int(history["cycle"].max()) + 1  # type: ignore[arg-type]
    now = frame.select(pl.col(ID_FIELD), pl.col(TIER).alias("__now")).filter(pl.col("__now").is_not_null()).unique(ID_FIELD)
    runs = (
        history.lazy().filter(pl.col("cycle") < current)
        .join(now, on=ID_FIELD, how="inner")
        .sort([ID_FIELD, "cycle"], descending=[False, True])
        .with_columns((pl.int_range(pl.len()).over(ID_FIELD) + 1).alias("__back"))
        .with_columns(((pl.col(TIER) == pl.col("__now")) & (pl.col("cycle") == current - pl.col("__back"))).alias("__same"))
        .group_by(ID_FIELD)
        .agg(pl.col("__same").cum_min().sum().alias("__earlier"))
    )
    return frame.join(runs, on=ID_FIELD, how="left", maintain_order="left").with_columns(
        pl.when(pl.col(TIER).is_not_null()).then(pl.col("__earlier").fill_null(0).cast(pl.Float64) + 1).alias(TIER_STREAK)
    ).drop("__earlier")


def apply_measures(frame: pl.LazyFrame, plan: Plan, history: pl.DataFrame | None, cycle: int | None) -> pl.LazyFrame:
    frame = frame.with_columns(pl.lit(cycle, dtype=pl.Float64).alias(CYCLE))
    if not plan.pack.measures:
        return frame
    frame = _streak(frame, history, cycle)
    has_tier = pl.col(TIER).is_not_null()
    pending: list[tuple[str, frozenset[str], pl.Expr]] = []  # queued together: see with_columns_batched
    for name, measure in plan.pack.measures.items():
        path = f"measures.{name}"
        dtype = pl.String if measure.type == "text" else pl.Float64
        if measure.allocate is not None:
            data = with_columns_batched(frame, pending).collect()  # a budget is shared over whole groups
            frame, pending = data.lazy().with_columns(allocate(data, plan, f"{path}.allocate", measure.allocate)
                                                      .alias(measure_col(name))), []
            continue
        if measure.expr is not None:
            value = compile_expr(plan, f"{path}.expr")
        else:
            table = plan.tables[measure.by_tier] if isinstance(measure.by_tier, str) else measure.by_tier
            chain: pl.Expr | pl.When | pl.Then = pl
            for tier in table or {}:
                entry = (pl.lit(float(table[tier])) if isinstance(measure.by_tier, str)  # type: ignore[index]
                         else compile_expr(plan, f"{path}.by_tier.{tier}"))
                chain = chain.when(pl.col(TIER) == tier).then(entry)  # type: ignore[union-attr]
            default = compile_expr(plan, f"{path}.default") if measure.default is not None else pl.lit(None, dtype=dtype)
            value = chain.otherwise(default) if table else default  # type: ignore[union-attr]
        tiers = measure.by_tier if isinstance(measure.by_tier, dict) else {}
        read = reads(plan, f"{path}.expr", f"{path}.default", *(f"{path}.by_tier.{tier}" for tier in tiers))
        pending.append((measure_col(name), read, pl.when(has_tier).then(value).otherwise(None).cast(dtype)
                        .alias(measure_col(name))))
    return with_columns_batched(frame, pending)

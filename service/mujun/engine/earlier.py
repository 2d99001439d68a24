"""A firm's own earlier cycles: ``past(x, k)`` in indicators and ``tier_count(T, n)`` in measures and checks.

The prior-year table may hold several earlier cycles, told apart by a ``cycle`` column (a year);
without one it is the cycle just before this one. Benchmarks read its most recent cycle only.
``past(tax_per_mu, 1)`` is the same enterprise's value one cycle back (matched by enterprise id;
missing when it has no good record that cycle); ``tier_count('D', 3)`` counts the cycles among the
last three, this one included, in which the firm was in D (from the tier history). Both are columns
joined on before the stage that reads them; a pack that uses neither pays nothing.
"""

from __future__ import annotations

import polars as pl

from mujun.engine.columns import FAILED, STATUS, column_of
from mujun.engine.compile import Plan, calls
from mujun.engine.groups import derive_groups
from mujun.engine.indicators import compute_indicators
from mujun.engine.prepare import prepare
from mujun.lang import Call, earlier_column
from mujun.packs.fields import ID_FIELD

__all__ = ["split_years", "past_values", "without_past", "tier_counts", "CYCLE_COLUMN"]

CYCLE_COLUMN = "cycle"


def split_years(prior: pl.DataFrame | None, cycle: int | None,
                plan: Plan) -> tuple[pl.DataFrame | None, dict[int, pl.DataFrame]]:
    """(the most recent earlier cycle, for benchmarks; each earlier cycle by how many cycles back it is,
    kept only when the pack reads earlier cycles)."""
    if prior is None or CYCLE_COLUMN not in prior.columns:
        return prior, ({1: prior} if prior is not None and _wanted(plan, "past", ("indicators.",)) else {})
    years = prior[CYCLE_COLUMN].cast(pl.Int64, strict=False)
    now = cycle if cycle is not None else int(years.max() or 0) + 1  # type: ignore[arg-type]
    earlier = sorted({int(y) for y in years.drop_nulls().unique() if y < now}, reverse=True)
    split = {now - y: prior.filter(years == y).drop(CYCLE_COLUMN) for y in earlier}
    return (split[now - earlier[0]] if earlier else prior.clear().drop(CYCLE_COLUMN)), split


def _wanted(plan: Plan, func: str, prefix: tuple[str, ...]) -> list[Call]:
    return [c for path, node in plan.exprs.items() if path.startswith(prefix) for c in calls(node, func)]


def without_past(frame: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    """An earlier cycle's own frame: its ``past`` columns are empty (only one step back is read)."""
    names = {earlier_column(c) for c in _wanted(plan, "past", ("indicators.",))}
    return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(name) for name in sorted(names)) if names else frame


def past_values(frame: pl.LazyFrame, plan: Plan, years: dict[int, pl.DataFrame]) -> pl.LazyFrame:
    """Join each ``past(x, k)`` column: x of the same enterprise in the cycle k back (good records only)."""
    wanted = _wanted(plan, "past", ("indicators.",))
    if not wanted:
        return frame
    columns = {earlier_column(c): c for c in wanted}
    for back in sorted({int(c.args[1].value) for c in wanted}):  # type: ignore[union-attr]
        mine = {name: c.args[0].name for name, c in columns.items() if int(c.args[1].value) == back}  # type: ignore[union-attr]
        year = years.get(back)
        if year is None:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(name) for name in mine)
            continue
        earlier = compute_indicators(without_past(derive_groups(
            prepare(year, plan, tier_names=plan.tier_names, messages=False), plan), plan), plan)
        values = (earlier.filter(pl.col(STATUS) != FAILED)
                  .select(ID_FIELD, *(pl.col(column_of(plan, x) or x).cast(pl.Float64).alias(name) for name, x in mine.items()))
                  .collect())
        frame = frame.join(values.lazy(), on=ID_FIELD, how="left", maintain_order="left")
    return frame


def tier_counts(frame: pl.LazyFrame, plan: Plan, history: pl.DataFrame | None, cycle: int | None) -> pl.LazyFrame:
    """Each ``tier_count(T, n)`` column: cycles of the last n, this one included, with tier T (rows
    of the history repeated for one firm and cycle: the last one counts)."""
    wanted = {earlier_column(c): (c.args[0].value, int(c.args[1].value))  # type: ignore[union-attr, arg-type]
              for c in _wanted(plan, "tier_count", ("measures.", "checks."))}
    if not wanted:
        return frame
    tier = pl.col("tier")
    if history is None or history.height == 0:
        return frame.with_columns(pl.when(tier.is_not_null()).then((tier == t).cast(pl.Float64)).alias(name)
                                  for name, (t, _) in wanted.items())
    now = cycle if cycle is not None else int(history[CYCLE_COLUMN].max()) + 1  # type: ignore[arg-type]
    past = (history.unique([ID_FIELD, CYCLE_COLUMN], keep="last", maintain_order=True)
            .filter(pl.col(CYCLE_COLUMN) < now)
            .group_by(ID_FIELD)
            .agg(((tier == t) & (pl.col(CYCLE_COLUMN) > now - n)).sum().cast(pl.Float64).alias(f"__{name}")
                 for name, (t, n) in wanted.items()))
    frame = frame.join(past.lazy(), on=ID_FIELD, how="left", maintain_order="left")
    return frame.with_columns(
        pl.when(tier.is_not_null()).then((tier == t).cast(pl.Float64) + pl.col(f"__{name}").fill_null(0)).alias(name)
        for name, (t, _) in wanted.items()
    ).drop([f"__{name}" for name in wanted])

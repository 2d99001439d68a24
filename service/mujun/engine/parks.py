"""Stage 10 — parks (园区): firm records aggregated to parks, then described and checked, one row per park.

A park is the rated firms sharing the ``parks.by`` value. Per park: the firm count, the sum of each
``sums`` name (missing when a member lacks it: a total is never quietly short), the number of
distinct industries, the top industry (largest by ``leading.by``; ties: the smaller code) with its
shares of each sum and of the firm count in %, and how many industries hold at least
``leading.min_share`` %. The city is every rated firm of the same records matching ``city_where``,
in a park or not, so a park's 亩均税收 is set against the city's Σ税收 ÷ Σ用地. Park indicators and
checks then run over the park table; checks compare unrounded values and print them with ``digits``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from mujun.engine.checks import message_parts, render_number
from mujun.engine.columns import OK, STATUS, column_of, compile_expr, select
from mujun.engine.compile import Plan
from mujun.errors import NotFound
from mujun.packs.expr import to_polars
from mujun.packs.fields import ID_FIELD

__all__ = ["evaluate_parks", "explain_park", "PARK", "MEMBERS", "TOP_INDUSTRY"]

PARK, MEMBERS, TOP_INDUSTRY = "park", "members", "top_industry"


def _sum(name: str) -> pl.Expr:
    return pl.when(pl.col(name).null_count() == 0).then(pl.col(name).sum())


def evaluate_parks(frame: pl.DataFrame, plan: Plan, prior: pl.DataFrame | None = None) -> pl.DataFrame | None:
    """``prior``: the prior year's evaluation frame (up to the indicators), for ``prior_sum_X`` and
    ``prior_firms`` — missing for a park the prior year does not have (亩均税收增幅 of a zone)."""
    spec = plan.pack.parks
    if spec is None:
        return None
    sums = list(spec.sums)
    rated = pl.col(STATUS) == OK
    city = rated & (compile_expr(plan, "parks.city_where").fill_null(False) if spec.city_where is not None else True)
    firms = select(frame, pl.col(ID_FIELD), pl.col(spec.by).alias(PARK), rated.alias("__rated"), city.alias("__city"),
                   *([pl.col(spec.industry).alias("__industry")] if spec.industry else []),
                   *(pl.col(column_of(plan, x) or x).cast(pl.Float64).alias(x) for x in sums))
    city_row = firms.filter(pl.col("__city")).select(pl.len().alias("city_firms"),
                                                     *(_sum(x).alias(f"city_{x}") for x in sums))
    members = firms.filter(pl.col("__rated") & pl.col(PARK).is_not_null())
    parks = members.group_by(PARK).agg(pl.len().alias("firms"), pl.col(ID_FIELD).alias(MEMBERS),
                                       *(_sum(x).alias(f"sum_{x}") for x in sums),
                                       *([pl.col("__industry").n_unique().alias("industries")] if spec.industry else []))
    if spec.leading is not None:  # no top industry for a park whose total of leading.by is missing or 0
        known = pl.col(f"sum_{spec.leading.by}").is_not_null() & (pl.col(f"sum_{spec.leading.by}") != 0)
        leading = _leading(members, plan)
        parks = parks.join(leading, on=PARK, how="left").with_columns(
            pl.when(known).then(pl.col(c)).alias(c) for c in leading.columns if c != PARK)
    parks = parks.sort(PARK).join(city_row, how="cross").join(_prior_parks(prior, plan), on=PARK, how="left")
    for name in spec.indicators:
        parks = parks.with_columns(_park_expr(plan, f"parks.indicators.{name}").cast(pl.Float64).alias(f"indicator.{name}"))
    return _checks(parks, plan)


def _prior_parks(prior: pl.DataFrame | None, plan: Plan) -> pl.DataFrame:
    spec = plan.pack.parks
    columns = {"prior_firms": pl.UInt32, **{f"prior_sum_{x}": pl.Float64 for x in spec.sums}}  # type: ignore[union-attr]
    if prior is None:
        return pl.DataFrame(schema={PARK: pl.String, **columns})
    rows = select(prior.filter((pl.col(STATUS) == OK) & pl.col(spec.by).is_not_null()),  # type: ignore[union-attr]
                  pl.col(spec.by).alias(PARK), *(pl.col(column_of(plan, x) or x).cast(pl.Float64).alias(x) for x in spec.sums))  # type: ignore[union-attr]
    return rows.group_by(PARK).agg(pl.len().alias("prior_firms"), *(_sum(x).alias(f"prior_sum_{x}") for x in spec.sums))  # type: ignore[union-attr]


def _leading(members: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """Per park: the top industry, its shares (%) of every sum and of the firm count, the leading count."""
    spec = plan.pack.parks
    by = spec.leading.by  # type: ignore[union-attr]
    per = members.group_by(PARK, "__industry").agg(pl.len().alias("__n"), *(_sum(x).alias(x) for x in spec.sums))

    def share(x: str) -> pl.Expr:  # missing when a member lacks the figure or the park's total is 0
        total = pl.col(x).sum().over(PARK)
        return pl.when((pl.col(x).null_count().over(PARK) == 0) & (total != 0)).then(100 * pl.col(x) / total)

    per = per.with_columns(share("__n").alias("top_share_firms"), *(share(x).alias(f"top_share_{x}") for x in spec.sums))
    least = pl.select(compile_expr(plan, "parks.leading.min_share")).item()
    counted = per.group_by(PARK).agg((pl.col(f"top_share_{by}") >= least).sum().alias("leading_industries"))
    top = (per.sort([PARK, by, "__industry"], descending=[False, True, False], nulls_last=True)
           .group_by(PARK, maintain_order=True).first()
           .select(PARK, pl.col("__industry").alias(TOP_INDUSTRY), "top_share_firms",
                   *(f"top_share_{x}" for x in spec.sums)))
    return top.join(counted, on=PARK)


def _park_expr(plan: Plan, path: str) -> pl.Expr:
    indicators = plan.pack.parks.indicators  # type: ignore[union-attr]

    def resolve(name: str) -> pl.Expr:
        if name in indicators:
            return pl.col(f"indicator.{name}")
        return pl.lit(plan.numbers[name], dtype=pl.Float64) if name in plan.numbers else pl.col(name)

    return to_polars(plan.node(path), resolve, plan.tables.__getitem__)


def _checks(parks: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    spec = plan.pack.parks
    if not spec.checks:  # type: ignore[union-attr]
        return parks
    columns = []
    for i, check in enumerate(spec.checks):  # type: ignore[union-attr]
        path, bound = f"parks.checks.{i}", ("min" if check.min is not None else "max")
        value, threshold = _park_expr(plan, f"{path}.value"), _park_expr(plan, f"{path}.{bound}")
        holds = ((value >= threshold) if bound == "min" else (value <= threshold)).fill_null(False)
        applies = _park_expr(plan, f"{path}.when").fill_null(False) if check.when is not None else pl.lit(True)
        columns += [pl.when(applies).then(holds).alias(f"check.{check.name}"),
                    value.alias(f"__value.{i}"), threshold.alias(f"__threshold.{i}")]
    parks = parks.with_columns(columns)
    failed = [_reasons(plan, row) for row in parks.iter_rows(named=True)]
    decision = spec.decision  # type: ignore[union-attr]
    return parks.drop([c for c in parks.columns if c.startswith("__")]).with_columns(
        pl.Series("decision", [decision.fail if f else decision.pass_ for f in failed], dtype=pl.String),
        pl.Series("failed", failed, dtype=pl.String))


def _reasons(plan: Plan, row: dict[str, Any]) -> str | None:
    """The failed checks of one park, each with its value and threshold as the message prints them."""
    reasons = []
    for i, check in enumerate(plan.pack.parks.checks):  # type: ignore[union-attr]
        if row[f"check.{check.name}"] is not False:
            continue
        failed, lacking = message_parts(check)
        value, threshold = row[f"__value.{i}"], row[f"__threshold.{i}"]
        label = check.label or check.name
        reasons.append(lacking.format(label=label) if value is None or threshold is None else failed.format(
            label=label, unit=check.unit or "", value=render_number(value, check.digits),
            threshold=render_number(threshold, check.digits)))
    return "; ".join(reasons) or None


def explain_park(plan: Plan, parks: pl.DataFrame, park: str, frame: pl.DataFrame) -> dict[str, Any]:
    """Why a park got its decision: the firms it was built from (with what each added), its figures,
    the city's, each indicator and check."""
    rows = parks.filter(pl.col(PARK) == park)
    if rows.height == 0:
        raise NotFound(f"park {park!r} is not in this result")
    row = rows.row(0, named=True)
    spec = plan.pack.parks
    fields = [*([spec.industry] if spec.industry else []), *spec.sums]  # type: ignore[union-attr]
    built_from = select(frame.filter((pl.col(STATUS) == OK) & (pl.col(spec.by) == park)),  # type: ignore[union-attr]
                        pl.col(ID_FIELD), *(pl.col(column_of(plan, x) or x).alias(x) for x in fields))
    return {
        "park": park, "firms": row["firms"], "members": built_from.to_dicts(),
        "figures": {name: row[name] for name in spec.figures() if name in row},  # type: ignore[union-attr]
        "top_industry": row.get(TOP_INDUSTRY),
        "indicators": {name: {"value": row[f"indicator.{name}"], "formula": str(ind.expr), "label": ind.label}
                       for name, ind in spec.indicators.items()},  # type: ignore[union-attr]
        "checks": [{"name": c.name, "label": c.label or c.name, "passed": row.get(f"check.{c.name}"),
                    "bound": "min" if c.min is not None else "max", "threshold": str(c.min if c.min is not None else c.max)}
                   for c in spec.checks],  # type: ignore[union-attr]
        "decision": row.get("decision"), "failed": row.get("failed"),
    }

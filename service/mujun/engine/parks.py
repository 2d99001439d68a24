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
        parks = parks.with_columns(compile_expr(plan, f"parks.indicators.{name}").cast(pl.Float64).alias(f"indicator.{name}"))
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


def _checks(parks: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    spec = plan.pack.parks
    if not spec.checks:  # type: ignore[union-attr]
        return parks
    columns = []
    for i, check in enumerate(spec.checks):  # type: ignore[union-attr]
        path, bound = f"parks.checks.{i}", ("min" if check.min is not None else "max")
        value, threshold = compile_expr(plan, f"{path}.value"), compile_expr(plan, f"{path}.{bound}")
        holds = ((value >= threshold) if bound == "min" else (value <= threshold)).fill_null(False)
        applies = compile_expr(plan, f"{path}.when").fill_null(False) if check.when is not None else pl.lit(True)
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


_WORDS = {
    "head": ("园区 {park} — {title} 园区评价说明", "park {park} — {title}: park evaluation"),
    "built": ("由 {n} 家参评企业汇总：", "built from {n} rated firms:"),
    "figures": ("园区合计：", "park totals: "), "city": ("全市（同一批数据{where}）：", "city (the same records{where}): "),
    "top": ("主导产业：{industry}", "top industry: {industry}"),
    "indicators": ("园区指标：", "park indicators:"), "checks": ("审查：", "checks:"),
    "check": ("{label} {value} {sign} {limit}？{ok}", "{label} {value} {sign} {limit}? {ok}"),
    "check_na": ("{label}：不适用", "{label}: does not apply"),
    "check_missing": ("{label}：缺少数值或标准，不通过", "{label}: value or threshold missing, fails"),
    "pass": ("通过", "passes"), "fail": ("不通过", "fails"),
    "decision": ("结论：{decision}", "decision: {decision}"), "source": ("依据：{source}", "source: {source}"),
    "firms": ("企业数", "firms"), "city_firms": ("全市企业数", "city firms"), "prior_firms": ("上年企业数", "prior-year firms"), "industries": ("行业数", "industries"),
    "leading_industries": ("主导产业个数", "leading industries"),
    "top_share_firms": ("主导产业企业数占比", "top industry's share of firms"),
    "sum": ("Σ", "Σ "), "city_": ("全市 Σ", "city Σ "), "prior_sum": ("上年 Σ", "prior-year Σ "),
    "top_share": ("主导产业占 Σ", "top industry's share of Σ "),
}


def explain_park(plan: Plan, parks: pl.DataFrame, park: str, frame: pl.DataFrame, lang: str) -> dict[str, Any]:
    """Why a park got its decision: the firms it was built from (with what each added), its figures,
    the city's, each indicator and check with the values compared; ``lines`` says it in ``lang``."""
    rows = parks.filter(pl.col(PARK) == park)
    if rows.height == 0:
        raise NotFound(f"park {park!r} is not in this result; parks: {', '.join(map(str, parks[PARK].to_list()))}")
    row = rows.row(0, named=True)
    spec = plan.pack.parks
    fields = [*([spec.industry] if spec.industry else []), *spec.sums]  # type: ignore[union-attr]
    built_from = select(frame.filter((pl.col(STATUS) == OK) & (pl.col(spec.by) == park)),  # type: ignore[union-attr]
                        pl.col(ID_FIELD), *(pl.col(column_of(plan, x) or x).alias(x) for x in fields))
    compared = rows.select(*(compile_expr(plan, f"parks.checks.{i}.{bound}").alias(f"{i}.{bound}")
                             for i, c in enumerate(spec.checks)  # type: ignore[union-attr]
                             for bound in ("value", "min" if c.min is not None else "max"))).row(0, named=True)
    out = {
        "park": park, "lang": lang, "firms": row["firms"], "members": built_from.to_dicts(),
        "figures": {name: row[name] for name in spec.figures() if name in row},  # type: ignore[union-attr]
        "top_industry": row.get(TOP_INDUSTRY),
        "indicators": {name: {"value": row[f"indicator.{name}"], "formula": str(ind.expr), "label": ind.label,
                              "unit": ind.unit}
                       for name, ind in spec.indicators.items()},  # type: ignore[union-attr]
        "checks": [{"name": c.name, "label": c.label or c.name, "passed": row.get(f"check.{c.name}"),
                    "bound": "min" if c.min is not None else "max", "threshold": str(c.min if c.min is not None else c.max),
                    "value": compared[f"{i}.value"], "limit": compared[f"{i}.{'min' if c.min is not None else 'max'}"]}
                   for i, c in enumerate(spec.checks)],  # type: ignore[union-attr]
        "decision": row.get("decision"), "failed": row.get("failed"),
    }
    out["lines"] = _park_lines(plan, out, lang)
    return out


def _park_lines(plan: Plan, out: dict[str, Any], lang: str) -> list[str]:
    """The park's explanation as sentences: members first, then totals, the city, indicators, checks."""
    def t(key: str, **values: Any) -> str:
        zh, en = _WORDS[key]
        return (zh if lang == "zh" else en).format(**values)

    spec, inputs = plan.pack.parks, plan.inputs
    sep = "，" if lang == "zh" else ", "

    def label(name: str) -> str:
        field = inputs.get(name)
        return (field.label if field is not None and field.label else name)

    def amount(name: str, value: Any) -> str:
        unit = inputs[name].unit if name in inputs else None
        text = "—" if value is None else render_number(value, 4)
        return f"{text} {unit}" if unit and value is not None else text

    def figure(name: str) -> str:
        for prefix, key in (("sum_", "sum"), ("city_", "city_"), ("prior_sum_", "prior_sum"), ("top_share_", "top_share")):
            if name.startswith(prefix) and name[len(prefix):] in spec.sums:  # type: ignore[union-attr]
                x = name[len(prefix):]
                shown = amount(x, out["figures"][name]) if key != "top_share" else amount("", out["figures"][name]) + " %"
                return f"{t(key)}{label(x)} {shown}"
        word = t(name) if name in _WORDS else name
        value = out["figures"][name]
        return f"{word} {'—' if value is None else render_number(value, 4)}{' %' if name == 'top_share_firms' else ''}"

    lines = [t("head", park=out["park"], title=plan.pack.title), t("built", n=out["firms"])]
    for member in out["members"]:
        parts = sep.join(f"{label(k)} {amount(k, v) if k in spec.sums else v}"  # type: ignore[union-attr]
                         for k, v in member.items() if k != ID_FIELD)
        lines.append(f"  {member[ID_FIELD]}（{parts}）" if lang == "zh" else f"  {member[ID_FIELD]} ({parts})")
    shown = [n for n in out["figures"] if not (n.startswith("prior_") and out["figures"][n] is None)]
    park_figures = [n for n in shown if not n.startswith("city_")]
    city_figures = [n for n in shown if n.startswith("city_")]
    lines.append(t("figures") + sep.join(figure(n) for n in park_figures))
    where = (f"，限 {spec.city_where}" if lang == "zh" else f", where {spec.city_where}") if spec.city_where else ""  # type: ignore[union-attr]
    lines.append(t("city", where=where) + sep.join(figure(n) for n in city_figures))
    if out["top_industry"] is not None:
        lines.append(t("top", industry=out["top_industry"]))
    if out["indicators"]:
        lines.append(t("indicators"))
        for name, ind in out["indicators"].items():
            value = "—" if ind["value"] is None else render_number(ind["value"], 4)
            lines.append(f"  {ind['label'] or name} = {ind['formula']} = {value}{' ' + ind['unit'] if ind['unit'] else ''}")
    if out["checks"]:
        lines.append(t("checks"))
    for check, c in zip(spec.checks, out["checks"]):  # type: ignore[union-attr]
        if c["passed"] is None:
            lines.append("  " + t("check_na", label=c["label"]))
        elif c["value"] is None or c["limit"] is None:
            lines.append("  " + t("check_missing", label=c["label"]))
        else:
            unit = f" {check.unit}" if check.unit else ""
            sign = (">" if check.strict else "≥") if c["bound"] == "min" else ("<" if check.strict else "≤")
            lines.append("  " + t("check", label=c["label"], value=render_number(c["value"], check.digits) + unit,
                                  sign=sign, limit=render_number(c["limit"], check.digits) + unit,
                                  ok=t("pass" if c["passed"] else "fail")))
    if out["decision"] is not None:
        lines.append(t("decision", decision=out["decision"]) + (f" — {out['failed']}" if out["failed"] else ""))
    lines.append(t("source", source=plan.pack.source))
    return lines

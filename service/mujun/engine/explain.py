"""Explanations: the full trace of one decision, read from the evaluation frame the stages built.

An official answering an appeal needs every number with its origin: "your 亩均税收 was 12.3 against
a benchmark of 24.097, which gave 15.3 of 30 points". Nothing here recomputes a cohort; values come
from the plan's own columns, and only per-record arithmetic (the ratio, whether a cap bit) is shown
again so the steps can be read.
"""

from __future__ import annotations

from typing import Any

from mujun.engine.adjust import SCORE
from mujun.engine.benchmarks import BASIS
from mujun.engine.columns import (ERROR, GROUP_N, OK, REASON, STATUS, VETO, adjust_col, benchmark_col, column_of,
                                  indicator_col, item_col, measure_col)
from mujun.engine.checks import DECISION, FAILED_REASONS, check_col
from mujun.engine.compile import CYCLE, Plan
from mujun.engine.tiers import GROUP, RANK, TIER, cumulative_cuts
from mujun.packs import expr as ex
from mujun.packs.fields import ID_FIELD

__all__ = ["explain_row", "format_trace", "row_env"]


def row_env(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    """Pack names → this record's values, for evaluating per-record expressions in the trace."""
    env: dict[str, Any] = dict(plan.numbers)
    names = set(plan.inputs) | set(plan.pack.indicators) | set(plan.pack.benchmarks)
    names |= {f"item.{n}" for n in plan.pack.items} | {f"measure.{n}" for n in plan.pack.measures}
    names |= {SCORE, TIER, RANK, "tier_streak", CYCLE}
    for name in names:
        column = column_of(plan, name)
        if column is not None and column in row:
            env[name] = row[column]
    return env


def _eval(plan: Plan, path: str, env: dict[str, Any]) -> Any:
    node = plan.expr_at(path)
    return None if node is None else ex.eval_row(node, env, plan.tables.__getitem__)


def explain_row(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    pack = plan.pack
    env = row_env(plan, row)
    status = row[STATUS]
    trace: dict[str, Any] = {
        "enterprise_id": row[ID_FIELD],
        "pack": {"id": pack.id, "version": pack.version, "hash": plan.pack_hash, "title": pack.title,
                 "source": pack.source},
        "status": status,
        "error": row.get(ERROR),
        "reason": row.get(REASON),
        "inputs": {name: {"value": row.get(name), "unit": spec.unit, "label": spec.label}
                   for name, spec in plan.inputs.items()},
    }
    if status == "error":
        return trace
    trace["indicators"] = {
        name: {"value": row.get(indicator_col(name)), "expr": str(ind.expr), "unit": ind.unit, "label": ind.label}
        for name, ind in pack.indicators.items()
    }
    if status != OK:
        trace["tier"] = {"tier": row.get(TIER), "why": "unrated" + (", managed as this tier by the scope rule"
                                                                       if row.get(TIER) else "")}
        trace["measures"] = _measures(plan, row)
        return trace
    trace["benchmarks"] = {name: _benchmark(plan, name, row) for name in pack.benchmarks}
    trace["items"] = {name: _item(plan, name, row, env) for name in pack.items}
    trace["adjustments"] = [
        {"name": a.name, "label": a.label, "applied": bool(_eval(plan, f"adjustments.{i}.when", env)),
         "points": row.get(adjust_col(a.name)), "veto": a.veto}
        for i, a in enumerate(pack.adjustments)
    ]
    trace["score"] = row.get(SCORE)
    trace["tier"] = _tier(plan, row)
    trace["measures"] = _measures(plan, row)
    if pack.checks:
        trace["checks"] = _checks(plan, row, env)
    return trace


def _checks(plan: Plan, row: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    """Each condition with the value and threshold it compared, and the decision they add up to."""
    out: dict[str, Any] = {"decision": row.get(DECISION), "failed": row.get(FAILED_REASONS), "conditions": []}
    for i, check in enumerate(plan.pack.checks):
        bound = "min" if check.min is not None else "max"
        out["conditions"].append({
            "name": check.name, "label": check.label, "passed": row.get(check_col(check.name)),
            "value": _eval(plan, f"checks.{i}.value", env), bound: _eval(plan, f"checks.{i}.{bound}", env),
            "unit": check.unit,
        })
    return out


def _benchmark(plan: Plan, name: str, row: dict[str, Any]) -> dict[str, Any]:
    bm = plan.pack.benchmarks[name]
    out: dict[str, Any] = {"value": row.get(benchmark_col(name)), "unit": bm.unit, "label": bm.label}
    if bm.value is not None:
        out["rule"] = f"fixed: {bm.value}"
        return out
    stat = f"p{bm.percentile:g}" if bm.stat == "percentile" else bm.stat
    out["rule"] = f"{bm.factor} × {stat} of {bm.of} over rated firms" + (f" where {bm.where}" if bm.where else "")
    out["group"] = {field: row.get(field) for field in bm.group_by}
    out["source"] = row.get(BASIS) if bm.source != "current" else "current year"
    return out


def _item(plan: Plan, name: str, row: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    item = plan.pack.items[name]
    path = f"items.{name}"
    points = row.get(item_col(name))
    out: dict[str, Any] = {"label": item.label, "method": item.method, "points": points}
    if points is None:
        out["applies"] = False
        return out
    weight = _eval(plan, f"{path}.weight", env)
    out["weight"] = weight
    x = row.get(indicator_col(item.indicator)) if item.indicator else None
    if item.indicator:
        out["indicator"] = {"name": item.indicator, "value": x}
    if item.method == "ratio":
        bm = _eval(plan, f"{path}.benchmark", env)
        out["benchmark"] = bm
        if x is not None and bm is not None and bm > 0:
            ratio = x / bm
            out["ratio"] = ratio
            if item.cap_ratio is not None and ratio > item.cap_ratio:
                out["capped"] = f"ratio {ratio:.4f} capped at {item.cap_ratio:g}"
    notes = []
    if item.indicator and x is None:
        notes.append({"zero": "missing → 0 points", "cohort_mean": "missing → the cohort's average item score"}
                     .get(item.missing, f"missing → {item.missing}"))
    elif x is not None and x < 0 and item.negative == "zero":
        notes.append("negative → 0 points")
    for bound in ("cap", "floor"):
        limit = _eval(plan, f"{path}.{bound}", env)
        if limit is not None and points == limit:
            notes.append(f"{bound} {limit:g} applied")
    if notes:
        out["policy"] = "; ".join(notes)
    return out


def _tier(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    tiers = plan.pack.tiers
    out: dict[str, Any] = {"tier": row.get(TIER), "group": row.get(GROUP), "rank": row.get(RANK),
                           "group_size": row.get(GROUP_N)}
    if tiers is None:
        return out
    out["method"] = tiers.method
    if row.get(VETO):
        out["why"] = f"veto: forced to {row[VETO]}"
    elif tiers.method == "quota" and row.get(GROUP_N):
        cuts = cumulative_cuts([q.percent for q in tiers.quotas], tiers.rounding, int(row[GROUP_N]))
        spans, start = [], 1
        for quota, cut in zip(tiers.quotas, cuts):
            spans.append(f"{quota.tier} ranks {start}–{cut}" if cut >= start else f"{quota.tier} none")
            start = cut + 1
        out["why"] = (f"rank {row[RANK]} of {row[GROUP_N]} in group {row[GROUP]} by "
                      f"{', '.join(tiers.order_by)}; quotas ({tiers.rounding}): {'; '.join(spans)}")
    elif tiers.method == "thresholds":
        reached = next((t for t in tiers.thresholds if t.min is None or (row[SCORE] is not None and row[SCORE] >= t.min)), None)
        out["why"] = (f"score {row[SCORE]:.4f} ≥ {reached.min:g}" if reached and reached.min is not None
                      else "below every other threshold")
    else:
        out["why"] = "tier given in the input"
    return out


def _measures(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    return {name: {"value": row.get(measure_col(name)), "unit": m.unit, "label": m.label}
            for name, m in plan.pack.measures.items()}


def format_trace(trace: dict[str, Any]) -> str:
    """A plain-text rendering an official can read aloud at an appeal hearing."""
    pack = trace["pack"]
    lines = [f"{trace['enterprise_id']} — {pack['id']} {pack['version']} (hash {pack['hash'][:12]})",
             f"status: {trace['status']}" + (f" — {trace['error']}" if trace.get("error") else "")
             + (f" — {trace['reason']}" if trace.get("reason") else "")]
    for name, ind in trace.get("indicators", {}).items():
        lines.append(f"  indicator {ind['label'] or name} = {_num(ind['value'])} {ind['unit'] or ''}  [{ind['expr']}]")
    for name, bm in trace.get("benchmarks", {}).items():
        group = ", ".join(f"{k}={v}" for k, v in (bm.get("group") or {}).items())
        lines.append(f"  benchmark {bm['label'] or name} = {_num(bm['value'])} ({bm['rule']}"
                     + (f"; group {group}" if group else "") + (f"; {bm['source']}" if bm.get("source") else "") + ")")
    for name, item in trace.get("items", {}).items():
        if item.get("applies") is False:
            lines.append(f"  item {item['label'] or name}: does not apply")
            continue
        parts = [f"  item {item['label'] or name}: {_num(item['points'])} of {_num(item.get('weight'))} points"]
        if "ratio" in item:
            parts.append(f"({_num(item['indicator']['value'])} / {_num(item['benchmark'])} = {_num(item['ratio'])})")
        for key in ("capped", "policy"):
            if item.get(key):
                parts.append(f"[{item[key]}]")
        lines.append(" ".join(parts))
    for adj in trace.get("adjustments", []):
        if adj["applied"]:
            lines.append(f"  adjustment {adj['label'] or adj['name']}: {_num(adj['points'])}"
                         + (f", veto → {adj['veto']}" if adj["veto"] else ""))
    if "score" in trace:
        lines.append(f"score: {_num(trace['score'])}")
    tier = trace.get("tier") or {}
    if tier:
        lines.append(f"tier: {tier.get('tier')} — {tier.get('why', '')}")
    for name, m in trace.get("measures", {}).items():
        lines.append(f"  measure {m['label'] or name} = {_num(m['value'])} {m['unit'] or ''}")
    checks = trace.get("checks")
    if checks:
        for cond in checks["conditions"]:
            if cond["passed"] is None:
                lines.append(f"  check {cond['label'] or cond['name']}: does not apply")
                continue
            bound = "≥" if "min" in cond else "≤"
            limit = cond.get("min", cond.get("max"))
            lines.append(f"  check {cond['label'] or cond['name']}: {_num(cond['value'])} {bound} {_num(limit)} "
                         f"{cond['unit'] or ''} → {'pass' if cond['passed'] else 'FAIL'}")
        lines.append(f"decision: {checks['decision']}" + (f" — {checks['failed']}" if checks["failed"] else ""))
    return "\n".join(lines)


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:,.2f}"
    return str(value)

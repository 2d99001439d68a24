"""Benchmark baseline: js-huaian-2024 as a GoRules Zen decision model (JDM), evaluated per enterprise.

Zen evaluates one JSON context at a time, so anything that needs the whole county cannot live in the
model.  What the model does, per enterprise:

* an expression node computes the three indicators, the capped items (full energy points for zero
  energy with a positive tax) and the score with its bonuses from the raw record plus the county
  benchmarks it is given;
* a decision table (first hit) gives the tier from the veto flag and the county's *score thresholds*;
* a decision table gives the measures for the tier, and an expression node the surcharge in 元.

What is computed before Zen, with numpy (``contexts``), and passed in: validation and scope (only
rated rows are sent), the county benchmarks (2 × the prior-year ratio of sums), the veto and bonus
flags as booleans, and the score thresholds — the
score of the firm at each quota cut after the exact ranking.  Thresholds cannot express the pack's
tie-break (tax_per_mu, revenue, id), so firms tied on score across a cut get the better tier here;
``agreement`` reports how often the tiers match the exact ones.  The timing covers only Zen's own
work (``evaluate_batch``, its fastest path), not the building of the contexts: a generous comparison.
"""

from __future__ import annotations

import json
import time

import numpy as np
import polars as pl
import zen

import baseline_numpy

__all__ = ["DECISION", "agreement", "contexts", "evaluate_batch"]

_KEY = "js-huaian-2024.json"


def _node(node_id: str, kind: str, content: dict | None = None) -> dict:
    node = {"id": node_id, "type": kind, "name": node_id, "position": {"x": 0, "y": 0}}
    if content is not None:
        node["content"] = content
    return node


def _expressions(pairs: list[tuple[str, str]]) -> dict:
    return {"expressions": [{"id": f"x{i}", "key": key, "value": value} for i, (key, value) in enumerate(pairs)],
            "passThrough": True, "inputField": None, "outputPath": None, "executionMode": "single"}


def _item(weight: float, x: str, benchmark: str) -> str:
    """weight × min(x / benchmark, 1), floored at 0; 0 when x is missing or the benchmark is not positive."""
    return f"({x} == null or {benchmark} == null or {benchmark} <= 0) ? 0 : {weight} * max([0, min([{x} / {benchmark}, 1])])"


_INDICATORS = [
    ("tax_per_mu", "tax_wan / land_mu"),
    ("revenue_per_mu", "revenue_wan / land_mu"),
    ("energy_equiv_tce", "energy_tce != null ? energy_tce : (electricity_kwh != null ? electricity_kwh * 0.0001229 : null)"),
    ("tax_per_energy", "($.energy_equiv_tce == null or $.energy_equiv_tce == 0) ? null : tax_wan / $.energy_equiv_tce"),
    ("item_tax", _item(45, "$.tax_per_mu", "bm_tax")),
    ("item_revenue", _item(35, "$.revenue_per_mu", "bm_revenue")),
    ("item_energy", f"($.energy_equiv_tce == 0 and tax_wan > 0) ? 20 : {_item(20, '$.tax_per_energy', 'bm_energy')}"),
    ("bonus", " + ".join(f"({flag} ? {points:g} : 0)" for _, flag, points in baseline_numpy.ADJUSTMENTS if points)),
    ("score", "$.item_tax + $.item_revenue + $.item_energy + $.bonus"),
]


def _tier_table() -> dict:
    rules = [("true", "", "'D'"), ("", ">= score_a", "'A'"), ("", ">= score_b", "'B'"), ("", ">= score_c", "'C'"),
             ("", "", "'D'")]
    return {
        "hitPolicy": "first",
        "inputs": [{"id": "vetoed", "name": "Vetoed", "field": "vetoed"}, {"id": "score", "name": "Score", "field": "score"}],
        "outputs": [{"id": "tier", "name": "Tier", "field": "tier"}],
        "rules": [{"_id": f"r{i}", "vetoed": v, "score": s, "tier": t} for i, (v, s, t) in enumerate(rules)],
        "passThrough": True, "inputField": None, "outputPath": None, "executionMode": "single",
    }


def _measure_table() -> dict:
    rules = [("'A'", "0", "100"), ("'B'", "0", "50"), ("'C'", "0", "0"), ("'D'", "0.3", "0")]
    return {
        "hitPolicy": "first",
        "inputs": [{"id": "tier", "name": "Tier", "field": "tier"}],
        "outputs": [{"id": "rate", "name": "Surcharge", "field": "electricity_surcharge_yuan_per_kwh"},
                    {"id": "land", "name": "Land tax", "field": "land_tax_reduction_pct"}],
        "rules": [{"_id": f"m{i}", "tier": t, "rate": r, "land": p} for i, (t, r, p) in enumerate(rules)],
        "passThrough": True, "inputField": None, "outputPath": None, "executionMode": "single",
    }


DECISION = {
    "nodes": [
        _node("request", "inputNode"),
        _node("indicators", "expressionNode", _expressions(_INDICATORS)),
        _node("tier", "decisionTableNode", _tier_table()),
        _node("measures", "decisionTableNode", _measure_table()),
        _node("surcharge", "expressionNode", _expressions([(
            "electricity_surcharge_yuan",
            "electricity_kwh == null ? null : electricity_surcharge_yuan_per_kwh * electricity_kwh")])),
        _node("response", "outputNode"),
    ],
    "edges": [{"id": f"e{i}", "sourceId": a, "targetId": b, "type": "edge"} for i, (a, b) in enumerate(
        [("request", "indicators"), ("indicators", "tier"), ("tier", "measures"), ("measures", "surcharge"),
         ("surcharge", "response")])],
}


def contexts(current: pl.DataFrame, prior: pl.DataFrame | None) -> tuple[list[dict], pl.DataFrame]:
    """Per-enterprise Zen inputs for the rated rows, and the exact numpy result they came from."""
    exact = baseline_numpy.evaluate(current, prior)
    rated = exact.with_row_index("row").filter(pl.col("status") == "ok")
    benchmarks = baseline_numpy.county_benchmarks(current, prior)
    thresholds = _score_thresholds(exact)
    inputs = (
        current[rated["row"]]
        .select("enterprise_id", "region", "land_mu", "tax_wan", "revenue_wan", "energy_tce", "electricity_kwh",
                vetoed=pl.col("flags").list.set_intersection(baseline_numpy.VETO_FLAGS).list.len() > 0,
                **{flag: pl.col("flags").list.contains(flag)
                   for _, flag, points in baseline_numpy.ADJUSTMENTS if points})
        .join(benchmarks, on="region", how="left", maintain_order="left")
        .join(thresholds, on="region", how="left", maintain_order="left")
    )
    return inputs.to_dicts(), rated


def _score_thresholds(exact: pl.DataFrame) -> pl.DataFrame:
    """Lowest score still inside each tier's quota, per county (what a per-enterprise model can be given).

    Zen computes in decimal arithmetic, so its score for the firm at a cut can differ from the float one
    by ~1e-14; the thresholds are lowered by 1e-9 so that firm stays inside its tier.
    """
    ranked = exact.filter(pl.col("rank").is_not_null())
    return ranked.group_by(pl.col("group").alias("region")).agg(
        *[(pl.col("score").filter(pl.col("tier") == t).min() - 1e-9).fill_null(float("inf")).alias(f"score_{t.lower()}")
          for t in "ABC"])


def evaluate_batch(inputs: list[dict], batch: int = 20_000) -> tuple[list[dict], float]:
    """Evaluate every context through ``ZenEngine.evaluate_batch``; returns (results, seconds in Zen)."""
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {_KEY: DECISION}}})
    results, seconds = [], 0.0
    for start in range(0, len(inputs), batch):
        requests = [{"key": _KEY, "context": context} for context in inputs[start:start + batch]]
        began = time.perf_counter()
        answers = engine.evaluate_batch(requests)
        seconds += time.perf_counter() - began
        results.extend(answer["data"]["result"] for answer in answers)
    return results, seconds


def evaluate_each(inputs: list[dict]) -> tuple[list[dict], float]:
    """The per-call path (``ZenDecision.evaluate``), for comparison with the batch path."""
    decision = zen.ZenEngine().create_decision(json.dumps(DECISION))
    began = time.perf_counter()
    results = [decision.evaluate(context)["result"] for context in inputs]
    return results, time.perf_counter() - began


def agreement(results: list[dict], rated: pl.DataFrame) -> dict[str, float]:
    """Share of rated rows where Zen's tier equals the exact quota tier, and the largest score gap."""
    tiers = np.array([r.get("tier") for r in results], dtype=object)
    scores = np.array([r.get("score") for r in results], dtype=float)
    return {
        "tier_agreement": float(np.mean(tiers == rated["tier"].to_numpy())),
        "max_score_gap": float(np.nanmax(np.abs(scores - rated["score"].to_numpy()))) if len(scores) else 0.0,
    }

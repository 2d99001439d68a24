"""Benchmark baseline: the tiering and measures of js-huaian-2024 as durable_rules facts, one per enterprise.

durable_rules is a forward-chaining engine: facts are asserted one at a time and every rule whose
condition matches fires a Python action.  It has no notion of a county-wide ranking or mean, so what
it does here is only the per-enterprise *decision* part of the pack:

* numpy (``facts``) computes, before any rule runs, validation, scope, indicators, benchmarks, items,
  scores and the exact quota rank with its county's cut counts — these are the fact's fields;
* the rules decide the tier from the veto flag and the rank against the cuts (five rules, mutually
  exclusive), and each action sets the tier's measures (surcharge rate and 元, land-use-tax reduction).

The timing covers only asserting the facts and running the actions, so it is the engine's best case.
Rulesets are global in durable_rules and cannot be redefined, so every call builds one under a new name.
durable_rules identifies a fact by a hash of its content and, with some 700,000 facts in one session,
refused distinct facts as "already observed" (``MessageObservedException``); facts are therefore
spread over sessions of ``SESSION_FACTS`` (the ``sid`` field), which the rules do not look at.
"""

from __future__ import annotations

import itertools
import time

import polars as pl
from durable.lang import assert_fact, m, ruleset, when_all

import baseline_numpy

__all__ = ["agreement", "evaluate", "facts"]

SESSION_FACTS = 10_000
_NAMES = itertools.count()
_MEASURES = {"A": (0.0, 100.0), "B": (0.0, 50.0), "C": (0.0, 0.0), "D": (0.30, 0.0)}


def facts(current: pl.DataFrame, prior: pl.DataFrame | None) -> tuple[list[dict], pl.DataFrame]:
    """One fact per rated enterprise: score, rank and the county's cut counts, precomputed with numpy."""
    exact = baseline_numpy.evaluate(current, prior)
    rated = exact.with_row_index("row").filter(pl.col("status") == "ok")
    size = rated.filter(pl.col("rank").is_not_null()).group_by("group").agg(n=pl.len())
    cut = lambda bp: ((2 * bp * pl.col("n") + 10_000) // 20_000)  # noqa: E731 — the pack's exact rounding
    table = (
        rated.join(size, on="group", how="left", maintain_order="left")
        .select(
            id=pl.col("enterprise_id"),
            vetoed=(pl.col("rank").is_null()).cast(pl.Int8),
            rank=pl.col("rank").fill_null(0),
            cut_a=cut(2000), cut_b=cut(6000), cut_c=cut(9500),
            score=pl.col("score"),
            electricity_kwh=current["electricity_kwh"].gather(rated["row"]).fill_null(0.0),
        )
    )
    return table.to_dicts(), rated


def _ruleset(decided: dict[str, tuple]) -> str:
    """Define the tier rules under a fresh name; actions write (tier, rate, 元, land-tax %) into ``decided``."""
    name = f"huaian_tier_{next(_NAMES)}"

    def decide(tier: str):
        def action(c):
            rate, land = _MEASURES[tier]
            decided[c.m.id] = (tier, rate, rate * c.m.electricity_kwh, land)
        return action

    with ruleset(name):
        when_all(m.vetoed == 1)(decide("D"))
        when_all((m.vetoed == 0) & (m.rank <= m.cut_a))(decide("A"))
        when_all((m.vetoed == 0) & (m.rank > m.cut_a) & (m.rank <= m.cut_b))(decide("B"))
        when_all((m.vetoed == 0) & (m.rank > m.cut_b) & (m.rank <= m.cut_c))(decide("C"))
        when_all((m.vetoed == 0) & (m.rank > m.cut_c))(decide("D"))
    return name


def evaluate(enterprise_facts: list[dict]) -> tuple[dict[str, tuple], float]:
    """Assert every fact and let the rules fire; returns ({id: (tier, rate, 元, land %)}, seconds)."""
    decided: dict[str, tuple] = {}
    name = _ruleset(decided)
    began = time.perf_counter()
    for index, fact in enumerate(enterprise_facts):
        assert_fact(name, {"sid": str(index // SESSION_FACTS), **fact})
    return decided, time.perf_counter() - began


def agreement(decided: dict[str, tuple], rated: pl.DataFrame) -> float:
    """Share of rated rows whose rule-decided tier equals the exact one."""
    tiers = rated["tier"].to_list()
    return sum(decided.get(i, (None,))[0] == t for i, t in zip(rated["enterprise_id"].to_list(), tiers)) / max(1, len(tiers))

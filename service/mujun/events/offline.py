"""Events applied to an offline scoring (``mujun score --events``): until a cycle is frozen on a server,
the run's own result stands in for the frozen context.

* re-tiering a firm whose points moved: by the pack's thresholds, or for quota packs by the run's cut
  lines — the lowest score of each tier among the ranked firms of the firm's group (a firm at or above
  a tier's lowest score gets it); for ``method: input`` points cannot move the tier;
* measures of a firm whose tier or score moved: the pack's measure stage run again on its row of the
  evaluation frame, with the new tier and score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import polars as pl

from mujun.engine.adjust import SCORE
from mujun.engine.columns import OK, STATUS, VETO, measure_col
from mujun.engine.measures import apply_measures
from mujun.engine.tiers import GROUP, RANK, TIER
from mujun.errors import InputError
from mujun.events.durable import DurableDetector
from mujun.events.effective import BaseDecision, EffectiveDecision, apply_firings
from mujun.events.model import Event
from mujun.packs.fields import ID_FIELD

__all__ = ["apply_events", "EFFECTS"]

EFFECTS = "event_effects"  # the column that names, per firm, the effects in force: rule:event from..until


def _retier_for(plan, table: pl.DataFrame) -> Callable[[str | None, str], Callable[[float], str]]:  # noqa: ANN001
    tiers = plan.pack.tiers
    names = tiers.tier_names() if tiers else []
    if tiers is not None and tiers.method == "thresholds":
        def by_threshold(score: float) -> str:
            return next((t.tier for t in tiers.thresholds if t.min is None or score >= t.min), names[-1])
        return lambda _group, _tier: by_threshold
    if tiers is None or tiers.method != "quota":
        return lambda _group, tier: (lambda _score: tier)
    ranked = table.filter((pl.col(STATUS) == OK) & pl.col(RANK).is_not_null())
    lows = {(g, t): s for g, t, s in ranked.group_by([GROUP, TIER]).agg(pl.col(SCORE).min()).iter_rows()}

    def for_group(group: str | None, tier: str) -> Callable[[float], str]:
        cuts = [(t, lows[(group, t)]) for t in names if (group, t) in lows]
        return lambda score: next((t for t, low in cuts if score >= low), cuts[-1][0] if cuts else tier)
    return for_group


def apply_events(plan, result, events: list[Event], as_of: dt.date, *, cycle: int | None = None,  # noqa: ANN001
                 pack_hash: str) -> tuple[pl.DataFrame, list[EffectiveDecision]]:
    """The result table with each firm's decision on ``as_of`` after its events, and the changed decisions."""
    pack = plan.pack
    if pack.events is None:
        raise InputError(f"pack {pack.id} has no 'events' section: it defines no event types or rules",
                         location="--events")
    table = result.table
    known = set(table[ID_FIELD].to_list())
    if unknown := sorted({e.enterprise for e in events} - known):
        raise InputError(f"events name enterprises that are not in the input: {', '.join(unknown[:10])}"
                         + (f" … ({len(unknown)} in all)" if len(unknown) > 10 else ""), location="--events")
    firings = DurableDetector(pack.events, pack_hash, shards=8).detect(events, as_of)
    frame = result._run.frame  # noqa: SLF001 - the evaluation frame: the measure stage's inputs
    retier = _retier_for(plan, table)
    measure_names = list(pack.measures)
    by_firm: dict[str, list] = {}
    for firing in firings:
        by_firm.setdefault(firing.enterprise, []).append(firing)
    firms = set(by_firm)
    rows = {r[ID_FIELD]: r for r in table.filter(pl.col(ID_FIELD).is_in(list(firms))).iter_rows(named=True)}

    def remeasure_for(firm: str) -> Callable[[str, float | None], Mapping]:
        def remeasure(tier: str, score: float | None) -> Mapping:
            row = frame.filter(pl.col(ID_FIELD) == firm).with_columns(pl.lit(tier).alias(TIER), pl.lit(score, dtype=pl.Float64).alias(SCORE))
            done = apply_measures(row.lazy(), plan, None, cycle).collect()
            return {n: done[measure_col(n)][0] for n in measure_names}
        return remeasure

    fixed = set(frame.filter(pl.col(ID_FIELD).is_in(list(firms)) & ((pl.col(STATUS) != OK) | pl.col(VETO).is_not_null()))
                [ID_FIELD].to_list())  # a vetoed or scope-tiered firm: points do not re-tier it
    changed: list[EffectiveDecision] = []
    for firm in sorted(firms):
        row = rows[firm]
        base = BaseDecision(firm, row[TIER], row[SCORE], {n: row[measure_col(n)] for n in measure_names}, row[GROUP],
                            tier_from_score=firm not in fixed)
        decision = apply_firings(pack, base, by_firm[firm], as_of, retier=retier(row[GROUP], row[TIER]),
                                 remeasure=remeasure_for(firm))
        if decision.applied or decision.ended:
            changed.append(decision)
    return _updated(table, changed, measure_names), changed


def _updated(table: pl.DataFrame, changed: list[EffectiveDecision], measure_names: list[str]) -> pl.DataFrame:
    if not changed:
        return table.with_columns(pl.lit(None, dtype=pl.String).alias(EFFECTS))
    patch = pl.DataFrame({
        ID_FIELD: [d.enterprise for d in changed],
        "__tier": [d.tier for d in changed],
        "__score": [d.score for d in changed],
        **{f"__m.{n}": [d.measures.get(n) for d in changed] for n in measure_names},
        EFFECTS: ["; ".join(f"{a.rule}:{a.event_id} {a.from_}..{a.until or ''}" for a in d.applied) or None
                  for d in changed],
    }, schema_overrides={"__tier": pl.String, "__score": pl.Float64, EFFECTS: pl.String,
                         **{f"__m.{n}": table.schema[measure_col(n)] for n in measure_names}})
    joined = table.join(patch, on=ID_FIELD, how="left", maintain_order="left")
    hit = pl.col("__tier").is_not_null()
    return joined.with_columns(
        pl.when(hit).then(pl.col("__tier")).otherwise(pl.col(TIER)).alias(TIER),
        pl.when(hit).then(pl.col("__score")).otherwise(pl.col(SCORE)).alias(SCORE),
        *(pl.when(hit).then(pl.col(f"__m.{n}")).otherwise(pl.col(measure_col(n))).alias(measure_col(n))
          for n in measure_names),
    ).drop("__tier", "__score", *(f"__m.{n}" for n in measure_names))

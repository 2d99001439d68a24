"""Comparing two evaluations of the same data: headline, transitions, crossings, score distributions, measures.

Rows are compared by position: an evaluation's table has one row per input record, in input order, so
row *i* of OLD and row *i* of NEW are the same firm (the simulation checks the ids agree). Every
number here is counted from the engine's own result tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from mujun.simulate.measures import HEADLINE_KINDS, MeasureInfo, pick, yuan_factor
from mujun.simulate.model import (Crossing, Distributions, FirmMove, Headline, HeadlineMeasure, Histogram, ItemMove,
                                  MeasureTotals, TierAmount, TransitionMatrix, Transitions)
from mujun.simulate.runner import STATE, Side

__all__ = ["Groups", "tier_order", "state_changes", "count_of", "headline", "transitions", "crossings", "distributions", "measure_totals", "NO_GROUP"]

NO_GROUP = "—"


def tier_order(base: Side, cand: Side) -> list[str]:
    """OLD's tiers best first, then any tier only NEW has."""
    return list(dict.fromkeys([*base.tiers, *cand.tiers]))


@dataclass(frozen=True)
class Groups:
    """The tier group (county) of every firm as codes into ``names``, made once per simulation."""

    names: list[str]
    codes: np.ndarray

    @classmethod
    def of(cls, group: pl.Series) -> Groups:
        filled = group.cast(pl.String).fill_null(NO_GROUP)
        names = sorted(filled.unique().to_list())
        codes = filled.replace_strict({n: i for i, n in enumerate(names)}, return_dtype=pl.Int64).to_numpy()
        return cls(names, codes)


@dataclass(frozen=True)
class _Pair:
    """OLD's and NEW's states of every firm as codes into one vocabulary: the tiers in order, then the rest."""

    vocab: list[str]
    tiers: int
    before: np.ndarray
    after: np.ndarray


def _pair(base: Side, cand: Side) -> _Pair:
    order = tier_order(base, cand)
    vocab = list(dict.fromkeys([*order, *base.vocab, *cand.vocab]))
    index = {s: i for i, s in enumerate(vocab)}
    to_b = np.array([index[s] for s in base.vocab], dtype=np.int64)
    to_a = np.array([index[s] for s in cand.vocab], dtype=np.int64)
    return _Pair(vocab, len(order), to_b[base.codes], to_a[cand.codes])


def state_changes(base: Side, cand: Side) -> int:
    """Firms whose state differs between two evaluations of the same data."""
    pair = _pair(base, cand)
    return int((pair.before != pair.after).sum())


def count_of(side: Side, state: str) -> int:
    return int((side.codes == side.vocab.index(state)).sum()) if state in side.vocab else 0


def headline(base: Side, cand: Side, groups: Groups | None = None) -> Headline:
    """The numbers first read: tier changes up and down, the worst tier's count, the money and quota moved."""
    pair = _pair(base, cand)
    changed = pair.before != pair.after
    rated_b, rated_a = pair.before < pair.tiers, pair.after < pair.tiers
    moves = changed & rated_b & rated_a
    up, down = int((moves & (pair.after < pair.before)).sum()), int((moves & (pair.after > pair.before)).sum())
    changes = int(changed.sum())
    order = pair.vocab[:pair.tiers]
    before = dict(zip(pair.vocab, np.bincount(pair.before, minlength=len(pair.vocab)).tolist()))
    after = dict(zip(pair.vocab, np.bincount(pair.after, minlength=len(pair.vocab)).tolist()))
    worst = (cand.tiers or base.tiers or (None,))[-1]
    names = [] if groups is None else [groups.names[i] for i in np.unique(groups.codes[changed])]
    figures = _headline_measures(base, cand)
    surcharge = next((m for m in figures if m.kind == "electricity_surcharge" and m.reads == "total"
                      and yuan_factor(m.unit) is not None), None)
    factor = yuan_factor(surcharge.unit) if surcharge is not None else None
    return Headline(
        records=len(pair.before), rated_before=int(rated_b.sum()), rated_after=int(rated_a.sum()),
        tier_changes=changes, up=up, down=down, other_changes=changes - up - down,
        worst_tier=worst, worst_before=before.get(worst, 0), worst_after=after.get(worst, 0),
        worst_change=after.get(worst, 0) - before.get(worst, 0),
        tier_counts_before={t: before[t] for t in order}, tier_counts_after={t: after[t] for t in order},
        electricity_surcharge_before_yuan=surcharge.before * factor if surcharge else None,
        electricity_surcharge_after_yuan=surcharge.after * factor if surcharge else None,
        electricity_surcharge_change_yuan=surcharge.change * factor if surcharge else None,
        measures=figures, groups_changed=names)


def _by_tier(side: Side, info: MeasureInfo | None, reads: str) -> dict[str, float]:
    rows = side.amounts.get(info.column, []) if info is not None else []
    return {r.tier: float(r.total if reads == "total" else r.nonzero) for r in rows}


def _means(side: Side, info: MeasureInfo | None) -> dict[str, float | None]:
    return {r.tier: r.mean for r in (side.amounts.get(info.column, []) if info is not None else [])}


def _headline_measures(base: Side, cand: Side) -> list[HeadlineMeasure]:
    figures = []
    for kind in HEADLINE_KINDS:
        info = pick(cand.measures, kind) or pick(base.measures, kind)
        if info is None:
            continue
        reads = "total" if info.summable else "firms"
        old = next((m for m in base.measures if m.name == info.name), None)
        new = next((m for m in cand.measures if m.name == info.name), None)
        before, after = _by_tier(base, old, reads), _by_tier(cand, new, reads)
        total_before, total_after = sum(before.values()), sum(after.values())
        figures.append(HeadlineMeasure(kind=kind, measure=info.name, label=info.label, unit=info.unit, reads=reads,
                                       before=total_before, after=total_after, change=total_after - total_before,
                                       by_tier_before=before, by_tier_after=after,
                                       mean_by_tier_before=_means(base, old), mean_by_tier_after=_means(cand, new)))
    return figures


def _matrix(full: np.ndarray, keep: list[int], group: str | None) -> TransitionMatrix:
    counts = full[np.ix_(keep, keep)]
    return TransitionMatrix(group=group, firms=int(full.sum()), changes=int(full.sum() - np.trace(full)),
                            counts=counts.tolist())


def transitions(base: Side, cand: Side, groups: Groups | None) -> Transitions:
    """The from × to matrix of states, overall and per group (OLD's tier group, else NEW's). The states are
    the tiers in order, then the other states some firm is in."""
    pair = _pair(base, cand)
    size = len(pair.vocab)
    cell = pair.before * size + pair.after
    overall = np.bincount(cell, minlength=size * size).reshape(size, size)
    seen = (overall.sum(axis=0) + overall.sum(axis=1)) > 0
    keep = [i for i in range(size) if i < pair.tiers or seen[i]]
    by_group = []
    if groups is not None:
        per = np.bincount(groups.codes * size * size + cell, minlength=len(groups.names) * size * size)
        for g, full in enumerate(per.reshape(len(groups.names), size, size)):
            by_group.append(_matrix(full, keep, groups.names[g]))
    return Transitions(states=[pair.vocab[i] for i in keep], overall=_matrix(overall, keep, None), by_group=by_group)


def _number(value: object) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def crossings(base: Side, cand: Side, labels: dict[str, str | None], limit: int = 100) -> list[Crossing]:
    """The firms whose state changed, per (before, after), largest score change first, with the item whose
    points moved most (an item only one pack has counts as 0 points in the other)."""
    old, new = base.detail, cand.detail
    assert old is not None and new is not None, "crossings need the full detail of both sides"
    order = {t: i for i, t in enumerate(tier_order(base, cand))}
    pair = _pair(base, cand)
    moved = np.flatnonzero(pair.before != pair.after)
    if not len(moved):
        return []
    items = list(dict.fromkeys([*(c for c in old.columns if c.startswith("item.")),
                                *(c for c in new.columns if c.startswith("item."))]))
    idx = pl.Series(moved)

    def part(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
        cols = [pl.col(c).cast(pl.Float64).alias(c + suffix) if c in frame.columns else pl.lit(None, pl.Float64)
                .alias(c + suffix) for c in items]
        return frame[idx].select(pl.col("enterprise_id"), pl.col("group"), pl.col(STATE), pl.col("score"),
                                 pl.col("rank"), *cols).rename({c: c + suffix for c in
                                                                ("enterprise_id", "group", STATE, "score", "rank")})

    both = pl.concat([part(old, "_b"), part(new, "_a")], how="horizontal").with_columns(
        (pl.col("score_a").fill_null(0) - pl.col("score_b").fill_null(0)).abs().alias("__size"))
    if items:
        before = both.select([pl.col(c + "_b") for c in items]).to_numpy()
        after = both.select([pl.col(c + "_a") for c in items]).to_numpy()
        delta = np.nan_to_num(after, nan=0.0) - np.nan_to_num(before, nan=0.0)
        top = np.abs(delta).argmax(axis=1)
    found = []
    for (b, a), rows in sorted(both.with_row_index("__i").group_by("state_b", "state_a"),
                               key=lambda kv: (order.get(kv[0][0], 99), kv[0][0], order.get(kv[0][1], 99), kv[0][1])):
        direction = "other" if b not in order or a not in order else ("up" if order[a] < order[b] else "down")
        shown = rows.sort("__size", "enterprise_id_b", descending=[True, False], nulls_last=True).head(limit)
        firms = []
        for row in shown.iter_rows(named=True):
            move = None
            if items:
                i, k = row["__i"], int(top[row["__i"]])
                name = items[k].removeprefix("item.")
                move = ItemMove(item=name, label=labels.get(name), before=_number(before[i, k]),
                                after=_number(after[i, k]), change=float(delta[i, k]))
            firms.append(FirmMove(enterprise_id=row["enterprise_id_b"], group=row["group_b"] or row["group_a"],
                                  before=b, after=a, score_before=_number(row["score_b"]),
                                  score_after=_number(row["score_a"]), rank_before=row["rank_b"],
                                  rank_after=row["rank_a"], top_item=move))
        found.append(Crossing(before=b, after=a, direction=direction, count=rows.height, firms=firms,
                              truncated=rows.height > len(firms)))
    return found


def _nice_width(span: float, bins: int) -> float:
    raw = span / bins if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= raw)


def _rated_scores(side: Side) -> np.ndarray:
    """The scores of the firms the side rated (a tier, a finite score)."""
    assert side.detail is not None
    if "score" not in side.detail.columns:
        return np.array([])
    scores = side.detail["score"].cast(pl.Float64).to_numpy()
    keep = (side.codes < len(side.tiers)) & np.isfinite(scores)
    return scores[keep]


def distributions(base: Side, cand: Side, bins: int = 20) -> Distributions:
    """Histograms of the rated firms' scores on common, round bin edges (about ``bins`` of them)."""
    rated = [_rated_scores(base), _rated_scores(cand)]
    if not any(len(v) for v in rated):
        return Distributions(score=Histogram(edges=[], before=[], after=[]))
    low_value = min(float(v.min()) for v in rated if len(v))
    high_value = max(float(v.max()) for v in rated if len(v))
    width = _nice_width(high_value - low_value, bins)
    low = math.floor(low_value / width) * width
    count = max(1, math.ceil((high_value - low) / width + 1e-9))
    edges = np.round(low + width * np.arange(count + 1), 10)
    # each score's bin by arithmetic (the last bin holds its right edge): one pass, no search
    hist = [np.bincount(np.clip(np.floor((v - low) / width).astype(np.int64), 0, count - 1), minlength=count).tolist()
            for v in rated]
    means = [float(v.mean()) if len(v) else None for v in rated]
    return Distributions(score=Histogram(edges=edges.tolist(), before=hist[0], after=hist[1]),
                         score_mean_before=means[0], score_mean_after=means[1])


def measure_totals(base: Side, cand: Side) -> list[MeasureTotals]:
    """Every numeric measure of either pack, by state before and after (NEW's order, then OLD's extras)."""
    infos = {m.name: m for m in base.measures}
    infos.update({m.name: m for m in cand.measures})
    names = list(dict.fromkeys([*(m.name for m in cand.measures), *(m.name for m in base.measures)]))
    found = []
    for name in names:
        info = infos[name]
        before: list[TierAmount] = base.amounts.get(info.column, [])
        after: list[TierAmount] = cand.amounts.get(info.column, [])
        total_before, total_after = sum(r.total for r in before), sum(r.total for r in after)
        found.append(MeasureTotals(
            name=name, label=info.label, unit=info.unit, kind=info.kind, summable=info.summable,
            in_baseline=any(m.name == name for m in base.measures), in_candidate=any(m.name == name for m in cand.measures),
            before=before, after=after, total_before=total_before, total_after=total_after,
            change=total_after - total_before))
    return found

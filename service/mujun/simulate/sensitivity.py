"""Sensitivity of NEW: tier changes when each numeric parameter moves by ±step, and margins at the cut lines.

A number parameter moves by ``× (1 ± step)``; a table of numbers (one value per tier or county) moves as
a whole, every entry by the same factor. A parameter at 0 has no ±10 % and a table of words is no
number: both are listed as skipped. The counts are against NEW's own evaluation.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from mujun.pack import Pack
from mujun.packs.model import Pack as PackModel
from mujun.simulate.compare import count_of, headline, state_changes
from mujun.simulate.model import CutLine, MarginFirm, ParameterSensitivity
from mujun.simulate.runner import STATE, Side

__all__ = ["numeric_parameters", "overlays", "parameter_sensitivity", "cut_lines"]


def numeric_parameters(model: PackModel) -> tuple[dict[str, float | dict[str, float]], list[str]]:
    """The parameters that can move (name → value) and those that cannot, each with why."""
    movable: dict[str, float | dict[str, float]] = {}
    skipped = []
    for name, parameter in model.parameters.items():
        value = parameter.value
        if isinstance(value, dict):
            if not all(isinstance(v, (int, float)) for v in value.values()):
                skipped.append(f"{name}: a table of words")
            elif not any(value.values()):
                skipped.append(f"{name}: every entry is 0")
            else:
                movable[name] = {k: float(v) for k, v in value.items()}
        elif value == 0:
            skipped.append(f"{name}: 0 has no ±%")
        else:
            movable[name] = float(value)
    return movable, skipped


def _scaled(value: float | dict[str, float], factor: float) -> float | dict[str, float]:
    return {k: v * factor for k, v in value.items()} if isinstance(value, dict) else value * factor


def _overlay(name: str, value: float | dict[str, float]) -> dict[str, Any]:
    return {f"{name}.{k}": v for k, v in value.items()} if isinstance(value, dict) else {name: value}


def overlays(candidate: Pack, overrides: dict[str, Any], step: float) -> tuple[list[str], list[dict[str, Any]],
                                                                                 list[str]]:
    """Per movable parameter of NEW, its −step and +step overlays (on top of the ``--set`` ones)."""
    movable, skipped = numeric_parameters(candidate.model)
    names, runs = [], []
    for name, value in movable.items():
        names.append(name)
        for factor in (1 - step, 1 + step):
            runs.append({**overrides, **_overlay(name, _scaled(value, factor))})
    return names, runs, skipped


def _surcharge(side: Side) -> float | None:
    return headline(side, side).electricity_surcharge_after_yuan


def parameter_sensitivity(candidate: Pack, reference: Side, names: list[str], sides: list[Side],
                          step: float) -> list[ParameterSensitivity]:
    """One tornado bar per parameter: tier changes against NEW at −step and +step, largest first."""
    movable, _ = numeric_parameters(candidate.model)
    base_surcharge = _surcharge(reference)
    worst = (reference.tiers or ("",))[-1]
    base_worst = count_of(reference, worst)
    found = []
    for k, name in enumerate(names):
        low, high = sides[2 * k], sides[2 * k + 1]
        surcharges = [_surcharge(s) for s in (low, high)]
        parameter = candidate.model.parameters[name]
        found.append(ParameterSensitivity(
            parameter=name, label=parameter.label, unit=parameter.unit, value=movable[name],
            low=_scaled(movable[name], 1 - step), high=_scaled(movable[name], 1 + step),
            changes_low=state_changes(reference, low), changes_high=state_changes(reference, high),
            worst_change_low=count_of(low, worst) - base_worst, worst_change_high=count_of(high, worst) - base_worst,
            surcharge_change_low_yuan=None if base_surcharge is None or surcharges[0] is None else surcharges[0] - base_surcharge,
            surcharge_change_high_yuan=None if base_surcharge is None or surcharges[1] is None else surcharges[1] - base_surcharge))
    return sorted(found, key=lambda p: -(p.changes_low + p.changes_high))


def cut_lines(side: Side, nearest: int = 5) -> list[CutLine]:
    """For each group and each pair of adjacent tiers of NEW, the ``nearest`` firms on each side of the line.

    A firm above the line has margin = its score − the best score below (or the threshold): the points it
    may lose before it meets a firm of the lower tier; a firm below has its score − the lowest score above.
    Vetoed firms are not ranked on their score and are left out."""
    detail = side.detail
    assert detail is not None
    if "score" not in detail.columns or len(side.tiers) < 2:
        return []
    rated = detail.filter(pl.col(STATE).is_in(list(side.tiers)) & pl.col("score").is_not_null())
    if "vetoed" in rated.columns:
        rated = rated.filter(~pl.col("vetoed"))
    rated = rated.select(pl.col("group").fill_null("—"), "enterprise_id", STATE, pl.col("score").cast(pl.Float64))
    # per group and tier: the lowest and the highest ``nearest`` scores, and the tier's min and max
    lows = rated.sort("score", "enterprise_id").group_by("group", STATE, maintain_order=True).head(nearest)
    highs = rated.sort("score", "enterprise_id", descending=[True, False]).group_by(
        "group", STATE, maintain_order=True).head(nearest)
    bounds = {(g, t): (lo, hi) for g, t, lo, hi in rated.group_by("group", STATE).agg(
        pl.col("score").min().alias("lo"), pl.col("score").max().alias("hi")).iter_rows()}
    firms_low: dict[tuple[str, str], list[tuple[str | None, float]]] = {}
    columns = ("group", "enterprise_id", STATE, "score")
    for g, ident, tier, score in lows.select(columns).iter_rows():
        firms_low.setdefault((g, tier), []).append((ident, score))
    firms_high: dict[tuple[str, str], list[tuple[str | None, float]]] = {}
    for g, ident, tier, score in highs.select(columns).iter_rows():
        firms_high.setdefault((g, tier), []).append((ident, score))
    lines = []
    for group in sorted({g for g, _ in bounds}):
        for upper, lower in zip(side.tiers, side.tiers[1:]):
            if (group, upper) not in bounds or (group, lower) not in bounds:
                continue
            upper_min, lower_max = bounds[(group, upper)][0], bounds[(group, lower)][1]
            threshold = side.threshold_mins.get(upper)
            firms = [MarginFirm(enterprise_id=i, tier=upper, score=v,
                                margin=v - (threshold if threshold is not None else lower_max))
                     for i, v in firms_low[(group, upper)]]
            firms += [MarginFirm(enterprise_id=i, tier=lower, score=v,
                                 margin=v - (threshold if threshold is not None else upper_min))
                      for i, v in firms_high[(group, lower)]]
            lines.append(CutLine(group=group, upper=upper, lower=lower, upper_min=upper_min, lower_max=lower_max,
                                 threshold=threshold, firms=firms))
    return lines

"""Sensitivity of NEW: tier changes when each numeric parameter moves by ±step, and margins at the cut lines.

A number parameter moves by ``× (1 ± step)``; a table of numbers (one value per tier or county) moves as
a whole, every entry by the same factor. A parameter at 0 has no ±10 % and a table of words is no
number: both are listed as skipped. The counts are against NEW's own evaluation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from mujun.pack import Pack
from mujun.packs.model import Pack as PackModel
from mujun.simulate.compare import Groups, count_of, headline, state_changes
from mujun.simulate.model import CutLine, MarginFirm, ParameterSensitivity
from mujun.simulate.runner import Side

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
    """``value × factor`` to 12 significant digits (26.5067, not 26.506700000000002: an editor reads it)."""
    def scale(v: float) -> float:
        return float(f"{v * factor:.12g}")

    return {k: scale(v) for k, v in value.items()} if isinstance(value, dict) else scale(value)


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
    Vetoed firms are not ranked on their score and are left out. Equal scores are taken in input order."""
    detail = side.detail
    assert detail is not None
    if "score" not in detail.columns or len(side.tiers) < 2:
        return []
    scores = detail["score"].cast(pl.Float64).to_numpy()
    keep = (side.codes < len(side.tiers)) & np.isfinite(scores)
    if "vetoed" in detail.columns:
        keep &= ~detail["vetoed"].fill_null(False).to_numpy()
    groups = Groups.of(detail["group"])
    tiers = len(side.tiers)
    rows = np.flatnonzero(keep)
    frame = pl.DataFrame({"key": groups.codes[rows] * tiers + side.codes[rows].astype(np.int64), "score": scores[rows],
                          "row": rows})
    # per group and tier: the lowest and highest ``nearest`` (a selection, not a sort), ties in input order
    picked = frame.group_by("key").agg(
        pl.col("row").bottom_k_by(["score", "row"], nearest).alias("lows"),
        pl.col("row").top_k_by(["score", "row"], nearest, reverse=[False, True]).alias("highs"))
    runs = {key: ([int(i) for i in lows], [int(i) for i in highs]) for key, lows, highs in picked.iter_rows()}
    chosen = sorted({i for lows, highs in runs.values() for i in (*lows, *highs)})
    ids = dict(zip(chosen, detail["enterprise_id"].gather(chosen).to_list())) if chosen else {}
    lines = []
    for g, group in enumerate(groups.names):
        for t, (upper, lower) in enumerate(zip(side.tiers, side.tiers[1:])):
            above, below = runs.get(g * tiers + t), runs.get(g * tiers + t + 1)
            if above is None or below is None:
                continue
            upper_min, lower_max = float(scores[above[0][0]]), float(scores[below[1][0]])
            threshold = side.threshold_mins.get(upper)
            firms = [MarginFirm(enterprise_id=ids[i], tier=upper, score=float(scores[i]),
                                margin=float(scores[i]) - (threshold if threshold is not None else lower_max))
                     for i in above[0]]
            firms += [MarginFirm(enterprise_id=ids[i], tier=lower, score=float(scores[i]),
                                 margin=float(scores[i]) - (threshold if threshold is not None else upper_min))
                      for i in below[1]]
            lines.append(CutLine(group=group, upper=upper, lower=lower, upper_min=upper_min, lower_max=lower_max,
                                 threshold=threshold, firms=firms))
    return lines

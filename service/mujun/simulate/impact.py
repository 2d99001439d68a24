"""``simulate``: OLD and NEW evaluated on the same data, compared into an :class:`Impact` (report.json).

Order of work: OLD once (the cached baseline every comparison reads), NEW once, the comparison; then,
when asked, the sensitivity runs and the sweep points — many evaluations of NEW under overlays, run by
:func:`mujun.simulate.runner.run_sides`, each compared against the same OLD and NEW. A run whose pack
content is OLD's or NEW's reuses that evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import polars as pl

from mujun.errors import InputError
from mujun.pack import Pack
from mujun.simulate.compare import Groups, crossings, distributions, headline, measure_totals, transitions
from mujun.simulate.data import data_hash, narrowed, tables_of
from mujun.simulate.model import DataRef, Impact, Sensitivity, Sweep, SweepPoint
from mujun.simulate.runner import Inputs, Side, evaluate_side, pack_ref, run_sides
from mujun.simulate.sensitivity import cut_lines, overlays, parameter_sensitivity
from mujun.simulate.sweep import SweepSpec

__all__ = ["simulate"]


def _group(base: Side, cand: Side) -> Groups | None:
    """Each firm's group under OLD, else under NEW (a firm OLD could not rate may have one under NEW)."""
    old, new = base.detail, cand.detail
    if old is None or new is None or "group" not in old.columns:
        return None
    return Groups.of(old["group"] if "group" not in new.columns else old.select(
        pl.coalesce(pl.col("group"), new["group"])).to_series())


def _aligned(base: Side, cand: Side) -> None:
    old, new = base.detail, cand.detail
    assert old is not None and new is not None
    if old.height != new.height or not old["enterprise_id"].equals(new["enterprise_id"]):
        raise InputError("OLD and NEW results do not list the same firms in the same order; "
                         "they cannot be compared row by row")


def _as_number(value: Any) -> Any:
    """``--set`` gives text; the report records the number (a non-number is left for the pack to refuse)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _rows(value: Any) -> int | None:
    tables = tables_of(value)
    return sum(f.height for _, f in tables) if tables else None


def _run(pack: Pack, overlays: list[dict[str, Any]], known: dict[str, Side], inputs: Inputs,
         workers: int | None) -> tuple[list[Side], int]:
    """``pack`` under each overlay, and how many were evaluated: an overlay that gives OLD's or NEW's
    content reuses that evaluation."""
    packs = [pack.with_parameters(o) for o in overlays]
    todo = [i for i, p in enumerate(packs) if p.hash not in known]
    done = dict(zip(todo, run_sides([packs[i] for i in todo], inputs, [overlays[i] for i in todo],
                                    workers=workers))) if todo else {}
    return [done[i] if i in done else replace(known[p.hash], ref=pack_ref(p, overlays[i]))
            for i, p in enumerate(packs)], len(todo)


def simulate(baseline: Pack, candidate: Pack | None, data: Any, prior: Any = None, history: Any = None,
             cycle: int | None = None, *, overrides: dict[str, Any] | None = None, sweep: SweepSpec | None = None,
             sensitivity: bool = True, step: float = 0.1, prefer: Sequence[str] = (), workers: int | None = None,
             crossing_limit: int = 100, nearest: int = 5, files: dict[str, str] | None = None,
             timings: dict[str, float] | None = None) -> Impact:
    """The impact of NEW against OLD on ``data``. ``overrides`` (``--set``) apply to NEW, or with no NEW to a
    copy of OLD; ``sweep`` runs NEW at each value of one parameter; ``sensitivity`` moves each numeric
    parameter of NEW by ±``step``. ``workers``: processes for those runs (default 1: in this process, Polars
    using every core; see :func:`mujun.simulate.runner.run_sides`);
    ``timings``, when given, receives the seconds of each stage."""
    clock = timings if timings is not None else {}
    overrides = {name: _as_number(value) for name, value in (overrides or {}).items()}
    new_pack = (candidate or baseline).with_parameters(overrides)
    headers = baseline.input_headers | new_pack.input_headers
    data, prior = narrowed(data, headers), narrowed(prior, headers)
    inputs = Inputs(data, prior, history, cycle, tuple(prefer))

    started = time.perf_counter()
    base = evaluate_side(baseline, inputs, full=True)
    clock["baseline"] = time.perf_counter() - started
    started = time.perf_counter()
    # NEW with the same content as OLD (a sweep with no --set) is OLD's evaluation again: reuse it
    cand = replace(base, ref=pack_ref(new_pack, overrides)) if new_pack.hash == baseline.hash else \
        evaluate_side(new_pack, inputs, overrides, full=True)
    clock["candidate"] = time.perf_counter() - started

    started = time.perf_counter()
    _aligned(base, cand)
    group = _group(base, cand)
    labels = {name: item.label for pack in (baseline, new_pack) for name, item in pack.model.items.items()}
    notes = []
    if not baseline.model.tiers or not new_pack.model.tiers:
        notes.append("a pack without tiers: states are the records' statuses")
    impact = dict(
        baseline=base.ref, candidate=cand.ref,
        data=DataRef(hash=data_hash(data, prior, history, cycle, headers=headers), records=base.firms,
                     prior_records=_rows(prior),
                     history_records=_rows(history), cycle=cycle, files=dict(files or {})),
        headline=headline(base, cand, group), measures=measure_totals(base, cand),
        transitions=transitions(base, cand, group), crossings=crossings(base, cand, labels, crossing_limit),
        distributions=distributions(base, cand))
    clock["compare"] = time.perf_counter() - started

    runs: list[dict[str, Any]] = []
    names: list[str] = []
    skipped: list[str] = []
    if sensitivity:
        names, runs, skipped = overlays(new_pack, overrides, step)
    points = [{**overrides, sweep.parameter: value} for value in sweep.values] if sweep is not None else []
    started = time.perf_counter()
    sides, evaluated = _run(candidate or baseline, [*runs, *points], {base.ref.hash: base, cand.ref.hash: cand},
                            inputs, workers)
    clock["runs"] = time.perf_counter() - started
    clock["run_count"] = float(evaluated)

    started = time.perf_counter()
    impact["sensitivity"] = Sensitivity(
        step=step, parameters_moved=sensitivity,
        parameters=parameter_sensitivity(new_pack, cand, names, sides[:len(runs)], step) if sensitivity else [],
        skipped=skipped, lines=cut_lines(cand, nearest))
    if sweep is not None:
        parameter = new_pack.model.parameters.get(sweep.parameter.partition(".")[0])
        impact["sweep"] = Sweep(
            parameter=sweep.parameter, label=parameter.label if parameter else None,
            unit=parameter.unit if parameter else None,
            points=[SweepPoint(value=value, pack_hash=side.ref.hash, headline=headline(base, side, group))
                    for value, side in zip(sweep.values, sides[len(runs):])])
    clock["report"] = time.perf_counter() - started
    return Impact(**impact, notes=notes)

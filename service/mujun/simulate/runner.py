"""Evaluations a simulation needs, each reduced to a :class:`Side`; many of them in this process or on a pool.

A side keeps a firm's *state* (its tier when rated, else its status) and its measures' figures by state;
the two sides a report compares in detail also keep scores, ranks and item points. Sweeps and the
sensitivity runs evaluate one pack under many parameter overlays against the same data: in this process
(Polars spreads each evaluation over the cores), or with ``workers`` > 1 on a pool of processes (spawned:
a forked Polars may deadlock), each reading the data once from a temporary pickle; the main process keeps
the one cached baseline evaluation they are all compared against. A script that simulates with workers
needs the usual ``if __name__ == "__main__":`` guard (spawned workers import the main module).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from mujun.engine.result import Result
from mujun.pack import Pack
from mujun.packs.load import PackSource
from mujun.simulate.measures import MeasureInfo, headline_measures, measure_infos, tier_amounts
from mujun.simulate.model import PackRef, TierAmount

__all__ = ["Inputs", "Side", "EXTRA_STATES", "evaluate_side", "run_sides", "pack_ref", "default_workers", "STATE"]

STATE = "state"
_DETAIL_FIXED = ("enterprise_id", "group", "score", "rank")
_VETO = "__veto"


@dataclass(frozen=True)
class Inputs:
    """The data every evaluation of one simulation reads."""

    data: Any
    prior: Any = None
    history: Any = None
    cycle: int | None = None
    prefer: tuple[str, ...] = ()


#: States besides the tiers, in this order after them: not rated, failed, and anything else.
EXTRA_STATES = ("unrated", "error", "—")


@dataclass(frozen=True)
class Side:
    """One evaluation, reduced to what a comparison reads (``detail`` only for the two sides compared in full).

    ``codes[i]`` is firm *i*'s state as an index into ``vocab`` (the pack's tiers, then ``EXTRA_STATES``):
    comparisons over a million firms are then array operations."""

    ref: PackRef
    tiers: tuple[str, ...]
    measures: tuple[MeasureInfo, ...]
    vocab: tuple[str, ...]
    codes: np.ndarray
    amounts: dict[str, list[TierAmount]]
    detail: pl.DataFrame | None = None
    threshold_mins: dict[str, float] = field(default_factory=dict)

    @property
    def firms(self) -> int:
        return len(self.codes)


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pack_ref(pack: Pack, overrides: dict[str, Any] | None = None) -> PackRef:
    return PackRef(id=pack.id, version=pack.version, title=pack.title, hash=pack.hash, overrides=dict(overrides or {}))


_STATE_EXPR = pl.when(pl.col("status") == "ok").then(pl.col("tier")).otherwise(pl.col("status")).fill_null("—")


def _codes(table: pl.DataFrame, vocab: tuple[str, ...]) -> np.ndarray:
    index = {state: i for i, state in enumerate(vocab)}
    return table.select(_STATE_EXPR.replace_strict(index, default=index["—"], return_dtype=pl.UInt8)).to_series().to_numpy()


def side_of(pack: Pack, result: Result, overrides: dict[str, Any] | None, *, full: bool) -> Side:
    """Reduce an evaluation: the state of every firm, the measures by state, and (``full``) the detail."""
    table = result.table
    measures = tuple(measure_infos(pack.model))
    tiers_model = pack.model.tiers
    tiers = tuple(tiers_model.tier_names()) if tiers_model is not None else ()
    vocab = (*tiers, *(s for s in EXTRA_STATES if s not in tiers))
    codes = _codes(table, vocab)
    # a light side (a sweep point, a sensitivity run) feeds a headline only: its measures alone
    counted = measures if full else headline_measures(measures)
    amounts = tier_amounts(table, codes, vocab, [m.column for m in counted])
    thresholds = {t.tier: t.min for t in tiers_model.thresholds if t.min is not None} \
        if tiers_model is not None and tiers_model.method == "thresholds" else {}
    detail = None
    if full:
        keep = [c for c in _DETAIL_FIXED if c in table.columns] + [c for c in table.columns if c.startswith("item.")]
        detail = table.select(keep).with_columns(pl.Series(STATE, vocab).gather(codes))
        facts = result.facts()
        if _VETO in facts.columns:
            detail = detail.with_columns(facts[_VETO].is_not_null().alias("vetoed"))
    return Side(pack_ref(pack, overrides), tiers, measures, vocab, codes, amounts, detail, thresholds)


def evaluate_side(pack: Pack, inputs: Inputs, overrides: dict[str, Any] | None = None, *, full: bool = False) -> Side:
    result = pack.evaluate(inputs.data, prior=inputs.prior, history=inputs.history, cycle=inputs.cycle,
                           prefer=inputs.prefer)
    return side_of(pack, result, overrides, full=full)


def _source(pack: Pack) -> PackSource:
    """What a worker process needs to rebuild the pack (its model, not its YAML: overlays may have changed it)."""
    return PackSource(model=pack.model, text=pack.text, hash=pack.hash, path=pack.path)


@functools.lru_cache(maxsize=1)
def _worker_inputs(path: str) -> Inputs:
    """The data, read once per worker process from the pickle the main process wrote."""
    return pickle.loads(Path(path).read_bytes())


def _run_one(path: str, source: PackSource, shown: dict[str, Any]) -> Side:
    return evaluate_side(Pack(source), _worker_inputs(path), shown)


def run_sides(packs: Sequence[Pack], inputs: Inputs, shown: Sequence[dict[str, Any]], *,
              workers: int | None = None) -> list[Side]:
    """Each pack evaluated on the inputs, as light sides in order; ``shown`` is what each side's PackRef
    records as its overrides. ``workers``: processes, one Polars thread pool each sharing the cores
    (default 1: in this process, where Polars already uses every core — measured faster on this
    project's 2-core machines: benchmarks/test_bench_simulate.py)."""
    workers = min(workers or 1, len(packs))
    if workers <= 1:
        return [evaluate_side(pack, inputs, s) for pack, s in zip(packs, shown)]
    with tempfile.TemporaryDirectory(prefix="mujun-simulate-") as folder:
        path = os.path.join(folder, "inputs.pickle")
        Path(path).write_bytes(pickle.dumps(inputs, protocol=pickle.HIGHEST_PROTOCOL))
        # each worker's Polars gets its share of the cores instead of all of them
        threads = str(max(1, default_workers() // workers))
        with _environment(POLARS_MAX_THREADS=threads):
            pool = multiprocessing.get_context("spawn").Pool(processes=workers)
        with pool:
            sides = pool.starmap(_run_one, [(path, _source(p), dict(s)) for p, s in zip(packs, shown)], chunksize=1)
    return sides


class _environment:
    """Environment variables set while worker processes start (they inherit them), then put back."""

    def __init__(self, **values: str):
        self._values = values
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self._values.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

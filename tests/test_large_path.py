"""A large table takes another road (streaming engine, prior year on its own thread, lazy selects);
it must arrive at exactly the result the small-table road gives for the same data, for every pack."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import mujun
from mujun.engine import columns, evaluate
from mujun.synth import generate

N = 60_000  # above every large-table threshold
PACKS = sorted(p.id for p in mujun.list_packs())


@pytest.fixture(scope="module")
def county_pair():
    return generate(N, regions=30, seed=7)


def _fed(pack: mujun.Pack, table: pl.DataFrame) -> pl.DataFrame:
    """The synthetic table plus any field this pack reads that the generator does not write: text
    fields cycle through their allowed values (or the pack's tiers), numbers through 0.1 … 9.7."""
    row = np.arange(table.height)
    extra = {}
    for spec in pack.plan.inputs.values():
        if spec.name in table.columns:
            continue
        if spec.type == "string":
            values = list(spec.allowed or pack.plan.tier_names or ["x"])
            extra[spec.name] = pl.Series(values).gather(row % len(values))
        elif spec.type == "number":
            extra[spec.name] = pl.Series(0.1 * (1 + row % 97), dtype=pl.Float64)
    return table.with_columns(**extra)


@pytest.mark.parametrize("pack_id", PACKS)
def test_large_table_road_gives_the_small_table_result(county_pair, pack_id, monkeypatch):
    assert N >= max(evaluate.STREAMING_ROWS, evaluate._THREAD_PRIOR_ROWS, columns.SMALL_ROWS)
    pack = mujun.load_pack(pack_id)
    current, prior = (_fed(pack, t) for t in county_pair)
    large = pack.evaluate(current, prior=prior, cycle=2024).table
    with monkeypatch.context() as patch:  # every threshold above N: the road a small county takes
        patch.setattr(evaluate, "STREAMING_ROWS", 10 * N)
        patch.setattr(evaluate, "_THREAD_PRIOR_ROWS", 10 * N)
        patch.setattr(columns, "SMALL_ROWS", 10 * N)
        small = pack.evaluate(current, prior=prior, cycle=2024).table
    assert large.height == N and (large["status"] == "ok").sum() > N // 10
    assert_frame_equal(large, small)


def test_a_bad_prior_year_fails_the_same_way_on_its_thread(county_pair):
    current, prior = county_pair
    with pytest.raises(mujun.errors.InputError, match="land_mu"):
        mujun.load_pack("js-huaian-2024").evaluate(current, prior=prior.drop("land_mu"))

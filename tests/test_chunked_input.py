"""A table concatenated from pieces (several chunks per column) scores exactly as the same table in one piece.

Polars panicked (a PanicException, not an error) in the checks' messages of such a frame under packs
with an ``allowed`` list, e.g. ah-minmax; appeals build their cohort that way.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import mujun
from mujun.synth import generate


@pytest.mark.parametrize("pack_id", ["ah-minmax", "js-huaian-2024"])
def test_a_table_in_pieces_scores_as_the_whole_table(pack_id):
    data, prior = generate(120, 1, 5)
    pieces = pl.concat([data.slice(0, 40), data.slice(40, 1), data.slice(41)], rechunk=False)
    assert pieces.n_chunks() > 1
    pack = mujun.load_pack(pack_id)
    assert_frame_equal(pack.evaluate(pieces, prior=prior).table, pack.evaluate(data, prior=prior).table)

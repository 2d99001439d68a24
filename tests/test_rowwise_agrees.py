"""The few-record row path agrees with the vectorized frozen stages, column by column and trace by trace.

Every bundled pack a frozen context covers is scored both ways against its own frozen county, on
records with the faults bureaus send (missing and negative values, padded or aliased text, unknown
codes, flags by their Chinese names). Numbers may differ in the last bits only: Polars computes
``x / literal`` as ``x * (1 / literal)``, the row interpreter divides (as the reference does).
"""

from __future__ import annotations

import math
import random
from typing import Any

import polars as pl
import pytest

import mujun
from mujun.engine.frozen import FrozenContext
from mujun.engine.rowwise import ROWWISE_MAX_RECORDS, row_path_refusal, score_against
from mujun.synth import generate

YEAR = 2024
REL = 1e-12


def _with_pack_inputs(plan, table: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """Columns for the pack's own inputs that synthetic records lack (a kind, a tier given as input …)."""
    added = {}
    for name, spec in plan.inputs.items():
        if name in table.columns:
            continue
        if spec.type == "number":
            added[name] = [round(rng.lognormvariate(1, 1), 3) for _ in range(table.height)]
        else:
            words = list(spec.allowed or (plan.tier_names if name == "tier" else ["a", "b"]))
            added[name] = [rng.choice(words) for _ in range(table.height)]
    return table.with_columns(pl.Series(k, v) for k, v in added.items())


def _faulty(plan, record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One record with a few faults drawn from what bureaus send."""
    record = dict(record)
    names = [n for n in plan.inputs if n != "enterprise_id"]
    for name in rng.sample(names, k=min(len(names), rng.randint(0, 3))):
        spec, value = plan.inputs[name], record.get(name)
        fault = rng.random()
        if fault < 0.3:
            record[name] = None
        elif spec.type == "number" and value is not None:
            record[name] = rng.choice([-abs(value), 0.0, value * 1e6, value / 7])
        elif spec.type == "string" and value is not None:
            record[name] = rng.choice([f"  {value} ", "", "unknown-code", value.upper()])
        elif spec.type == "flags":
            record[name] = rng.choice([["重大安全生产事故"], ["high_tech", "env_violation"], []])
    return record


def _packs() -> list[str]:
    found = []
    for pack in mujun.list_packs():
        context = _frozen(pack.id)[1]
        if not context.unsupported:
            found.append(pack.id)
    return found


_CACHE: dict[str, tuple] = {}


def _frozen(pack_id: str):
    """(pack, context of its frozen synthetic county, the county's records)."""
    if pack_id not in _CACHE:
        pack = mujun.load_pack(pack_id)
        rng = random.Random(pack_id)
        data, prior = generate(160, 2, 5, bad_fraction=0.05)
        data, prior = (_with_pack_inputs(pack.plan, t, rng) for t in (data, prior))
        result = pack.evaluate(data, prior=prior, cycle=YEAR)
        _CACHE[pack_id] = pack, FrozenContext.build(pack.plan, result, region="320102", year=YEAR), data
    return _CACHE[pack_id]


def _same(got: Any, want: Any, where: str) -> None:
    if isinstance(got, float) and isinstance(want, float):
        assert math.isclose(got, want, rel_tol=REL, abs_tol=REL), (where, got, want)
    elif isinstance(got, dict) and isinstance(want, dict):
        assert list(got) == list(want), (where, set(got) ^ set(want))
        for key in got:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(got, list) and isinstance(want, list):
        assert len(got) == len(want), (where, got, want)
        for i, (a, b) in enumerate(zip(got, want)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert got == want, (where, got, want)


PACKS = _packs()


def test_most_bundled_packs_are_covered():
    """The packs a frozen context cannot stand in for read their cohort's spread (min–max, cohort means)."""
    assert len(PACKS) >= 15, PACKS


@pytest.mark.parametrize("pack_id", PACKS)
def test_row_path_agrees_with_the_vectorized_frozen_stages(pack_id):
    pack, context, data = _frozen(pack_id)
    rng = random.Random(f"{pack_id}/records")
    records = [_faulty(pack.plan, r, rng) for r in data.sample(ROWWISE_MAX_RECORDS, seed=1).to_dicts()]
    assert row_path_refusal(pack.plan, records) is None
    rows = score_against(pack.plan, context, records, rowwise=True)
    vectorized = score_against(pack.plan, context, records, rowwise=False)
    assert (rows.path, vectorized.path) == ("rowwise", "vectorized")
    statuses = set()
    for got, want in zip(rows.rows, vectorized.rows, strict=True):
        _same(got, want, f"{pack_id}/{want['enterprise_id']}")
        statuses.add(want["status"])
    assert "ok" in statuses
    if any(s.require != "optional" for n, s in pack.plan.inputs.items() if n != "enterprise_id"):
        assert "error" in statuses  # the faults reached the records
    for record in records[:12]:
        ident = record["enterprise_id"]
        _same(rows.explain(ident), vectorized.explain(ident), f"{pack_id}/{ident}/trace")
    for got, want in zip(rows.facts, vectorized.facts, strict=True):
        _same({k: got[k] for k in sorted(want)}, {k: want[k] for k in sorted(want)}, f"{pack_id}/facts")


def test_the_row_path_leaves_what_it_does_not_cover_to_the_vectorized_stages():
    pack, context, data = _frozen("js-huaian-2024")
    records = data.head(2).to_dicts()
    assert row_path_refusal(pack.plan, records * 2) == "a repeated enterprise id"
    assert "records" in row_path_refusal(pack.plan, data.head(ROWWISE_MAX_RECORDS + 1).to_dicts())
    assert row_path_refusal(pack.plan, [{**records[0], "tax_wan": "12"}]) == "tax_wan is not given as a number"
    assert score_against(pack.plan, context, records * 2).path == "vectorized"

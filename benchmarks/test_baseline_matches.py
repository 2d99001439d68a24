"""The numpy baseline computes what the engine computes, or the speed comparison means nothing.

Two checks: the baseline against a plain row-by-row Python reading of the pack (small tables, so a
mistake in the vectorized baseline shows up on its own), then the engine against the baseline on
generated data at 10k and 100k.  Status, tier and rank must be identical, numbers within 1e-9.
"""

from __future__ import annotations

import math
from collections import defaultdict

import polars as pl
import pytest

import baseline_numpy
from mujun.synth import generate

TOLERANCE = 1e-9
NUMBERS = ["score", "item.tax", "item.revenue", "item.energy", "measure.electricity_surcharge_yuan_per_kwh",
           "measure.electricity_surcharge_yuan", "measure.land_tax_reduction_pct"]
INDICATORS = ["indicator.tax_per_mu", "indicator.revenue_per_mu", "indicator.tax_per_energy"]


def _status(row: dict, duplicated: set) -> str:
    land = row["land_mu"]
    if (land is None or land <= 0 or row["tax_wan"] is None or row["revenue_wan"] is None or row["region"] is None
            or row["enterprise_id"] in duplicated):
        return "error"
    return "unrated" if row["years_in_production"] < 2 else "ok"


def _indicators(row: dict) -> dict:
    energy = row["energy_tce"]
    if energy is None and row["electricity_kwh"] is not None:
        energy = row["electricity_kwh"] * 1.229e-4
    return {"tax_per_mu": row["tax_wan"] / row["land_mu"], "revenue_per_mu": row["revenue_wan"] / row["land_mu"],
            "tax_per_energy": None if not energy else row["tax_wan"] / energy}


def _rated(table: pl.DataFrame) -> list[dict]:
    rows = table.to_dicts()
    counts = defaultdict(int)
    for row in rows:
        counts[row["enterprise_id"]] += 1
    duplicated = {i for i, c in counts.items() if c > 1}
    for row in rows:
        row["status"] = _status(row, duplicated)
        if row["status"] != "error":
            row.update(_indicators(row))
    return rows


def _means(rows: list[dict]) -> dict:
    values = defaultdict(list)
    for row in rows:
        if row["status"] == "ok":
            for name in ("tax_per_mu", "revenue_per_mu", "tax_per_energy"):
                if row[name] is not None:
                    values[row["region"], name].append(row[name])
    return {key: sum(v) / len(v) for key, v in values.items()}


def reference(current: pl.DataFrame, prior: pl.DataFrame) -> dict[int, dict]:
    """The pack read literally, one row at a time: {row index: status, score, tier, rank}."""
    rows, prior_means = _rated(current), _means(_rated(prior))
    current_means = _means(rows)
    weights = {"tax_per_mu": 45, "revenue_per_mu": 35, "tax_per_energy": 20}
    pool = defaultdict(list)
    out = {}
    for index, row in enumerate(rows):
        out[index] = {"status": row["status"], "score": None, "tier": None, "rank": None}
        if row["status"] != "ok":
            continue
        score = 0.0
        for name, weight in weights.items():
            mean = prior_means.get((row["region"], name), current_means.get((row["region"], name)))
            bm = None if mean is None else 2 * mean
            if row[name] is not None and bm is not None and bm > 0:
                score += weight * max(0.0, min(row[name] / bm, 1.0))
        out[index]["score"] = score
        if {"env_violation", "safety_accident"} & set(row["flags"]):
            out[index]["tier"] = "D"
        else:
            pool[row["region"]].append((-score, -row["tax_per_mu"], -row["revenue_wan"], row["enterprise_id"], index))
    for members in pool.values():
        members.sort()
        cuts = [math.floor(share * len(members) + 0.5) for share in (0.2, 0.6, 0.95)]
        for rank, member in enumerate(members, start=1):
            out[member[-1]]["rank"] = rank
            out[member[-1]]["tier"] = "ABCD"[sum(rank > cut for cut in cuts)]
    return out


def assert_same(expected: pl.DataFrame, actual: pl.DataFrame) -> None:
    """Identical status, tier and rank; numbers within TOLERANCE (relative for large ones)."""
    assert actual.height == expected.height
    assert actual["enterprise_id"].to_list() == expected["enterprise_id"].to_list()
    for name in ("status", "tier"):
        assert actual[name].cast(pl.String).to_list() == expected[name].cast(pl.String).to_list(), name
    assert actual["rank"].cast(pl.Int64).to_list() == expected["rank"].cast(pl.Int64).to_list()
    ok = expected["status"] == "ok"
    for name in NUMBERS + INDICATORS:
        a, e = actual[name].filter(ok).cast(pl.Float64), expected[name].filter(ok)
        assert (a.is_null() == e.is_null()).all(), name
        gap = ((a - e).abs() / e.abs().clip(lower_bound=1.0)).max()
        assert gap is None or gap <= TOLERANCE, (name, gap)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numpy_baseline_matches_a_row_by_row_reading_of_the_pack(seed):
    current, prior = generate(3_000, regions=4, seed=seed, bad_fraction=0.05)
    expected = reference(current, prior)
    actual = baseline_numpy.evaluate(current, prior).to_dicts()
    for index, want in expected.items():
        got = actual[index]
        assert (got["status"], got["tier"], got["rank"]) == (want["status"], want["tier"], want["rank"]), index
        assert (got["score"] is None) == (want["score"] is None)
        if want["score"] is not None:
            assert abs(got["score"] - want["score"]) <= TOLERANCE


def test_numpy_baseline_breaks_exact_ties_by_enterprise_id():
    current, prior = generate(200, regions=1, seed=5, bad_fraction=0.0)
    firm = current.head(1).with_columns(years_in_production=pl.lit(10, dtype=pl.Int64),
                                        flags=pl.lit([], dtype=pl.List(pl.String)))
    twins = pl.concat([firm.with_columns(enterprise_id=pl.lit(f"Z{i}")) for i in (3, 1, 2)])
    current = pl.concat([current, twins])
    result = baseline_numpy.evaluate(current, prior).tail(3)
    ranks = dict(zip(result["enterprise_id"], result["rank"]))
    assert ranks["Z1"] < ranks["Z2"] < ranks["Z3"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("n", [10_000, 100_000])
def test_engine_matches_numpy_baseline(pack, n):
    current, prior = generate(n, regions=max(10, n // 2_000), seed=11)
    assert_same(baseline_numpy.evaluate(current, prior), pack.evaluate(current, prior=prior).table)


def test_engine_matches_numpy_baseline_without_prior_year(pack):
    current, _ = generate(10_000, regions=10, seed=12)
    assert_same(baseline_numpy.evaluate(current), pack.evaluate(current).table)

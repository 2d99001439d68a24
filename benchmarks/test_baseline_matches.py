"""The numpy baseline computes what the engine computes, or the speed comparison means nothing.

Three checks: the baseline against a plain row-by-row Python reading of the pack (small tables, so a
mistake in the vectorized baseline shows up on its own); the engine against the baseline on every cell
of every column both publish, on generated data at 10k and 100k with the cases the generator never
makes added (bonus flags, zero energy in both years); and the pinned pack content hash, so any edit of
rules/js-huaian-2024/pack.yaml fails here until the baselines (numpy, Zen) have been brought along.
Status, tier, rank and labels must be identical, numbers within 1e-9.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict

import numpy as np
import polars as pl
import pytest

import baseline_numpy
import baseline_zen
from mujun.synth import generate

TOLERANCE = 1e-9
#: sha256 of the pack text the baselines were written against (rules/js-huaian-2024/pack.yaml: 2024.2 with its
#: in-year events: section, which a batch evaluation does not read).
PACK_SHA256 = "4ae01e38667baedbe951f5e71c8784f95129ac2245b77987595548b5c6eb8235"
BONUSES = {"bonus_safety_production": 2.0, "bonus_energy_carbon": 2.0, "bonus_innovation": 3.0}
#: Published columns the baseline does not reproduce (its own hash, by design).
NOT_COMPARED = {"pack_hash"}
#: Compared by the field an error names (the text before the colon): the engine's message adds the value.
BY_FIELD = {"error"}


def with_pack_cases(table: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The generated year with what ``mujun.synth`` never produces but the pack scores: each bonus flag on
    ~5 % of rows (some beside a veto), zero energy (tce 0, or no tce and 0 kWh) on ~1 % each, and zero
    energy with zero tax on a few rows (no full points: the zero rule needs a positive tax)."""
    rng = np.random.default_rng(seed)
    n = table.height
    extra = [[flag for flag in BONUSES if rng.random() < 0.05] for _ in range(n)]
    pick = rng.random(n)
    zero_tce, zero_kwh, zero_both = pick < 0.01, (pick >= 0.01) & (pick < 0.02), (pick >= 0.02) & (pick < 0.022)
    return table.with_columns(
        flags=pl.Series([list(f or []) + e for f, e in zip(table["flags"].to_list(), extra)], dtype=pl.List(pl.String)),
        energy_tce=pl.when(pl.Series(zero_tce | zero_both)).then(0.0)
        .when(pl.Series(zero_kwh)).then(None).otherwise(pl.col("energy_tce")),
        electricity_kwh=pl.when(pl.Series(zero_kwh)).then(0.0).otherwise(pl.col("electricity_kwh")),
        tax_wan=pl.when(pl.Series(zero_both)).then(0.0).otherwise(pl.col("tax_wan")),
    )


def pack_data(n: int, regions: int, seed: int, **options) -> tuple[pl.DataFrame, pl.DataFrame]:
    current, prior = generate(n, regions=regions, seed=seed, **options)
    return with_pack_cases(current, seed), with_pack_cases(prior, seed + 1)


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
            "energy": energy, "tax_per_energy": None if not energy else row["tax_wan"] / energy,
            "energy_full": energy == 0 and row["tax_wan"] > 0}


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


#: indicator → (numerator, denominator) of its county benchmark (reading: ratio_of_sums)
_SUMS = {"tax_per_mu": ("tax_wan", "land_mu"), "revenue_per_mu": ("revenue_wan", "land_mu"),
         "tax_per_energy": ("tax_wan", "energy")}


def _ratios(rows: list[dict]) -> dict:
    sums = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        if row["status"] == "ok":
            for name, (top, bottom) in _SUMS.items():
                if row[name] is not None:
                    sums[row["region"], name][0] += row[top]
                    sums[row["region"], name][1] += row[bottom]
    return {key: t / b for key, (t, b) in sums.items() if b != 0}


def reference(current: pl.DataFrame, prior: pl.DataFrame) -> dict[int, dict]:
    """The pack read literally, one row at a time: {row index: status, score, tier, rank}."""
    rows, prior_means = _rated(current), _ratios(_rated(prior))
    current_means = _ratios(rows)
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
            if name == "tax_per_energy" and row["energy_full"]:
                score += weight
            elif row[name] is not None and bm is not None and bm > 0:
                score += weight * max(0.0, min(row[name] / bm, 1.0))
        score += sum(points for flag, points in BONUSES.items() if flag in row["flags"])
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
    """Every published column on every row: the same columns in the same order, identical strings and
    integers and nulls, floats within TOLERANCE (relative for large ones)."""
    assert [c for c in actual.columns if c not in NOT_COMPARED] == [c for c in expected.columns if c not in NOT_COMPARED]
    assert actual.height == expected.height
    for name in expected.columns:
        if name in NOT_COMPARED:
            continue
        a, e = actual[name], expected[name]
        if e.dtype == pl.Float64:
            a = a.cast(pl.Float64)
            assert (a.is_null() == e.is_null()).all(), name
            gap = ((a - e).abs() / e.abs().clip(lower_bound=1.0)).max()
            assert gap is None or gap <= TOLERANCE, (name, gap)
        else:
            cast = pl.Int64 if e.dtype.is_integer() else pl.String
            if name in BY_FIELD:
                a, e = (x.str.split(":").list.first() for x in (a, e))
            assert (a.cast(cast) == e.cast(cast)).fill_null(a.is_null() & e.is_null()).all(), name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numpy_baseline_matches_a_row_by_row_reading_of_the_pack(seed):
    current, prior = pack_data(3_000, regions=4, seed=seed, bad_fraction=0.05)
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


def test_baselines_are_written_against_the_bundled_pack(pack):
    """Any edit of the pack fails here: bring baseline_numpy (and baseline_zen's model) along, then the hash."""
    assert (pack.version, hashlib.sha256(pack.text.encode()).hexdigest()) == (baseline_numpy.PACK_VERSION, PACK_SHA256)


def test_generated_data_carries_the_cases_the_pack_scores(pack):
    """The comparison below would pass vacuously if no row had a bonus or a zero denominator."""
    current, prior = pack_data(10_000, regions=10, seed=11)
    table = pack.evaluate(current, prior=prior).table.filter(pl.col("status") == "ok")
    assert all((table[f"adjust.{name}"] > 0).sum() > 100 for name in ("bonus_safety", "bonus_energy_carbon",
                                                                     "bonus_innovation"))
    assert ((table["item.energy"] == 20) & table["indicator.tax_per_energy"].is_null()).sum() > 100


@pytest.mark.timeout(600)
@pytest.mark.parametrize("n", [10_000, 100_000])
def test_engine_matches_numpy_baseline(pack, n):
    current, prior = pack_data(n, regions=max(10, n // 2_000), seed=11)
    assert_same(baseline_numpy.evaluate(current, prior), pack.evaluate(current, prior=prior).table)


def test_engine_matches_numpy_baseline_without_prior_year(pack):
    current, _ = pack_data(10_000, regions=10, seed=12)
    assert_same(baseline_numpy.evaluate(current), pack.evaluate(current).table)


def test_engine_matches_numpy_baseline_on_the_benchmark_data(pack):
    """The very tables test_bench_evaluate times (mujun.synth as generated, seed 2024), at 100k."""
    from conftest import SEED, regions_for

    current, prior = generate(100_000, regions_for(100_000), SEED)
    assert_same(baseline_numpy.evaluate(current, prior), pack.evaluate(current, prior=prior).table)


def test_zen_model_scores_as_the_pack_does():
    """Zen's own expressions (items, zero-energy full points, bonuses) give the exact scores; its tiers
    differ from the exact ones only where a score tie straddles a cut (see baseline_zen)."""
    current, prior = pack_data(3_000, regions=4, seed=4)
    inputs, rated = baseline_zen.contexts(current, prior)
    results, _ = baseline_zen.evaluate_batch(inputs)
    outcome = baseline_zen.agreement(results, rated)
    assert outcome["max_score_gap"] <= 1e-9
    assert outcome["tier_agreement"] >= 0.999

"""A frozen cycle's context: what it keeps, its JSON, and that a firm scored against it gets the tier a
full re-run of its county would give it wherever the firm's change leaves the cohort statistics alone."""

from __future__ import annotations

import random

import polars as pl
import pytest

import mujun
from mujun.engine.frozen import FrozenContext, FrozenContextError, OrderKey, precedes, score_frozen
from mujun.engine.rowwise import score_against
from mujun.synth import generate

YEAR, REGION = 2024, "320102"


@pytest.fixture(scope="module")
def county():
    pack = mujun.load_pack("js-huaian-2024")
    data, prior = generate(300, 1, 17, bad_fraction=0.02)
    result = pack.evaluate(data, prior=prior, cycle=YEAR)
    return pack, data, prior, result, FrozenContext.build(pack.plan, result, region=REGION, year=YEAR)


def test_the_context_keeps_each_cohort_benchmark_with_its_size(county):
    pack, _, _, result, context = county
    row = result.explain_table().filter(pl.col("rank") == 1).row(0, named=True)
    for name in pack.model.benchmarks:
        kept = context.statistic(name, (REGION,))
        assert (kept.stat, kept.n) == (row[f"__bm.{name}.stat"], row[f"__bm.{name}.n"])


def test_the_cut_lines_are_the_last_firm_of_each_tier(county):
    _, _, _, result, context = county
    table = result.table.filter(pl.col("rank").is_not_null())
    group = context.quota_groups[REGION]
    assert group.n == table.height
    for cut in group.cuts:
        last = table.filter(pl.col("rank") == cut.last_rank).row(0, named=True)
        assert cut.last.enterprise_id == last["enterprise_id"] and cut.last.values[0] == last["score"]
        assert last["tier"] == cut.tier


def test_the_context_survives_its_json(county):
    context = county[4]
    again = FrozenContext.from_json(context.to_json())
    assert again == context and again.statistic("tax_per_mu_bm", (REGION,)) == context.statistic("tax_per_mu_bm", (REGION,))


def test_ties_are_broken_by_the_enterprise_id_and_missing_values_rank_last():
    order = (("score", True), ("tax_per_mu", True))
    assert precedes((80.0, 5.0), "E1", OrderKey(values=(80.0, 5.0), enterprise_id="E2"), order)
    assert not precedes((80.0, 5.0), "E3", OrderKey(values=(80.0, 5.0), enterprise_id="E2"), order)
    assert precedes((80.0, 6.0), "E9", OrderKey(values=(80.0, 5.0), enterprise_id="E2"), order)
    assert not precedes((80.0, None), "E1", OrderKey(values=(80.0, 5.0), enterprise_id="E2"), order)


def test_the_last_firm_of_a_tier_is_compared_with_the_firm_after_it_not_with_itself(county):
    """Its old key is the cut line: a small drop that passes nobody must leave it in its tier."""
    pack, data, _, result, context = county
    cut = context.quota_groups[REGION].cuts[0]
    firm = data.filter(pl.col("enterprise_id") == cut.last.enterprise_id)
    assert result.table.filter(pl.col("enterprise_id") == cut.last.enterprise_id)["tier"][0] == cut.tier
    lowered = score_frozen(pack.plan, context, firm.with_columns(pl.col("revenue_wan") * 0.999999))
    assert lowered.table["tier"][0] == cut.tier


def test_a_pack_reading_its_cohort_spread_cannot_be_scored_against_a_context():
    pack = mujun.load_pack("ah-minmax")
    data, prior = generate(80, 1, 3, bad_fraction=0)
    context = FrozenContext.build(pack.plan, pack.evaluate(data, prior=prior, cycle=YEAR), region=REGION, year=YEAR)
    assert any("min–max" in u for u in context.unsupported)
    with pytest.raises(FrozenContextError, match="reads more of its cohort"):
        score_frozen(pack.plan, context, data.head(1))


def _changed(record: dict, rng: random.Random) -> dict:
    """A correction an appeal might bring: a tax, revenue or land figure, or a bonus flag."""
    record = dict(record)
    kind = rng.choice(["tax_wan", "revenue_wan", "land_mu", "flags"])
    if kind == "flags":
        record["flags"] = list({*(record["flags"] or []), rng.choice(["bonus_innovation", "bonus_safety_production"])})
    elif record[kind] is not None:
        record[kind] = record[kind] * rng.choice([0.2, 0.5, 0.8, 0.95, 1.05, 1.3, 2.0, 5.0])
    return record


def test_a_firm_against_the_frozen_context_gets_the_tier_a_full_rerun_gives_it(county):
    """Seeded sweep over firms of a synthetic county: the firm's record changed, the county re-run in
    full, and the firm scored alone against the frozen context (row path and vectorized) — wherever
    the re-run's cohort statistics and ranked count are those frozen, the tiers agree."""
    pack, data, prior, result, context = county
    rng = random.Random(13)
    facts = result.explain_table()
    frozen_stats = facts.select(pl.col("^__bm\\..*$")).unique()
    ranked = result.table["rank"].drop_nulls().len()
    rows = data.to_dicts()
    compared = moved = 0
    for position in rng.sample(range(len(rows)), 70):
        record = _changed(rows[position], rng)
        if record["enterprise_id"] is None:
            continue
        changed = pl.from_dicts([*rows[:position], record, *rows[position + 1:]], schema=data.schema)
        rerun = pack.evaluate(changed, prior=prior, cycle=YEAR)
        same_cohort = (rerun.explain_table().select(pl.col("^__bm\\..*$")).unique().equals(frozen_stats)
                       and rerun.table["rank"].drop_nulls().len() == ranked)
        if not same_cohort:
            continue
        want = rerun.table.row(position, named=True)
        for rowwise in (True, False):
            got = score_against(pack.plan, context, [record], rowwise=rowwise).rows[0]
            assert (got["status"], got["tier"]) == (want["status"], want["tier"]), (record["enterprise_id"], rowwise)
        compared += 1
        moved += want["tier"] != result.table.row(position, named=True)["tier"]
    assert compared >= 40 and moved >= 5, (compared, moved)

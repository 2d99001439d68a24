"""GetDecision(with_trace) reads the run's recorded facts: the cohort is not scored again.

The services on a real SQLite store: a cycle is run, then evaluation is made impossible, and
every decision of the run must still explain itself exactly as the run's own result does.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

import mujun
from mujun.server.auth import Principal
from mujun.server.metrics import Metrics
from mujun.services import Services
from mujun.store import open_database, sqlite_url
from mujun.synth import generate

PACK, YEAR = "js-huaian-2024", 2024
ADMIN = Principal("admin", "admin", None)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    db = open_database(sqlite_url(tmp_path_factory.mktemp("traces")))
    core = Services.create(db, Metrics())
    core.packs.bootstrap_bundled(PACK)
    data, prior = generate(400, 1, 11)
    region = data["region"].drop_nulls()[0]
    data, prior = data.filter(pl.col("region") == region), prior.filter(pl.col("region") == region)
    core.cycles.run(ADMIN, region, YEAR, None, data, prior, None)
    yield core, region, data, prior, mujun.load_pack(PACK).evaluate(data, prior=prior)
    db.close()


def _same(trace: dict) -> dict:
    return json.loads(json.dumps(trace, default=str))


def test_every_kind_of_decision_is_traced_without_scoring_again(run, monkeypatch):
    core, region, _, _, local = run
    table = local.table.with_row_index("n")
    kinds = {
        "ok": table.filter((pl.col("status") == "ok") & pl.col("rank").is_not_null()),
        "vetoed": table.filter((pl.col("status") == "ok") & pl.col("rank").is_null() & pl.col("tier").is_not_null()),
        "unrated": table.filter(pl.col("status") == "unrated"),
        "error": table.filter((pl.col("status") == "error") & pl.col("enterprise_id").is_not_null()),
    }
    assert all(frame.height for frame in kinds.values()), {k: f.height for k, f in kinds.items()}
    monkeypatch.setattr(mujun.Pack, "evaluate", lambda *a, **k: pytest.fail("the cohort was scored again"))
    for frame in kinds.values():
        for enterprise in frame["enterprise_id"].head(5):
            got = core.decisions.get(ADMIN, region, YEAR, enterprise, False, True).trace
            assert _same(got) == _same(local.explain(enterprise)), enterprise


def test_an_appealed_decision_is_traced_against_its_corrected_cohort(run):
    core, _, data, prior, local = run
    enterprise = local.table.filter(pl.col("status") == "ok")["enterprise_id"][0]
    other = "320199"  # a cycle of its own to appeal in, so the other test sees only the run's decisions
    moved = [frame.with_columns(pl.lit(other).alias("region")) for frame in (data, prior)]
    core.cycles.run(ADMIN, other, YEAR, None, moved[0], moved[1], None)
    core.cycles.freeze(ADMIN, other, YEAR)
    core.decisions.appeal(ADMIN, other, YEAR, enterprise, {"tax_wan": 1e6}, "tax bureau corrected the filing")
    trace = core.decisions.get(ADMIN, other, YEAR, enterprise, False, True).trace
    assert trace["inputs"]["tax_wan"]["value"] == 1e6 and trace["tier"]["tier"] == "A"

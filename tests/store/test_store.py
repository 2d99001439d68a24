"""The store as a specification (on SQLite and PostgreSQL): immutability, activations, cycles, tokens, audit."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mujun.errors import AlreadyExists, NotFound, PreconditionFailed
from mujun.store import audit, cycles, packs, tokens
from mujun.store.db import open_database, sqlite_url


def _publish(session, version="1", hash_="h1", pack_id="p"):
    return packs.publish(session, pack_id=pack_id, version=version, hash=hash_, title="t", source="s", regions=[],
                         effective_from=None, text="id: p", actor="tester")


def _decision(eid, tier="A"):
    return {"enterprise_id": eid, "status": "ok", "tier": tier, "score": 1.0, "group_key": "320102",
            "result_json": json.dumps({"enterprise_id": eid, "tier": tier}), "input_json": "{}"}


def _run(db, region="320102", year=2024, ids=("e1", "e2")):
    with db.write() as s:
        cycle = cycles.begin_run(s, region, year, "op")
    with db.write() as s:
        version, _ = _publish(s)
        cycles.complete_run(s, cycle.id, pack_version_id=version.id, decisions=[_decision(i) for i in ids],
                            tiers=[], results_hash="r", data_arrow=b"", prior_arrow=None, history_arrow=None, actor="op")
    return cycle


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    db = open_database(sqlite_url(tmp_path))
    try:
        with db.read() as s:
            assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        db.close()


def test_migrations_match_the_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from mujun.store.models import Base

    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_publishing_the_same_content_twice_returns_the_stored_version(db):
    with db.write() as s:
        first, created = _publish(s)
        again, created_again = _publish(s)
    assert created and not created_again and first.id == again.id


def test_a_published_version_cannot_be_replaced_by_other_content(db):
    with db.write() as s:
        _publish(s)
    with pytest.raises(AlreadyExists), db.write() as s:
        _publish(s, hash_="other")


def test_the_region_activation_beats_the_default_and_dates_pick_the_version(db):
    with db.write() as s:
        v1, _ = _publish(s, "1", "h1")
        v2, _ = _publish(s, "2", "h2")
        packs.activate(s, region="*", version=v1, effective_from=dt.date(2020, 1, 1), actor="ed")
        packs.activate(s, region="320102", version=v2, effective_from=dt.date(2024, 1, 1), actor="ed")
    with db.read() as s:
        assert packs.active_for(s, "320102", dt.date(2024, 6, 1))[1].version == "2"
        assert packs.active_for(s, "320102", dt.date(2023, 6, 1))[1].version == "1"
        assert packs.active_for(s, "999999", dt.date(2024, 6, 1))[1].version == "1"
        with pytest.raises(NotFound):
            packs.active_for(s, "320102", dt.date(2019, 1, 1))


def test_a_cycle_moves_draft_frozen_published_and_never_back(db):
    _run(db)
    with db.write() as s, pytest.raises(PreconditionFailed):
        cycles.publish(s, "320102", 2024, "op")
    with db.write() as s:
        assert cycles.freeze(s, "320102", 2024, "op").state == "frozen"
    with db.write() as s:
        assert cycles.publish(s, "320102", 2024, "op").state == "published"
    with db.write() as s, pytest.raises(PreconditionFailed):
        cycles.begin_run(s, "320102", 2024, "op")


def test_an_appeal_adds_a_version_and_keeps_the_published_one(db):
    _run(db)
    with db.write() as s:
        cycles.freeze(s, "320102", 2024, "op")
        cycles.publish(s, "320102", 2024, "op")
    with db.write() as s:
        cycle = cycles.get(s, "320102", 2024)
        cycles.add_version(s, cycle, "e1", decision={k: v for k, v in _decision("e1", "B").items() if k != "enterprise_id"},
                           reason="tax corrected", actor="op")
    with db.read() as s:
        cycle = cycles.get(s, "320102", 2024)
        history = cycles.decision_history(s, cycle, "e1")
        assert [(d.version, d.tier) for d in history] == [(1, "A"), (2, "B")]
        assert [d.tier for d in cycles.list_current(s, cycle)] == ["B", "A"]


def test_decisions_of_a_published_cycle_cannot_be_updated_or_deleted(db):
    _run(db)
    with db.write() as s:
        cycles.freeze(s, "320102", 2024, "op")
    with pytest.raises(DBAPIError), db.write() as s:
        s.execute(text("UPDATE decisions SET tier = 'D'"))
    if db.backend == "sqlite":  # PostgreSQL guards updates only; deletes are the repositories' job
        with pytest.raises(DBAPIError), db.write() as s:
            s.execute(text("DELETE FROM decisions"))


def test_the_audit_log_is_append_only(db):
    _run(db)
    with db.read() as s:
        assert [e.action for e in audit.entries(s, regions=None)] == ["pack.publish", "cycle.run"]
    with pytest.raises(DBAPIError), db.write() as s:
        s.execute(text("DELETE FROM audit_log"))


def test_an_interrupted_run_goes_back_to_draft_with_the_previous_decisions(db):
    _run(db)
    with db.write() as s:
        cycles.begin_run(s, "320102", 2024, "op")
    with db.write() as s:
        assert [c.region for c in cycles.recover_interrupted(s)] == ["320102"]
    with db.read() as s:
        cycle = cycles.get(s, "320102", 2024)
        assert (cycle.state, cycle.run_number, len(cycles.list_current(s, cycle))) == ("draft", 1, 2)


def test_list_pages_by_enterprise_id_and_filters_by_tier(db):
    _run(db, ids=[f"e{i:02d}" for i in range(10)])
    with db.read() as s:
        cycle = cycles.get(s, "320102", 2024)
        page = cycles.list_current(s, cycle, limit=4)
        rest = cycles.list_current(s, cycle, after=page[-1].enterprise_id, limit=100)
        assert [d.enterprise_id for d in page + rest] == [f"e{i:02d}" for i in range(10)]
        assert cycles.list_current(s, cycle, tier="D") == []


def test_tokens_are_stored_hashed_and_resolve_by_secret(db):
    with db.write() as s:
        secret, row = tokens.create(s, role="agency", regions=["320102"])
    with db.read() as s:
        assert secret not in s.execute(text("SELECT token_hash FROM tokens")).scalar()
        assert tokens.resolve(s, secret).role == "agency"
        assert tokens.resolve(s, secret + "x") is None


def test_a_revoked_token_no_longer_resolves(db):
    with db.write() as s:
        secret, row = tokens.create(s, role="agency", regions=["320102"])
    with db.write() as s:
        tokens.revoke(s, row.id)
    with db.read() as s:
        assert tokens.resolve(s, secret) is None

"""The events store and the outbox on SQLite and PostgreSQL: idempotency key, cursor order, retention."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError

from mujun.store import events
from mujun.store.models import CycleRow, DecisionRow, utcnow


def _event(session, event_id: str, source: str = "环保局", enterprise: str = "E1"):
    return events.add(session, source=source, event_id=event_id, region="320102", year=2024, enterprise_id=enterprise,
                      type_="env_penalty", date=dt.date(2024, 3, 1), fields={"severity": "major"}, result={"v": 1})


def test_an_event_id_is_unique_per_source(db):
    with db.write() as session:
        _event(session, "a")
        _event(session, "a", source="应急局")  # another source may use the same id
    with pytest.raises(IntegrityError), db.write() as session:
        _event(session, "a")
    with db.read() as session:
        assert events.find(session, "环保局", "a").result == '{"v": 1}'
        assert [e.source for e in events.listing(session, regions=None)] == ["环保局", "应急局"]


def test_the_outbox_is_read_in_cursor_order_by_region_and_pruned_behind_its_newest_row(db):
    with db.write() as session:
        cycle = CycleRow(region="320102", year=2024, state="published")
        session.add(cycle)
        session.flush()
        rows = []
        for version in (1, 2, 3):
            decision = DecisionRow(cycle_id=cycle.id, enterprise_id="E1", version=version, status="ok",
                                   tier="AD"[version > 1], score=1.0, result_json='{"measure.m": %d}' % version,
                                   input_json="{}", created_by="t")
            session.add(decision)
            session.flush()
            rows.append(events.record_change(session, cycle, rows[-1][1] if rows else None, decision,
                                             {"kind": "test", "n": version}))
            rows[-1] = (rows[-1], decision)
            session.flush()
    with db.read() as session:
        changes = events.changes_after(session, 0, regions=["320102"])
        assert [c.version for c in changes] == [1, 2, 3]
        assert [c.cursor for c in changes] == sorted(c.cursor for c in changes)
        assert changes[1].tier_before == "A" and changes[1].tier_after == "D"
        assert changes[1].measures_changed_json == '{"m": [1, 2]}'
        assert events.changes_after(session, 0, regions=["320103"]) == []
        oldest, newest = events.bounds(session)
        assert (oldest, newest) == (changes[0].cursor, changes[-1].cursor)
    with db.write() as session:
        assert events.prune_before(session, utcnow() + dt.timedelta(days=1)) == 2  # the newest row stays
    with db.read() as session:
        assert events.bounds(session) == (newest, newest)

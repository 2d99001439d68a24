"""Leases: a run whose server is alive is never reset; a dead server's run is; SQLite admits one server."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import update

from mujun.errors import PreconditionFailed, StoreBusy
from mujun.store import cycles, open_database, sqlite_url
from mujun.store.leases import Lease, alive_owners
from mujun.store.models import ServerLeaseRow, utcnow


@pytest.fixture
def lease(db):
    """A live server lease on the store (no file lock: as on PostgreSQL, where several servers share it)."""
    held = Lease(db.write, lock_file=None, database="test")
    held.register()
    yield held
    held.release()


def _age(db, owner: str, seconds: float) -> None:
    with db.write() as s:
        s.execute(update(ServerLeaseRow).where(ServerLeaseRow.owner == owner)
                  .values(heartbeat_at=utcnow() - dt.timedelta(seconds=seconds)))


def test_a_run_of_a_live_server_is_not_recovered(db, lease):
    with db.write() as s:
        cycles.begin_run(s, "320102", 2024, "op", owner=lease.owner)
    with db.write() as s:
        assert cycles.recover_interrupted(s) == []
    with db.read() as s:
        assert cycles.get(s, "320102", 2024).state == "running"


def test_a_second_run_of_a_live_servers_cycle_is_refused(db, lease):
    with db.write() as s:
        cycles.begin_run(s, "320102", 2024, "op", owner=lease.owner)
    with db.write() as s, pytest.raises(PreconditionFailed, match="another run is in progress"):
        cycles.begin_run(s, "320102", 2024, "op", owner="another-server")


def test_a_run_of_a_dead_server_is_recovered(db, lease):
    with db.write() as s:
        cycles.begin_run(s, "320102", 2024, "op", owner=lease.owner)
    _age(db, lease.owner, 3600)
    with db.write() as s:
        assert [c.region for c in cycles.recover_interrupted(s)] == ["320102"]
    with db.read() as s:
        assert (cycles.get(s, "320102", 2024).state, cycles.get(s, "320102", 2024).run_owner) == ("draft", None)


def test_a_dead_servers_run_is_taken_over_and_its_late_result_refused(db, lease):
    with db.write() as s:
        first = cycles.begin_run(s, "320102", 2024, "op", owner=lease.owner)
    _age(db, lease.owner, 3600)
    with db.write() as s:
        assert cycles.begin_run(s, "320102", 2024, "op", owner="successor").run_owner == "successor"
    with db.write() as s, pytest.raises(PreconditionFailed, match="run by another server"):
        cycles.complete_run(s, first.id, pack_version_id=None, decisions=[], tiers=[], results_hash="", data_arrow=b"",
                            prior_arrow=None, history_arrow=None, actor="op", owner=lease.owner)


def test_a_server_never_takes_over_its_own_run_even_with_a_late_heartbeat(db, lease):
    with db.write() as s:
        cycles.begin_run(s, "320102", 2024, "op", owner=lease.owner)
    _age(db, lease.owner, 3600)  # a long write held the heartbeat back
    with db.write() as s, pytest.raises(PreconditionFailed, match="another run is in progress"):
        cycles.begin_run(s, "320102", 2024, "op", owner=lease.owner)


def test_the_heartbeat_keeps_a_lease_alive(db):
    held = Lease(db.write, lock_file=None, database="test", heartbeat=0.05)
    held.register()
    try:
        _age(db, held.owner, 3600)
        deadline = utcnow() + dt.timedelta(seconds=10)
        while utcnow() < deadline:
            with db.read() as s:
                if held.owner in alive_owners(s):
                    break
            time.sleep(0.02)
        with db.read() as s:
            assert held.owner in alive_owners(s)
    finally:
        held.release()
    with db.read() as s:
        assert held.owner not in alive_owners(s)


def test_a_second_server_on_a_sqlite_store_is_refused(tmp_path):
    first = open_database(sqlite_url(tmp_path), lease=True)
    try:
        with pytest.raises(StoreBusy, match="admits one server"):
            open_database(sqlite_url(tmp_path), lease=True)
        open_database(sqlite_url(tmp_path)).close()  # the CLI (token create, store check) still opens it
    finally:
        first.close()
    open_database(sqlite_url(tmp_path), lease=True).close()  # free again once the first has stopped


def test_the_sqlite_server_recovers_the_run_of_a_killed_one_at_once(tmp_path):
    """Holding the exclusive lock proves the previous server dead, however recent its last heartbeat."""
    crash = (f"import os, signal; from mujun.store import cycles, open_database, sqlite_url\n"
             f"db = open_database(sqlite_url({str(tmp_path)!r}), lease=True)\n"
             f"with db.write() as s: cycles.begin_run(s, '320102', 2024, 'op', owner=db.owner)\n"
             f"os.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-c", crash], timeout=60, env={**os.environ,
                          "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == -signal.SIGKILL
    successor = open_database(sqlite_url(tmp_path), lease=True)
    try:
        with successor.write() as s:
            assert [c.region for c in cycles.recover_interrupted(s)] == ["320102"]
    finally:
        successor.close()


def test_a_second_servers_start_never_resets_a_live_run(db):
    """What ``create_server`` does at start-up: take a lease, then recover interrupted runs."""
    url = db.engine.url.render_as_string(hide_password=False)
    first = open_database(url, lease=True)
    try:
        with first.write() as s:
            cycles.begin_run(s, "320102", 2024, "op", owner=first.owner)
        if db.backend == "sqlite":
            with pytest.raises(StoreBusy):
                open_database(url, lease=True, check=True)
        else:
            second = open_database(url, lease=True, check=True)
            try:
                with second.write() as s:
                    assert cycles.recover_interrupted(s) == []
            finally:
                second.close()
        with db.read() as s:
            assert (cycles.get(s, "320102", 2024).state, cycles.get(s, "320102", 2024).run_owner) == (
                "running", first.owner)
    finally:
        first.close()

"""Two servers on one PostgreSQL store starting the same run: exactly one wins, the other is told why.

Each server is its own :class:`Database` (its own engine and connections). The first begins the run and
holds its transaction open; the second begins the same run meanwhile and must wait for the first to
commit, then fail with PRECONDITION_FAILED. It once read "no cycle" too and died on the unique index
(an untyped IntegrityError, INTERNAL to its caller), or could have read "draft" and started a run of its own.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from mujun.errors import PreconditionFailed
from mujun.store import cycles, open_database
from mujun.store.models import CycleRow, EventRow

REGION, YEAR = "320102", 2024


@pytest.fixture
def two_servers(postgres_admin_url):
    """Two stores on one fresh PostgreSQL database, each with its live lease, as two servers would open it."""
    name = f"mujun_race_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    first, second = open_database(url, lease=True), open_database(url, lease=True)
    yield first, second
    first.close()
    second.close()


def _waiting_on_a_lock(db, timeout: float = 10.0) -> bool:
    """Whether another session of this database is blocked on a lock (polled, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            if conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND wait_event_type = 'Lock'")):
                return True
        time.sleep(0.02)
    return False


def _race(first, second) -> BaseException | None:
    """The first server begins the run and commits only once the second one's begin_run is waiting."""
    outcome: list[BaseException | None] = []

    def begin_second() -> None:
        try:
            with second.write() as session:
                cycles.begin_run(session, REGION, YEAR, "server-b", owner=second.owner)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(error)

    with first.write() as session:
        cycles.begin_run(session, REGION, YEAR, "server-a", owner=first.owner)
        rival = threading.Thread(target=begin_second)
        rival.start()
        assert _waiting_on_a_lock(first), "the second begin_run did not wait for the first one's transaction"
    rival.join(30)
    assert not rival.is_alive() and len(outcome) == 1
    return outcome[0]


@pytest.mark.parametrize("existing", [False, True], ids=["new cycle", "draft cycle"])
def test_two_servers_beginning_the_same_run_one_wins_the_other_is_refused(two_servers, existing):
    first, second = two_servers
    if existing:
        with first.write() as session:
            session.add(CycleRow(region=REGION, year=YEAR, state="draft"))
    error = _race(first, second)
    assert isinstance(error, PreconditionFailed), repr(error)
    assert "another run is in progress" in error.message
    with first.read() as session:
        cycle = cycles.get(session, REGION, YEAR)
        started = session.scalars(select(EventRow).where(EventRow.kind == "run_started")).all()
    assert (cycle.state, cycle.run_owner, len(started)) == ("running", first.owner, 1)

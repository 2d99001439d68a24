"""The server on PostgreSQL: only the database URL changes (skipped, with the reason, without a server)."""

from __future__ import annotations

import uuid

import polars as pl
import pytest

from mujun_client import Client
from server.serverkit import REGION_A, ServerProcess
from store.conftest import postgres_admin_url  # noqa: F401 - the session's throw-away PostgreSQL cluster


@pytest.fixture
def postgres_url(postgres_admin_url):  # noqa: F811
    from sqlalchemy import create_engine, text

    name = f"mujun_srv_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"


def test_a_cycle_runs_and_survives_a_restart_on_postgresql(tmp_path, postgres_url, enterprises):
    data = enterprises[0].filter(pl.col("region") == REGION_A)
    process = ServerProcess(tmp_path / "unused", ["--database-url", postgres_url]).start()
    try:
        with Client(process.address, process.token, timeout=60) as client:
            cycle = client.run_cycle(REGION_A, 2024, data)
            client.freeze_cycle(REGION_A, 2024)
    finally:
        process.stop()
    restarted = ServerProcess(tmp_path / "unused", ["--database-url", postgres_url]).start()
    try:
        with Client(restarted.address, restarted.token, timeout=60) as client:
            again = client.get_cycle(REGION_A, 2024)
            assert (again.state, again.enterprises) == ("frozen", cycle.enterprises)
            assert len(list(client.iter_decisions(REGION_A, 2024, page_size=500))) == data.height
    finally:
        restarted.stop()

"""Fixtures of the server tests: one shared server with tokens for every role, data, a published cycle."""

from __future__ import annotations

import polars as pl
import pytest

from server.serverkit import REGION_A, SHARED_LIMITS, ServerProcess, make_tokens
from mujun.synth import generate
from mujun_client import Client

YEAR = 2024


@pytest.fixture(scope="session")
def enterprises() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two counties of synthetic enterprises (current, prior), bad rows included."""
    return generate(600, 2, 7)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> ServerProcess:
    """The shared server: tokens for every role made before it starts, small limits so limit tests stay fast, metrics on."""
    data_dir = tmp_path_factory.mktemp("shared") / "data"
    tokens_made = make_tokens(data_dir)
    process = ServerProcess(data_dir, ["--metrics-port", "0"], env=SHARED_LIMITS)
    process.tokens = tokens_made  # type: ignore[attr-defined]
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def tokens_for(server) -> dict[str, str]:
    return server.tokens


@pytest.fixture
def client_as(server):
    """``client_as("agency_a")`` gives a client with that token (None: no token)."""
    opened: list[Client] = []

    def make(who: str | None, **options) -> Client:
        client = Client(server.address, server.tokens[who] if who else None, timeout=30, **options)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture(scope="session")
def published_cycle(server, enterprises):
    """REGION_A's 2024 cycle, run, frozen and published by its operator."""
    data, prior = enterprises
    mine = data.filter(pl.col("region") == REGION_A)
    with Client(server.address, server.tokens["operator_a"]) as operator:
        operator.run_cycle(REGION_A, YEAR, mine, prior=prior.filter(pl.col("region") == REGION_A))
        operator.freeze_cycle(REGION_A, YEAR)
        cycle = operator.publish_cycle(REGION_A, YEAR)
    return cycle, mine

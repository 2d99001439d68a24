"""A cycle runs only under a pack in force on its date, unless an activation says otherwise."""

from __future__ import annotations

import grpc
import polars as pl
import pytest

from mujun_client import RemoteError
from server.serverkit import REGION_B


def test_a_cycle_after_the_packs_period_is_refused_naming_both(client_as, enterprises):
    data, _ = enterprises
    records = data.filter(pl.col("region") == REGION_B).head(20)
    with pytest.raises(RemoteError) as refused:
        client_as("admin").run_cycle(REGION_B, 2025, records)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    message = str(refused.value)
    assert "js-huaian-2024" in message and "2025-12-31" in message and "2024-12-31" in message


def test_an_activation_from_a_date_beyond_the_period_extends_it_explicitly(client_as, enterprises):
    data, _ = enterprises
    records = data.filter(pl.col("region") == REGION_B).head(20)
    admin = client_as("admin")
    admin.activate_pack(REGION_B, "js-huaian-2024", effective_from="2026-01-01")
    cycle = admin.run_cycle(REGION_B, 2026, records)
    assert cycle.pack_id == "js-huaian-2024" and cycle.year == 2026 and cycle.state == "draft"

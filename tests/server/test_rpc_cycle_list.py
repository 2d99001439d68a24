"""Cycles.List shows a token the cycles of its own regions only, and refuses another county by name."""

from __future__ import annotations

import grpc
import pytest

from mujun_client import RemoteError
from server.serverkit import REGION_A, REGION_B


def test_a_county_token_lists_only_its_own_countys_cycles(published_cycle, client_as):
    listed = client_as("agency_a").list_cycles().cycles
    assert (REGION_A, 2024) in {(c.region, c.year) for c in listed}
    assert {c.region for c in listed} == {REGION_A}
    assert {c.region for c in client_as("agency_b").list_cycles().cycles} <= {REGION_B}


def test_a_county_token_asking_for_another_county_is_refused(published_cycle, client_as):
    with pytest.raises(RemoteError) as caught:
        client_as("agency_b").list_cycles(REGION_A)
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_an_editor_may_not_list_cycles(client_as):
    with pytest.raises(RemoteError) as caught:
        client_as("editor").list_cycles()
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED

"""Tokens, roles and region scoping on every read and write."""

from __future__ import annotations

import grpc
import polars as pl
import pytest

from mujun_client import RemoteError

from server.serverkit import REGION_A, REGION_B
YEAR = 2024


def _code(call) -> grpc.StatusCode:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.code


def test_a_call_without_a_token_is_unauthenticated(client_as):
    assert _code(lambda: client_as(None).list_packs()) == grpc.StatusCode.UNAUTHENTICATED


def test_an_unknown_token_is_unauthenticated(server):
    from mujun_client import Client

    with Client(server.address, "mj_not-a-token") as client:
        assert _code(client.list_packs) == grpc.StatusCode.UNAUTHENTICATED


def test_health_answers_without_a_token(client_as):
    assert client_as(None).health() == "SERVING"


def test_an_agency_cannot_publish_packs(client_as):
    assert _code(lambda: client_as("agency_a").publish_pack("id: x")) == grpc.StatusCode.PERMISSION_DENIED


def test_an_agency_reads_its_own_countys_decision(published_cycle, client_as):
    page = client_as("agency_a").list_decisions(REGION_A, YEAR, page_size=1)
    decision = client_as("agency_a").get_decision(REGION_A, YEAR, page.decisions[0].result.enterprise_id)
    assert decision.region == REGION_A


def test_an_agency_cannot_read_another_countys_decision(published_cycle, client_as):
    enterprise = client_as("agency_a").list_decisions(REGION_A, YEAR, page_size=1).decisions[0].result.enterprise_id
    other = client_as("agency_b")
    assert _code(lambda: other.get_decision(REGION_A, YEAR, enterprise)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: other.list_decisions(REGION_A, YEAR)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: other.get_cycle(REGION_A, YEAR)) == grpc.StatusCode.PERMISSION_DENIED


def test_an_agency_cannot_evaluate_another_countys_records(client_as, enterprises):
    records = enterprises[0].filter(pl.col("region") == REGION_A).head(3)
    assert _code(lambda: client_as("agency_b").evaluate(records, "js-huaian-2024")) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: client_as("agency_b").evaluate_batch(records, "js-huaian-2024")) == grpc.StatusCode.PERMISSION_DENIED


def test_an_operator_cannot_run_another_countys_cycle(client_as, enterprises):
    records = enterprises[0].filter(pl.col("region") == REGION_B).head(3)
    assert _code(lambda: client_as("operator_a").run_cycle(REGION_B, 2022, records)) == grpc.StatusCode.PERMISSION_DENIED


def test_an_agency_cannot_run_cycles_or_read_the_audit_log(client_as, enterprises):
    agency = client_as("agency_a")
    records = enterprises[0].filter(pl.col("region") == REGION_A).head(3)
    assert _code(lambda: agency.run_cycle(REGION_A, 2021, records)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(agency.audit_log) == grpc.StatusCode.PERMISSION_DENIED


def test_a_region_scoped_editor_cannot_activate_for_every_region(server, tmp_path):
    from mujun_client import Client

    from mujun.store import open_database, sqlite_url, tokens

    db = open_database(sqlite_url(server.data_dir))
    with db.write() as session:
        secret, _ = tokens.create(session, role="editor", regions=[REGION_A], name="scoped-editor")
    db.close()
    with Client(server.address, secret) as editor:
        assert _code(lambda: editor.activate_pack("*", "js-huaian-2024")) == grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: editor.activate_pack(REGION_B, "js-huaian-2024")) == grpc.StatusCode.PERMISSION_DENIED

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


# -- a default server: no flags, a new data directory ------------------------------------------

@pytest.fixture(scope="module")
def default_server(tmp_path_factory):
    """``mujun serve --data-dir NEW`` exactly as ``make run`` starts it (no tokens made beforehand)."""
    from server.serverkit import ServerProcess

    process = ServerProcess(tmp_path_factory.mktemp("default") / "data").start()
    yield process
    process.stop()


def test_a_default_server_refuses_every_call_without_a_token(default_server):
    from mujun_client import Client

    with Client(default_server.address, timeout=20) as anonymous:
        assert _code(anonymous.list_packs) == grpc.StatusCode.UNAUTHENTICATED
        assert _code(anonymous.audit_log) == grpc.StatusCode.UNAUTHENTICATED
        assert anonymous.health() == "SERVING"


def test_dropping_a_token_never_gains_rights(default_server):
    from mujun_client import Client

    from mujun.store import open_database, sqlite_url, tokens

    db = open_database(sqlite_url(default_server.data_dir))
    with db.write() as session:
        agency, _ = tokens.create(session, role="agency", regions=[REGION_A], name="agency")
    db.close()
    with Client(default_server.address, agency, timeout=20) as with_token, \
            Client(default_server.address, timeout=20) as without:
        assert _code(with_token.audit_log) == grpc.StatusCode.PERMISSION_DENIED
        assert _code(without.audit_log) == grpc.StatusCode.UNAUTHENTICATED


def test_a_new_store_gets_an_admin_token_in_a_private_file_printed_once(default_server):
    import stat

    from mujun_client import Client

    path = default_server.data_dir / "admin.token"
    secret = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret.startswith("mj_") and secret in "".join(default_server.output)
    with Client(default_server.address, secret, timeout=20) as admin:
        assert admin.audit_log().entries


def test_a_restarted_server_keeps_the_admin_token_and_does_not_print_it(tmp_path):
    from server.serverkit import ServerProcess

    first = ServerProcess(tmp_path / "data").start()
    first.stop()
    secret = first.token
    again = ServerProcess(tmp_path / "data").start()
    try:
        assert again.token == secret and secret not in "".join(again.output)
    finally:
        again.stop()


def test_the_cli_on_the_same_machine_finds_the_admin_token_in_the_data_dir(default_server, tmp_path):
    from typer.testing import CliRunner

    from mujun.cli import app

    def cycle_show(data_dir):  # noqa: ANN202 - click's Result
        return CliRunner().invoke(app, ["cycle", "show", "--server", default_server.address, "--region", REGION_A,
                                        "--year", "2024"], env={"MUJUN_DATA_DIR": str(data_dir), "MUJUN_TOKEN": None})

    found = cycle_show(default_server.data_dir)
    assert found.exit_code == 2 and "NOT_FOUND" in found.output  # authenticated: the cycle just does not exist
    elsewhere = cycle_show(tmp_path)
    assert elsewhere.exit_code == 1 and "UNAUTHENTICATED" in elsewhere.output

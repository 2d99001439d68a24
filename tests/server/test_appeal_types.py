"""An appeal's corrected values are typed by the cycle's pack, never guessed by the caller.

``mujun cycle appeal --set industry=13`` once sent ``13.0`` (the CLI tried ``float()`` first), and a pack
that ranks per industry put the firm into a cohort of its own. The CLI now sends what was typed, the
server types each field by the pack's ``inputs`` (number, string, flags), and a value that does not fit
its field — or a field nobody reads — is refused with INVALID_ARGUMENT naming it.
"""

from __future__ import annotations

import grpc
import polars as pl
import pytest
from typer.testing import CliRunner

from mujun.cli import app
from mujun.synth import generate
from mujun_client import Client
from mujun_wire.v1 import common_pb2, cycles_pb2
from server.serverkit import REGION_A, ServerProcess

YEAR = 2024
#: ah-minmax ranked per industry (the cohort is the industry code), with two inputs beyond the Record's fields.
PACK = """
extends: ah-minmax
id: appeal-types
version: "1"
title: ah-minmax ranked per industry, with two extra inputs
effective: {from: 2024-01-01}
inputs:
  industry: {type: string, require: optional}
  patents: {type: number, require: optional}
  park_code: {type: string, require: optional}
tiers:
  group_by: [industry]
"""


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    """A server of its own with REGION_A's frozen cycle under PACK: (server, admin client, the run's data)."""
    server = ServerProcess(tmp_path_factory.mktemp("appeal-types") / "data").start()
    data, prior = generate(200, 1, 5)
    data, prior = data.filter(pl.col("region") == REGION_A), prior.filter(pl.col("region") == REGION_A)
    client = Client(server.address, server.token, timeout=30)
    try:
        client.publish_pack(PACK)
        client.activate_pack(REGION_A, "appeal-types", "1", effective_from="2024-01-01")
        client.run_cycle(REGION_A, YEAR, data, prior=prior)
        client.freeze_cycle(REGION_A, YEAR)
        yield server, client, data
    finally:
        client.close()
        server.stop()


def _other_industry_firm(data: pl.DataFrame, industry: str) -> str:
    """A firm whose industry is not ``industry`` (so an appeal moves it into that cohort)."""
    return data.filter(pl.col("industry") != industry)["enterprise_id"][0]


def _appeal(client: Client, enterprise_id: str, **fields) -> grpc.RpcError | cycles_pb2.Decision:
    request = cycles_pb2.AppealRequest(region=REGION_A, year=YEAR, enterprise_id=enterprise_id,
                                       correction=common_pb2.Record(**fields), reason="bureau corrected the filing")
    try:
        return client.cycles.Appeal(request, timeout=30, metadata=client.metadata)
    except grpc.RpcError as error:
        return error


def test_cli_appeal_sends_an_industry_code_as_typed_and_the_firm_joins_that_cohort(frozen):
    server, client, data = frozen
    firm = _other_industry_firm(data, "13")
    done = CliRunner().invoke(app, ["cycle", "appeal", "--region", REGION_A, "--year", str(YEAR), "--id", firm,
                                    "--set", "industry=13", "--reason", "registry corrected the industry code",
                                    "--server", server.address, "--token", server.token])
    assert done.exit_code == 0, done.output
    decision = client.get_decision(REGION_A, YEAR, firm)
    assert decision.input.industry == "13"
    assert decision.result.group == "13"


def test_a_number_field_sent_as_text_is_stored_as_a_number(frozen):
    _, client, data = frozen
    decision = _appeal(client, data["enterprise_id"][1], extra_strings={"patents": "7"})
    assert isinstance(decision, cycles_pb2.Decision), decision
    assert dict(decision.input.extra_numbers)["patents"] == 7.0 and "patents" not in decision.input.extra_strings


def test_a_code_sent_as_a_whole_number_is_stored_as_text(frozen):
    _, client, data = frozen
    decision = _appeal(client, data["enterprise_id"][2], extra_numbers={"park_code": 12})
    assert isinstance(decision, cycles_pb2.Decision), decision
    assert dict(decision.input.extra_strings)["park_code"] == "12"


@pytest.mark.parametrize("fields, field", [
    ({"extra_strings": {"patents": "seven"}}, "correction.patents"),
    ({"extra_numbers": {"park_code": 12.5}}, "correction.park_code"),
    ({"extra_strings": {"tax_wn": "5"}}, "correction.tax_wn"),
])
def test_a_value_that_does_not_fit_its_field_is_refused_by_name(frozen, fields, field):
    _, client, data = frozen
    error = _appeal(client, data["enterprise_id"][3], **fields)
    assert isinstance(error, grpc.RpcError), error
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.details()


def test_cli_appeal_refuses_a_word_for_a_number_field_without_a_traceback(frozen):
    server, _, data = frozen
    done = CliRunner().invoke(app, ["cycle", "appeal", "--region", REGION_A, "--year", str(YEAR),
                                    "--id", data["enterprise_id"][4], "--set", "tax_wan=lots", "--reason", "x",
                                    "--server", server.address, "--token", server.token])
    assert done.exit_code == 2 and "tax_wan is a number" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)

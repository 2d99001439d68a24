"""Packs.Simulate and Packs.Diff on a real server: a stored cycle's data against a candidate pack.

The parity test runs ``mujun simulate`` on the very tables the cycle was run with (written to files) and
asks the server to simulate on the stored cycle: the two report.json agree but for what only one side
can know (the CLI's file digests, each side's timings).
"""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import polars as pl
import pytest

import mujun
from server.conftest import YEAR
from server.serverkit import REGION_A, REGION_B, ROOT, server_env
from mujun.simulate.diff import pack_diff
from mujun_client import RemoteError

#: What only one side of the parity knows: the CLI read files; each run has its own timings.
_LOCAL = ("timings",)


def _comparable(report: dict) -> dict:
    report = {k: v for k, v in report.items() if k not in _LOCAL}
    report["data"] = {k: v for k, v in report["data"].items() if k != "files"}
    return report


def test_simulate_on_a_stored_cycle_gives_the_json_of_the_cli_on_the_same_data(client_as, enterprises,
                                                                               published_cycle, tmp_path):
    data, prior = enterprises
    current = data.filter(pl.col("region") == REGION_A)
    previous = prior.filter(pl.col("region") == REGION_A)
    current.write_parquet(tmp_path / "current.parquet")
    previous.write_parquet(tmp_path / "prior.parquet")
    run = subprocess.run(
        [sys.executable, "-m", "mujun.cli", "simulate", "--baseline", "js-huaian-2024", "--set", "weight_tax=50",
         "--input", str(tmp_path / "current.parquet"), "--prior", str(tmp_path / "prior.parquet"),
         "--cycle", str(YEAR), "--workers", "1", "--report", str(tmp_path / "r.html")],
        capture_output=True, text=True, env=server_env(), cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    cli = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))

    answer = client_as("operator_a").simulate(REGION_A, YEAR, overrides={"weight_tax": 50})
    served = json.loads(answer.report_json)
    assert answer.html == ""
    assert served["baseline"]["id"] == "js-huaian-2024" and served["candidate"]["overrides"] == {"weight_tax": 50}
    assert _comparable(served) == _comparable(cli)


def test_simulate_returns_the_report_page_on_request(client_as, published_cycle):
    answer = client_as("editor").simulate(REGION_A, YEAR, overrides={"weight_tax": 50}, html=True)
    report = json.loads(answer.report_json)
    assert answer.html.startswith("<!DOCTYPE html>")
    assert f'data-key="headline.tier_changes">{report["headline"]["tier_changes"]}<' in answer.html


def test_a_candidate_text_is_simulated_like_the_same_overlay(client_as, published_cycle):
    text = (ROOT / "rules" / "js-huaian-2024" / "pack.yaml").read_text(encoding="utf-8")
    changed = text.replace("weight_tax: {value: 45,", "weight_tax: {value: 50,")
    assert changed != text
    operator = client_as("operator_a")
    by_text = json.loads(operator.simulate(REGION_A, YEAR, candidate_yaml=changed).report_json)
    by_overlay = json.loads(operator.simulate(REGION_A, YEAR, overrides={"weight_tax": 50}).report_json)
    assert by_text["headline"] == by_overlay["headline"]
    assert by_text["transitions"] == by_overlay["transitions"]


def test_a_published_candidate_version_is_found_by_id_and_version(client_as, published_cycle):
    answer = client_as("operator_a").simulate(REGION_A, YEAR, pack_id="js-huaian-2024", version="2024.2")
    report = json.loads(answer.report_json)
    assert report["candidate"]["hash"] == report["baseline"]["hash"]
    assert report["headline"]["tier_changes"] == 0


def test_an_unknown_candidate_version_is_not_found(client_as, published_cycle):
    with pytest.raises(RemoteError) as caught:
        client_as("operator_a").simulate(REGION_A, YEAR, pack_id="js-huaian-2024", version="1999.9")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_a_bad_overlay_is_invalid_argument_naming_its_field(client_as, published_cycle):
    with pytest.raises(RemoteError) as caught:
        client_as("operator_a").simulate(REGION_A, YEAR, overrides={"weight_taxx": 50, "weight_tax": "lots"})
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    fields = [field for field, _ in caught.value.violations]
    assert fields == ["overrides[weight_tax]", "overrides[weight_taxx]"]


def test_a_bad_sweep_is_invalid_argument_naming_its_field(client_as, published_cycle):
    with pytest.raises(RemoteError) as caught:
        client_as("operator_a").simulate(REGION_A, YEAR, sweep="weight_tax=60:40:5")
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in caught.value.violations] == ["sweep"]


def test_a_region_scoped_operator_may_not_simulate_another_region(client_as, published_cycle):
    with pytest.raises(RemoteError) as caught:
        client_as("operator_a").simulate(REGION_B, YEAR)
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_an_agency_may_not_simulate(client_as, published_cycle):
    with pytest.raises(RemoteError) as caught:
        client_as("agency_a").simulate(REGION_A, YEAR)
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_a_cycle_that_does_not_exist_is_not_found(client_as):
    with pytest.raises(RemoteError) as caught:
        client_as("admin").simulate(REGION_A, 2031)
    assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_diff_of_two_published_versions_lists_the_changes_of_the_cli(client_as):
    lines = client_as("auditor").diff_packs("zj-huangyan-2021", other_pack_id="zj-huangyan-2022")
    local = pack_diff(mujun.load_pack("zj-huangyan-2021"), mujun.load_pack("zj-huangyan-2022"))
    assert lines == [change.text for change in local.changes]
    assert "亩均税收除数 26.01 → 24.097 万元/亩" in lines  # the 2022 divisors


def test_diff_of_an_unknown_version_is_not_found(client_as):
    with pytest.raises(RemoteError) as caught:
        client_as("editor").diff_packs("zj-huangyan-2021", "0.0.0", "zj-huangyan-2022")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND

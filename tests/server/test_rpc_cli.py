"""The CLI against a server: ``mujun score --server`` writes exactly the file of the local run; every listing
(packs, pack history, cycles, audit entries, a cycle's decisions) works against a real server, also as --json."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
from typer.testing import CliRunner, Result

from mujun.cli import app
from server.serverkit import REGION_A, ROOT, ServerProcess, server_env
from server.test_rpc_operations import tls_files  # noqa: F401 - the throw-away CA and server certificate


def _mujun(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mujun.cli", *args], env=server_env(), cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_score_with_server_writes_the_same_file_as_the_local_run(server, tokens_for, enterprises, tmp_path):
    data, prior = enterprises
    data.write_parquet(tmp_path / "in.parquet")
    prior.write_parquet(tmp_path / "prior.parquet")
    common = ["score", "--pack", "js-huaian-2024", "--input", str(tmp_path / "in.parquet"),
              "--prior", str(tmp_path / "prior.parquet")]
    local = _mujun(*common, "--output", str(tmp_path / "local.csv"))
    remote = _mujun(*common, "--output", str(tmp_path / "remote.csv"), "--server", server.address,
                    "--token", tokens_for["admin"])
    assert local.returncode == remote.returncode == 0, remote.stderr
    assert (tmp_path / "local.csv").read_bytes() == (tmp_path / "remote.csv").read_bytes()


def test_cycle_commands_report_a_refusal_with_exit_code_2(server, tokens_for):
    done = _mujun("cycle", "publish", "--server", server.address, "--token", tokens_for["admin"],
                  "--region", "320199", "--year", "2024")
    assert done.returncode == 2 and "NOT_FOUND" in done.stderr


def test_a_token_created_by_the_cli_works_while_the_server_runs(server):
    from mujun_client import Client

    done = _mujun("token", "create", "--role", "agency", "--region", "320102", "--data-dir", str(server.data_dir))
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip().splitlines()[-1]
    with Client(server.address, secret) as client:
        assert client.list_packs().packs


# -- listings against a server: packs, cycles, audit, decisions (each also as --json) -------------

def _cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI in this process (a subprocess per call would cost seconds of imports), against the real server."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def _listing(*args: str, token: str) -> dict:
    done = _cli(*args, "--token", token, "--json")
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_pack_list_with_server_shows_published_versions_and_activations(server, tokens_for):
    listing = _listing("pack", "list", "--server", server.address, token=tokens_for["agency_a"])
    assert "js-huaian-2024" in {p["pack_id"] for p in listing["packs"]}
    assert any(a["region"] == "*" and a["pack_id"] == "js-huaian-2024" for a in listing["activations"])
    table = _cli("pack", "list", "--server", server.address, "--token", tokens_for["agency_a"])
    assert table.exit_code == 0 and "activations" in table.stdout and "js-huaian-2024" in table.stdout


def test_pack_list_without_server_lists_the_bundled_packs_as_json():
    done = _cli("pack", "list", "--json")
    assert done.exit_code == 0, done.output
    packs = {p["pack_id"]: p for p in json.loads(done.stdout)["packs"]}
    assert packs["js-huaian-2024"]["effective_from"] == "2024-01-01" and len(packs["js-huaian-2024"]["hash"]) == 64


def test_pack_show_with_server_gives_the_published_yaml_and_where_it_is_in_force(server, tokens_for):
    shown = _listing("pack", "show", "js-huaian-2024", "--server", server.address, token=tokens_for["agency_a"])
    assert shown["pack"]["pack_id"] == "js-huaian-2024" and "items:" in shown["pack"]["text"]
    assert {a["pack_id"] for a in shown["activations"]} == {"js-huaian-2024"}


def test_pack_history_lists_every_published_version(server, tokens_for):
    history = _listing("pack", "history", "--server", server.address, token=tokens_for["auditor"])
    assert {"js-huaian-2024", "zj-yiwu"} <= {v["pack_id"] for v in history["versions"]}
    assert history["activations"]


def test_cycle_list_shows_only_the_cycles_of_the_tokens_county(server, tokens_for, published_cycle):
    cycles = _listing("cycle", "list", "--server", server.address, token=tokens_for["agency_a"])["cycles"]
    assert (REGION_A, 2024, "published") in {(c["region"], c["year"], c["state"]) for c in cycles}
    assert {c["region"] for c in cycles} == {REGION_A}


def test_audit_list_pages_through_the_log_up_to_the_limit(server, tokens_for, published_cycle):
    done = _cli("audit", "list", "--server", server.address, "--token", tokens_for["auditor"], "--limit", "2", "--json")
    assert done.exit_code == 0, done.output
    entries = json.loads(done.stdout)["entries"]
    assert len(entries) == 2 and entries[0]["id"] < entries[1]["id"] and "--limit 0" in done.stderr
    every = _listing("audit", "list", "--server", server.address, "--limit", "0", token=tokens_for["auditor"])
    assert any(e["action"] == "cycle.publish" and e["region"] == REGION_A for e in every["entries"])


def test_audit_list_needs_an_auditors_token(server, tokens_for):
    done = _cli("audit", "list", "--server", server.address, "--token", tokens_for["agency_a"])
    assert done.exit_code == 1 and "PERMISSION_DENIED" in done.stderr


def test_cycle_show_pages_past_the_servers_1000_per_page(server, tokens_for):
    from mujun.synth import generate
    from mujun_client import Client

    region = "320111"  # this test's own county
    firms = generate(1_050, 1, 11, bad_fraction=0)[0].with_columns(pl.lit(region).alias("region"))
    with Client(server.address, tokens_for["admin"], timeout=120) as admin:
        admin.run_cycle(region, 2024, firms)
    common = ["cycle", "show", "--server", server.address, "--region", region, "--year", "2024"]
    shown = _listing(*common, "--limit", "1050", token=tokens_for["admin"])
    assert shown["cycle"]["enterprises"] == "1050"  # int64: a string in protobuf's JSON mapping
    ids = [d["result"]["enterprise_id"] for d in shown["decisions"]]
    assert len(ids) == len(set(ids)) == 1_050 and ids == sorted(ids)
    assert len(_listing(*common, "--limit", "0", token=tokens_for["admin"])["decisions"]) == 1_050
    first = _cli(*common, "--limit", "5", "--token", tokens_for["admin"])
    assert first.exit_code == 0 and "--limit 0" in first.stderr


def test_score_reads_mujun_server_and_takes_a_tls_ca(tls_files, enterprises, tmp_path):
    process = ServerProcess(tmp_path / "data", ["--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"])])
    process.start()
    try:
        enterprises[0].head(50).write_parquet(tmp_path / "in.parquet")
        args = ["score", "-p", "js-huaian-2024", "-i", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.csv"),
                "--token", process.token, "--tls-ca", str(tls_files["ca"])]
        done = _cli(*args, env={"MUJUN_SERVER": process.address})
    finally:
        process.stop()
    assert done.exit_code == 0 and f"via {process.address}" in done.stdout, done.output
    assert pl.read_csv(tmp_path / "out.csv").height == 50


def test_token_list_as_json(server):
    done = _cli("token", "list", "--data-dir", str(server.data_dir), "--json")
    assert done.exit_code == 0, done.output
    tokens = {t["name"]: t for t in json.loads(done.stdout)["tokens"]}
    assert tokens["agency_a"]["regions"] == [REGION_A] and tokens["admin"]["regions"] == []


def test_cycle_run_joins_several_bureau_files_on_the_server(server, tokens_for, tmp_path):
    from mujun_client import Client

    region, n = "320112", 12  # this test's own county
    ids = [f"91320112MA{i:08d}" for i in range(n)]
    tax = pl.DataFrame({"统一社会信用代码": ids, "行政区划代码": [region] * n,
                        "用地面积(亩)": [10.0 + i for i in range(n)], "税收(万元)": [50.0 + 3 * i for i in range(n)]})
    stats = pl.DataFrame({"统一社会信用代码": ids, "营业收入": [900.0 + 10 * i for i in range(n)],
                          "税收(万元)": [50.0 + 3 * i for i in range(n - 1)] + [99.0]})  # the last firm's tax differs
    tax.write_csv(tmp_path / "tax.csv")
    stats.write_csv(tmp_path / "stats.csv")
    common = ["cycle", "run", "--server", server.address, "--token", tokens_for["admin"], "--region", region,
              "--year", "2024", "--input", str(tmp_path / "tax.csv"), "--input", str(tmp_path / "stats.csv")]
    joined = _cli(*common)
    assert joined.exit_code == 0, joined.output
    assert f"{n:,} enterprises" in joined.stdout and "税收(万元)" in joined.stderr  # the run report names the columns
    with Client(server.address, tokens_for["admin"]) as admin:
        conflict = admin.get_decision(region, 2024, ids[-1]).result
        agreed = admin.get_decision(region, 2024, ids[0]).result
        assert conflict.status == "error" and "tax.csv" in conflict.error and "stats.csv" in conflict.error
        assert agreed.status == "ok"
        preferred = _cli(*common, "--prefer", "stats.csv")
        assert preferred.exit_code == 0, preferred.output
        assert admin.get_decision(region, 2024, ids[-1]).result.status == "ok"

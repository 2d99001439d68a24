"""The CLI against a server: ``mujun score --server`` writes exactly the file of the local run."""

from __future__ import annotations

import subprocess
import sys

from server.serverkit import ROOT, server_env


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

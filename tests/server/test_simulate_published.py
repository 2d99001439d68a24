"""``mujun pack diff`` and ``mujun simulate`` with published packs (``id@version`` on ``--server``)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import mujun
from mujun.cli import app

runner = CliRunner()


def test_pack_diff_of_two_published_versions_lists_the_new_divisors(server, tokens_for):
    done = runner.invoke(app, ["pack", "diff", "zj-huangyan-2021@2021.1", "zj-huangyan-2022@2022.1", "--json",
                               "--server", server.address, "--token", tokens_for["agency_a"]])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert found["new"]["hash"] == mujun.load_pack("zj-huangyan-2022").hash, "extends resolved from the server"
    assert "亩均税收除数 26.01 → 24.097 万元/亩" in [c["text"] for c in found["changes"]]


def test_simulate_against_a_published_baseline_names_its_hash(server, tokens_for, enterprises, tmp_path):
    data, prior = enterprises
    data.write_parquet(tmp_path / "in.parquet")
    prior.write_parquet(tmp_path / "prior.parquet")
    done = runner.invoke(app, ["simulate", "--baseline", "js-huaian-2024@2024.2", "--pack", "js-huaian-2024",
                               "--set", "weight_tax=50", "--input", str(tmp_path / "in.parquet"),
                               "--prior", str(tmp_path / "prior.parquet"), "--report", str(tmp_path / "r.html"),
                               "--no-sensitivity", "--server", server.address, "--token", tokens_for["agency_a"]])
    assert done.exit_code == 0, done.output
    written = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert written["baseline"]["hash"] == mujun.load_pack("js-huaian-2024").hash
    assert written["candidate"]["overrides"] == {"weight_tax": 50.0}

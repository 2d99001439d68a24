"""Text from packs and records reaches the terminal as text: control characters escaped, brackets literal."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

import mujun
from mujun.cli import app
from mujun.cli._common import escape_controls

runner = CliRunner()
#: retitles an xterm, rings the bell, turns the text red, reverses it (U+202E), and breaks rich markup
HOSTILE = "evil\x1b]0;pwned\x07\x1b[31m red \u202e txt [/bad] [bold]x"


def test_control_characters_become_visible_escapes() -> None:
    assert escape_controls("a\x1b[31mb\x07c\u202ed\n\te") == "a\\x1b[31mb\\x07c\\u202ed\n\te"
    assert escape_controls("某县工业企业亩均效益综合评价") == "某县工业企业亩均效益综合评价"


def test_pack_show_prints_a_hostile_title_escaped_and_literal(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    title = HOSTILE.encode("unicode_escape").decode("ascii")
    pack.write_text(f'id: evil\nversion: "1"\ntitle: "{title}"\nsource: s\n', encoding="utf-8")
    run = runner.invoke(app, ["pack", "show", str(pack)])
    assert run.exit_code == 0, run.output
    assert "\x1b" not in run.output and "\x07" not in run.output and "\u202e" not in run.output
    assert "evil\\x1b]0;pwned\\x07\\x1b[31m red \\u202e txt [/bad] [bold]x" in run.output


def test_explain_prints_a_hostile_record_id_escaped(tmp_path: Path) -> None:
    data = tmp_path / "county.csv"
    record = {"enterprise_id": HOSTILE, "region": "320102", "land_mu": 10.0, "tax_wan": 50.0, "revenue_wan": 900.0,
              "electricity_kwh": 1e5, "energy_tce": 30.0, "years_in_production": 5.0}
    mujun.write_table(pl.DataFrame([record]), data)
    run = runner.invoke(app, ["explain", "-p", "js-huaian-2024", "-i", str(data), "--id", HOSTILE])
    assert run.exit_code == 0, run.output
    assert "\x1b" not in run.output and "\u202e" not in run.output
    assert "evil\\x1b]0;pwned" in run.output


def test_score_summary_shows_a_bracketed_region_literally(tmp_path: Path) -> None:
    data = tmp_path / "county.csv"
    record = {"enterprise_id": "E1", "region": "[/x]\x1b[2J", "land_mu": 10.0, "tax_wan": 50.0, "revenue_wan": 900.0,
              "electricity_kwh": 1e5, "energy_tce": 30.0, "years_in_production": 5.0}
    mujun.write_table(pl.DataFrame([record]), data)
    run = runner.invoke(app, ["score", "-p", "js-huaian-2024", "-i", str(data), "-o", str(tmp_path / "out.csv")])
    assert run.exit_code == 0, run.output
    assert "[/x]\\x1b[2J" in run.output and "\x1b" not in run.output

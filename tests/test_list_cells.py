"""A list where one value is expected (JSONL ``"region": ["320102"]``) is an input error naming the
column, never a traceback from a cast (which is what main gave, from the library and the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mujun
from mujun.cli import app
from mujun.errors import InputError

PACK = "js-huaian-2024"
FIRM = {"enterprise_id": "E1", "region": "320102", "size_class": "above", "land_mu": 10, "tax_wan": 50,
        "revenue_wan": 100, "energy_tce": 5, "electricity_kwh": 1000, "employees": 10, "years_in_production": 5}


def test_the_cli_refuses_a_list_in_a_text_column_with_exit_2_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "firms.jsonl"
    path.write_text(json.dumps({**FIRM, "region": ["320102"]}) + "\n", encoding="utf-8")
    run = CliRunner().invoke(app, ["score", "-p", PACK, "-i", str(path), "-o", str(tmp_path / "out.csv")])
    assert run.exit_code == 2, run.output
    assert "column 'region' holds List(String) values (e.g. ['320102'])" in " ".join(run.output.split())
    assert not (tmp_path / "out.csv").exists()


def test_the_library_refuses_a_list_in_a_number_column_naming_it() -> None:
    with pytest.raises(InputError, match=r"column 'tax_wan' holds List\(String\) values .*one number per record"):
        mujun.load_pack(PACK).evaluate([{**FIRM, "tax_wan": [50]}])


def test_a_list_in_one_of_several_tables_names_that_table_and_column() -> None:
    tables = {"miit": [{"enterprise_id": "E1", "region": ["320102"]}], "tax": [{"enterprise_id": "E1", "tax_wan": 5}]}
    with pytest.raises(InputError, match=r"^miit: column 'region' holds List"):
        mujun.load_pack(PACK).evaluate(tables)


def test_flags_still_take_lists() -> None:
    table = mujun.load_pack(PACK).evaluate([{**FIRM, "flags": ["safety_accident"]}]).table
    assert table["status"][0] == "ok"

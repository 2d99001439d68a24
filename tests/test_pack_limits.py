"""Packs too large, too deep or too odd to score are refused at validation, with their location.

Each case is generated (a megabyte expression does not belong in a fixture file) and must give a
PackError with the YAML path and message below, from the library and from ``mujun pack validate``
(exit 2, no traceback). Evaluation cost grows linearly with the number of indicators.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import mujun
from mujun.cli import app
from mujun.engine.indicators import compute_indicators
from mujun.errors import PackError

HEAD = 'id: big\nversion: "1"\ntitle: t\nsource: s\n'


def _indicators(count: int, expr: str = "tax_wan / land_mu + {k}") -> str:
    return HEAD + "indicators:\n" + "".join(f"  i{k}: {expr.format(k=k)}\n" for k in range(count))


#: name → (pack text, YAML path the issue starts with, part of its message)
CASES: dict[str, tuple[str, str, str]] = {
    "sum_of_1000_terms": (HEAD + "indicators:\n  a: " + "+".join(["tax_wan"] * 1000) + "\n",
                          "indicators.a", "limit is 2,000"),
    "sum_of_1000_short_terms": (HEAD + "parameters: {a: 1}\nindicators:\n  s: " + "+".join(["a"] * 1000) + "\n",
                                "indicators.s", "nests more than 64 levels"),
    "expression_of_1_mb": (HEAD + "indicators:\n  a: tax_wan" + " + tax_wan" * 100_000 + "\n",
                           "", "the limit is 262,144"),
    "10k_unary_minus": (HEAD + "indicators:\n  a: " + "-" * 10_000 + "tax_wan\n", "indicators.a", "limit is 2,000"),
    "1900_unary_minus": (HEAD + "indicators:\n  a: " + "-" * 1_900 + "tax_wan\n", "indicators.a", "nests more than"),
    "nested_parentheses": (HEAD + "indicators:\n  a: " + "(" * 300 + "tax_wan" + ")" * 300 + "\n",
                           "indicators.a", "too many nested parentheses"),
    "long_dotted_name": (HEAD + "indicators:\n  a: " + ".".join(["a"] * 900) + "\n", "indicators.a", "unknown name"),
    "integer_of_309_digits": (HEAD + "indicators:\n  a: tax_wan + 2" + "0" * 308 + "\n", "indicators.a", "finite"),
    "integer_of_1990_digits": (HEAD + "indicators:\n  a: tax_wan + " + "9" * 1_990 + "\n", "indicators.a", "finite"),
    "yaml_integer_of_400_digits": (HEAD + "parameters:\n  a: " + "9" * 400 + "\n", "parameters.a", "valid number"),
    "yaml_integer_of_5000_digits": (HEAD + "parameters:\n  a: " + "9" * 5000 + "\n", "line 6", "unreadable value"),
    "yaml_impossible_date": (HEAD + "effective: {from: 2024-13-45}\n", "line 5", "unreadable value"),
    "yaml_nested_50k_deep": (HEAD + "leaves_out: " + "[" * 50_000 + "]" * 50_000 + "\n", "line 5", "nesting depth"),
    "too_many_indicators": (_indicators(501), "indicators", "at most 500"),
    "too_many_items": (HEAD + "items:\n" + "".join(f"  t{k}: {{method: expr, expr: 1}}\n" for k in range(201)),
                       "items", "at most 200"),
    "too_many_scope_rules": (HEAD + "scope:\n" + "".join(f"  - {{when: tax_wan < {k}, reason: r}}\n" for k in range(501)),
                             "scope", "at most 500"),
    "pack_of_4_5_mb": (HEAD + "leaves_out: '" + "x" * 4_500_000 + "'\n", "", "the limit is 262,144"),
    "extends_a_server_file": (HEAD + "extends: /etc/hostname\n", "extends", "never a file"),
    "extends_not_a_name": (HEAD + "extends: [a, b]\n", "extends", "give the id"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_pack_beyond_the_limits_is_a_pack_error_with_its_path(name: str) -> None:
    text, where, message = CASES[name]
    with pytest.raises(PackError) as caught:
        mujun.load_pack_text(text)
    assert any(i.path.startswith(where) and message in i.message for i in caught.value.issues), caught.value.issues
    assert all(len(i.message) < 3_000 for i in caught.value.issues), "a message never quotes a whole huge input"


@pytest.mark.parametrize("name", ["sum_of_1000_short_terms", "10k_unary_minus", "yaml_integer_of_5000_digits",
                                  "yaml_nested_50k_deep", "too_many_indicators"])
def test_pack_validate_exits_2_without_a_traceback(name: str, tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(CASES[name][0], encoding="utf-8")
    run = CliRunner().invoke(app, ["pack", "validate", str(path)])
    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.output and "PACK_INVALID" in run.output


def test_a_binary_pack_file_is_a_pack_error(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff binary")
    run = CliRunner().invoke(app, ["pack", "validate", str(path)])
    assert run.exit_code == 2 and "not a UTF-8 text file" in run.output, run.output


def test_extends_to_a_binary_file_is_a_pack_error_at_extends(tmp_path: Path) -> None:
    (tmp_path / "parent.bin").write_bytes(b"\x00\xff\xfe binary")
    child = tmp_path / "pack.yaml"
    child.write_text(HEAD + f"extends: {tmp_path / 'parent.bin'}\n", encoding="utf-8")
    with pytest.raises(PackError) as caught:
        mujun.load_pack(child)
    assert [(i.path, "not a UTF-8 text file" in i.message) for i in caught.value.issues] == [("extends", True)]


def test_a_local_pack_file_may_still_extend_a_path(tmp_path: Path) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text(mujun.load_pack("zj-huangyan-2021").text, encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {parent}\nid: child\nversion: '2'\n", encoding="utf-8")
    assert mujun.load_pack(child).model.title == mujun.load_pack("zj-huangyan-2021").title


def test_pack_text_extends_a_bundled_id_by_default() -> None:
    pack = mujun.load_pack_text("extends: zj-huangyan-2021\nid: child\nversion: '2'\n")
    assert pack.model.items.keys() == mujun.load_pack("zj-huangyan-2021").model.items.keys()


def _with_columns_nodes(text: str) -> int:
    pack = mujun.load_pack_text(text)
    frame = pl.LazyFrame({"tax_wan": [1.0], "land_mu": [2.0]})
    return compute_indicators(frame, pack.plan).explain(optimized=False).count("WITH_COLUMNS")


def test_independent_indicators_are_one_plan_step_not_one_each() -> None:
    # one lazy node per indicator made memory quadratic in their number: 3,000 → 1.5 GB for two rows
    assert _with_columns_nodes(_indicators(500)) == 1


def test_an_indicator_reading_an_earlier_one_starts_a_new_plan_step() -> None:
    text = HEAD + "indicators: {a: tax_wan, b: land_mu, c: a + b, d: tax_wan * 2, e: c + d}\n"
    assert _with_columns_nodes(text) == 3
    row = mujun.load_pack_text(text).evaluate([{"enterprise_id": "x", "tax_wan": 1, "land_mu": 2}]).table.row(0, named=True)
    assert (row["indicator.c"], row["indicator.d"], row["indicator.e"]) == (3.0, 2.0, 5.0)


def test_a_pack_at_the_indicator_limit_evaluates() -> None:
    result = mujun.load_pack_text(_indicators(500)).evaluate([{"enterprise_id": "x", "tax_wan": 4, "land_mu": 2}])
    assert result.table["indicator.i499"].to_list() == [501.0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_a_non_finite_parameter_override_is_a_pack_error_naming_the_parameter(value: str) -> None:
    with pytest.raises(PackError) as caught:
        mujun.load_pack("js-huaian-2024").with_parameters({"d_surcharge_yuan_per_kwh": value})
    assert any(i.path.startswith("parameters.d_surcharge_yuan_per_kwh") and "finite" in i.message
               for i in caught.value.issues), caught.value.issues

"""The expression language: safe to parse, and its two interpreters agree, nulls included."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mujun
from mujun import lang as ex
from mujun.engine.lookups import lookup_col, lookup_sites
from mujun.engine.lower import LOWERINGS, lower
from oracle import reference_evaluate
from mujun.errors import PackError
from mujun.packs.load import locator
from conftest import FIXTURES

TABLES = {"reduction": {"A": 100.0, "B": 50.0}}


def vectorized(text: str, env: dict) -> object:
    frame = pl.DataFrame({k: [v] for k, v in env.items()},
                         schema={k: (pl.String if isinstance(v, str) or k == "s" else pl.List(pl.String)
                                     if isinstance(v, list) else pl.Float64) for k, v in env.items()})
    return frame.select(lower(ex.parse(text), pl.col, TABLES.__getitem__).alias("out")).item()


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "open('/etc/passwd')", "x.__class__", "[x for x in y]",
    "lambda: 1", "x ** 2", "x[0]", "f'{x}'", "x := 1",
])
def test_anything_outside_the_language_is_refused(text: str) -> None:
    with pytest.raises(ex.ExpressionSyntaxError):
        ex.parse(text)


@pytest.mark.parametrize("text,env,expected", [
    ("a / b", {"a": 1.0, "b": 0.0}, None),
    ("a / b", {"a": 1.0, "b": None}, None),
    ("min(a, b)", {"a": 1.0, "b": None}, None),
    ("coalesce(a, b)", {"a": None, "b": 2.0}, 2.0),
    ("when(a > 1, 10, 20)", {"a": None}, 20.0),
    ("a > 1 or b > 1", {"a": None, "b": 2.0}, True),
    ("a > 1 and b > 1", {"a": None, "b": 0.0}, False),
    ("a > 1 and b > 1", {"a": None, "b": 2.0}, None),
    ("is_missing(a)", {"a": None}, True),
    ("s in ('x', 'y')", {"s": "y"}, True),
    ("s not in ('x', 'y')", {"s": None}, None),
    ("lookup(reduction, s)", {"s": "B"}, 50.0),
    ("lookup(reduction, s)", {"s": "D"}, None),
    ("round(a, 1)", {"a": 2.25}, 2.3),
    ("has_flag('high_tech')", {"flags": ["high_tech"]}, True),
    ("1 < a <= 3", {"a": 3.0}, True),
    ("-a + abs(b)", {"a": 2.0, "b": -5.0}, 3.0),
    ("clamp(a, 0, 10)", {"a": 12.5}, 10.0),
    ("clamp(a, 0, 10)", {"a": -1.0}, 0.0),
    ("clamp(a, b, 10)", {"a": 5.0, "b": None}, None),
])
def test_null_rules_hold_in_both_interpreters(text: str, env: dict, expected: object) -> None:
    assert ex.eval_row(ex.parse(text), env, TABLES.__getitem__) == expected
    assert vectorized(text, env) == expected


numbers = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))


@given(a=numbers, b=numbers, c=numbers)
def test_interpreters_agree_on_arithmetic(a, b, c) -> None:
    text = "when(a > b, max(a, c) / b, min(b, c) * 2 - a) + coalesce(c, 1)"
    env = {"a": a, "b": b, "c": c}
    row, column = ex.eval_row(ex.parse(text), env, TABLES.__getitem__), vectorized(text, env)
    assert (row is None) == (column is None)
    if row is not None:
        assert math.isclose(row, column, rel_tol=1e-12, abs_tol=1e-12)


@given(a=numbers, b=numbers, c=numbers)
def test_interpreters_agree_on_clamp(a, b, c) -> None:
    env = {"a": a, "b": b, "c": c}
    assert ex.eval_row(ex.parse("clamp(a, b, c)"), env, TABLES.__getitem__) == vectorized("clamp(a, b, c)", env)


def test_names_lists_what_an_expression_reads() -> None:
    assert ex.names(ex.parse("tax_wan / land_mu + item.tax if has_flag('x') else 0")) == {
        "tax_wan", "land_mu", "item.tax", "flags"}


# ---------------------------------------------------------------- lookup with a number key

NUMBER_KEY_PACK = """\
id: test-number-key
version: "1"
title: a rate by years in production
source: tests
parameters:
  rate: {"1": 10, "2": 20}
items:
  years: {method: expr, expr: "coalesce(lookup(rate, years_in_production), 0)"}
tiers:
  method: thresholds
  thresholds: [{tier: A, min: 15}, {tier: B, min: 5}, {tier: C}]
"""


def test_lookup_with_a_number_key_reads_whole_number_keys_alike_in_engine_and_reference() -> None:
    pack = mujun.load_pack_text(NUMBER_KEY_PACK)
    rows = [{"enterprise_id": f"E{i}", "region": "r", "industry": "13", "land_mu": 10.0, "tax_wan": 1.0,
             "years_in_production": years} for i, years in enumerate([1.0, 2.0, 3.0, 1.5])]
    table = pack.evaluate(rows).table
    reference = reference_evaluate(pack, rows)
    assert table["tier"].to_list() == [env["tier"] for env in reference] == ["B", "A", "C", "C"]
    assert table["item.years"].to_list() == [env["item.years"] for env in reference] == [10.0, 20.0, 0.0, 0.0]
    site = lookup_sites(pack.plan)[0]  # 3 and 1.5 are not keys of the table: recorded, alike
    assert pack.evaluate(rows).explain_table()[lookup_col(site)].to_list() == [None, None, "3", "1.5"]
    assert [env["unknown_lookups"] for env in reference] == [[], [], [(site.path, "rate", "3")],
                                                              [(site.path, "rate", "1.5")]]


@pytest.mark.parametrize("keys", ['{"1.5": 10}', '{"01": 10}', '{"one": 10}'])
def test_lookup_with_a_number_key_needs_a_table_keyed_by_whole_numbers(keys: str) -> None:
    text = NUMBER_KEY_PACK.replace('{"1": 10, "2": 20}', keys)
    with pytest.raises(PackError) as caught:
        mujun.load_pack_text(text)
    [issue] = caught.value.issues
    assert issue.path == "items.years.expr" and "every key of rate must be a whole number" in issue.message


def test_lookup_with_a_text_key_reads_any_table() -> None:
    assert ex.check(ex.parse("lookup(rate, industry)"), {"industry": ex.STR}, {"rate": {"01": 1.0}}).type == ex.NUM


# ---------------------------------------------------------------- where an issue is


def test_a_type_error_names_the_line_and_the_column_of_the_part_at_fault() -> None:
    text = NUMBER_KEY_PACK.replace('"coalesce(lookup(rate, years_in_production), 0)"', "tax_wan + industry")
    with pytest.raises(PackError) as caught:
        mujun.load_pack_text(text)
    [issue] = caught.value.issues
    written = '  years: {method: expr, expr: tax_wan + industry}'
    line, column = text.splitlines().index(written) + 1, written.index("industry") + 1
    assert (issue.path, issue.line, issue.column) == ("items.years.expr", line, column)  # `industry`, not `+`
    assert f"(line {line}, column {column})" in str(issue)


def test_a_schema_error_names_the_line_of_its_key() -> None:
    text = NUMBER_KEY_PACK.replace("method: expr,", "method: expr, wieght: 3,")
    with pytest.raises(PackError) as caught:
        mujun.load_pack_text(text)
    assert [(i.path, i.line) for i in caught.value.issues] == [("items.years.wieght", 8)]


def test_an_issue_in_an_inherited_section_has_no_line_of_this_text() -> None:
    locate = locator("id: x\nitems:\n  tax: {weight: 3}\n")
    assert locate("items.tax.weight", None) == (3, 17)
    assert locate("items.energy.weight", None) is None


# ---------------------------------------------------------------- the language stands alone


def test_the_language_imports_neither_polars_nor_the_engine() -> None:
    """``mujun.lang`` loaded without ``mujun/__init__`` (which loads the engine): what does it pull in?"""
    service = Path(mujun.__file__).parent
    probe = ("import sys, types; package = types.ModuleType('mujun'); package.__path__ = [sys.argv[1]]; "
             "sys.modules['mujun'] = package; import mujun.lang; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'polars' or m.startswith('mujun.engine')))")
    found = subprocess.run([sys.executable, "-c", probe, str(service)], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_every_builtin_has_a_lowering_and_a_documented_line() -> None:
    reference = (Path(mujun.__file__).parents[2] / "docs" / "pack-language.md").read_text(encoding="utf-8")
    for builtin in ex.BUILTINS.values():
        assert builtin.lowering in LOWERINGS, builtin.name
        assert f"`{builtin.name}(" in reference, builtin.name


def test_evaluation_lowers_nothing_the_compiler_lowered_every_expression(monkeypatch) -> None:
    """Polars expressions are immutable: built once per pack at compile time, read by every evaluation."""
    from mujun.engine import lower as lowering
    from mujun.synth import generate

    packs = [mujun.load_pack(p) for p in [*sorted((FIXTURES / "packs").glob("*.yaml")), "js-huaian-2024"]]
    current, prior = generate(300, 3, seed=7)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an expression was lowered during evaluation")

    monkeypatch.setattr(lowering, "_lower", refuse)
    for pack in packs:
        lacking = [spec for spec in pack.plan.inputs.values() if spec.name not in current.columns]
        data = current.with_columns(pl.lit(_filler(pack, spec)).alias(spec.name) for spec in lacking)
        result = pack.evaluate(data, prior=prior, cycle=2024)
        assert result.table.height == current.height
        result.explain_table()


def _filler(pack: mujun.Pack, spec) -> object:
    if spec.type == "number":
        return 1.0
    return (spec.allowed or pack.plan.tier_names or ["x"])[0]

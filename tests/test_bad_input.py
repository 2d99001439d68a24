"""Bad records never stop a batch and are never lost: each gets status 'error' naming field and value."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import mujun
from mujun.errors import InputError


def firm(ident: str, **values) -> dict:
    base = {"enterprise_id": ident, "region": "320803", "land_mu": 10.0, "tax_wan": 50.0, "revenue_wan": 900.0,
            "energy_tce": 80.0, "years_in_production": 5}
    return {**base, **values}


@pytest.fixture(scope="module")
def huaian() -> mujun.Pack:
    return mujun.load_pack("js-huaian-2024")


def errors_by_id(result) -> dict[str, str | None]:
    return dict(zip(result.table["enterprise_id"].to_list(), result.table["error"].to_list()))


def test_missing_required_value_names_the_field(huaian) -> None:
    result = huaian.evaluate([firm("A"), firm("B", tax_wan=None)])
    assert errors_by_id(result)["B"] == "tax_wan: missing required value"
    assert result.table.filter(pl.col("enterprise_id") == "A")["status"].item() == "ok"


def test_non_numeric_value_names_field_and_value(huaian) -> None:
    result = huaian.evaluate([firm("A"), firm("B", tax_wan="about 50")])
    assert errors_by_id(result)["B"] == "tax_wan: not a number: 'about 50'"


@pytest.mark.parametrize("land", [0, -2.5])
def test_zero_or_negative_land_is_a_record_error(huaian, land: float) -> None:
    result = huaian.evaluate([firm("A"), firm("B", land_mu=land)])
    assert errors_by_id(result)["B"].startswith("land_mu: must be > 0, got")


def test_every_row_of_a_duplicated_id_is_an_error(huaian) -> None:
    result = huaian.evaluate([firm("A"), firm("B"), firm("A", tax_wan=70)])
    table = result.table
    assert table.height == 3
    assert table["status"].to_list() == ["error", "ok", "error"]
    assert "duplicate 'A' (2 rows share it)" in table["error"][0]


def test_several_problems_of_one_record_are_all_listed(huaian) -> None:
    result = huaian.evaluate([firm("A", tax_wan="x", land_mu=0)])
    message = result.table["error"].item()
    assert "tax_wan: not a number: 'x'" in message and "land_mu: must be > 0" in message


def test_error_rows_do_not_count_in_cohort_benchmarks(huaian) -> None:
    good = huaian.evaluate([firm("A", tax_wan=10), firm("B", tax_wan=30)])
    with_bad = huaian.evaluate([firm("A", tax_wan=10), firm("B", tax_wan=30), firm("C", tax_wan=9999, land_mu=0)])
    assert with_bad.table["benchmark.tax_per_mu_bm"][0] == good.table["benchmark.tax_per_mu_bm"][0] == 4.0


def test_missing_required_column_makes_the_input_unusable(huaian) -> None:
    with pytest.raises(InputError, match="no column for: tax_wan"):
        huaian.evaluate([{k: v for k, v in firm("A").items() if k != "tax_wan"}])


def test_output_keeps_input_order_and_length(huaian) -> None:
    rows = [firm(f"E{i}", tax_wan=(i * 37) % 11 + 1, land_mu=(0 if i % 7 == 0 else 5)) for i in range(50)]
    table = huaian.evaluate(rows).table
    assert table["enterprise_id"].to_list() == [r["enterprise_id"] for r in rows]


CONVERTERS = [pl.DataFrame, lambda rows: pl.LazyFrame(rows), lambda rows: pd.DataFrame(rows),
              lambda rows: pa.Table.from_pylist(rows)]


@pytest.mark.parametrize("convert", CONVERTERS, ids=["polars", "polars-lazy", "pandas", "arrow"])
def test_dataframes_and_arrow_tables_are_accepted(huaian, convert) -> None:
    rows = [firm("A"), firm("B", tax_wan=20.0), firm("C", tax_wan=None)]
    table = huaian.evaluate(convert(rows)).table
    assert table["status"].to_list() == ["ok", "ok", "error"]


@pytest.mark.parametrize("convert", CONVERTERS, ids=["polars", "polars-lazy", "pandas", "arrow"])
def test_the_prior_year_is_accepted_in_every_table_type(huaian, convert) -> None:
    rows = [firm("A"), firm("B", tax_wan=20.0)]
    prior = [firm("P1", tax_wan=8.0), firm("P2", tax_wan=12.0)]
    expected = huaian.evaluate(rows, prior=prior).table
    assert expected["benchmark_basis"].to_list() == ["prior year"] * 2
    assert huaian.evaluate(rows, prior=convert(prior)).table.equals(expected)


def test_pandas_nan_counts_as_missing(huaian) -> None:
    frame = pd.DataFrame([firm("A"), firm("B", tax_wan=float("nan"))])
    assert errors_by_id(huaian.evaluate(frame))["B"] == "tax_wan: missing required value"


def test_flags_as_text_are_split(huaian) -> None:
    result = huaian.evaluate([firm("A", flags="high_tech; env_violation"), firm("B", flags="")])
    assert result.table["tier"].to_list()[0] == "D"


def test_unknown_input_type_is_rejected(huaian) -> None:
    with pytest.raises(InputError, match="unsupported input type"):
        huaian.evaluate("not a table")


def test_a_pack_that_reads_the_cycle_year_refuses_to_run_without_one():
    pack = mujun.load_pack("js-suzhou-electricity")
    rows = [{"enterprise_id": "E1", "tier": "D", "electricity_kwh": 1_000_000.0}]
    with pytest.raises(InputError, match=r"reads the cycle year \(measures\.electricity_surcharge_yuan_per_kwh"):
        pack.evaluate(rows)
    assert pack.evaluate(rows, cycle=2021).table["measure.electricity_surcharge_yuan"][0] == pytest.approx(300_000)

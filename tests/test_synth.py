"""The synthetic data generator: deterministic, typed, realistic enough, and faulty where asked."""

from __future__ import annotations

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from mujun.cli import synth as synth_cli
from mujun.synth import FLAGS, INDUSTRIES, generate, region_codes

NUMERIC = {
    "land_mu": pl.Float64,
    "tax_wan": pl.Float64,
    "revenue_wan": pl.Float64,
    "value_added_wan": pl.Float64,
    "energy_tce": pl.Float64,
    "electricity_kwh": pl.Float64,
    "emissions_t": pl.Float64,
    "water_m3": pl.Float64,
    "employees": pl.Int64,
    "rd_wan": pl.Float64,
    "fixed_asset_investment_wan": pl.Float64,
    "floor_area_m2": pl.Float64,
    "years_in_production": pl.Int64,
}


@pytest.fixture(scope="module")
def tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    return generate(20_000, regions=8, seed=7)


def invalid_rows(table: pl.DataFrame) -> pl.Series:
    """Rows a pack's validation rejects: missing core values, land <= 0, no county, duplicated id."""
    return table.select(
        pl.col("land_mu").is_null()
        | (pl.col("land_mu") <= 0)
        | pl.col("tax_wan").is_null()
        | pl.col("revenue_wan").is_null()
        | pl.col("region").is_null()
        | pl.col("enterprise_id").is_duplicated()
    ).to_series()


def test_same_seed_gives_identical_tables():
    first, first_prior = generate(5_000, regions=4, seed=3)
    second, second_prior = generate(5_000, regions=4, seed=3)
    assert first.equals(second, null_equal=True)
    assert first_prior.equals(second_prior, null_equal=True)


def test_different_seeds_give_different_tables():
    assert not generate(1_000, seed=1)[0].equals(generate(1_000, seed=2)[0])


def test_current_year_has_n_rows_and_the_canonical_columns(tables):
    current, _ = tables
    assert current.height == 20_000
    assert current.columns[:5] == ["enterprise_id", "name", "region", "industry", "size_class"]
    assert current.columns[-1] == "flags"


def test_numeric_columns_stay_numeric_even_when_faulty(tables):
    for table in tables:
        for name, dtype in NUMERIC.items():
            assert table.schema[name] == dtype, name
        assert table.schema["flags"] == pl.List(pl.String)


def test_string_columns_have_the_documented_shape(tables):
    current, _ = tables
    assert current["enterprise_id"].str.contains(r"^E\d{8}$").all()
    assert current["region"].drop_nulls().str.contains(r"^\d{6}$").all()
    assert set(current["region"].drop_nulls().unique()) <= set(region_codes(8))
    assert set(current["industry"].unique()) <= set(INDUSTRIES)
    assert set(current["size_class"].unique()) == {"above", "below"}
    assert set(current["flags"].explode().drop_nulls().unique()) <= set(FLAGS)


def test_invalid_rows_are_close_to_the_bad_fraction(tables):
    for table in tables:
        share = invalid_rows(table).mean()
        assert 0.012 <= share <= 0.028, share


def test_no_faults_when_bad_fraction_is_zero():
    current, prior = generate(5_000, seed=1, bad_fraction=0.0)
    assert not invalid_rows(current).any() and not invalid_rows(prior).any()
    assert current.null_count().sum_horizontal().item() == 0


def test_faults_include_every_kind(tables):
    current, _ = tables
    assert current["tax_wan"].null_count() > 0
    assert current["revenue_wan"].null_count() > 0
    assert (current["land_mu"] == 0).any() and (current["land_mu"] < 0).any()
    assert current["enterprise_id"].is_duplicated().any()
    assert current["energy_tce"].null_count() > 0 and current["emissions_t"].null_count() > 0


def test_distributions_are_plausible(tables):
    current, _ = tables
    stats = current.select(
        pl.col("land_mu").filter(pl.col("land_mu") > 0).median().alias("land"),
        (pl.col("size_class") == "above").mean().alias("above"),
        (pl.col("years_in_production") < 2).mean().alias("young"),
        (pl.col("tax_wan") / pl.col("revenue_wan")).median().alias("tax_share"),
        (pl.col("value_added_wan") / pl.col("revenue_wan")).median().alias("va_share"),
        pl.corr(pl.col("revenue_wan").log(), pl.col("energy_tce").log()).alias("energy_corr"),
    ).row(0, named=True)
    assert 20 <= stats["land"] <= 40
    assert 0.55 <= stats["above"] <= 0.65
    assert 0.03 <= stats["young"] <= 0.07
    assert 0.03 <= stats["tax_share"] <= 0.08
    assert 0.2 <= stats["va_share"] <= 0.3
    assert stats["energy_corr"] > 0.6


def test_below_scale_firms_are_smaller(tables):
    current, _ = tables
    medians = dict(current.group_by("size_class").agg(pl.col("revenue_wan").median()).iter_rows())
    assert medians["below"] < medians["above"] / 3


def test_prior_year_holds_most_current_firms_and_some_closed_ones(tables):
    current, prior = tables
    current_ids = set(current["enterprise_id"])
    prior_ids = set(prior["enterprise_id"])
    assert 0.9 <= len(current_ids & prior_ids) / len(current_ids) <= 0.97
    assert 0 < len(prior_ids - current_ids) < 0.03 * len(prior_ids)


def test_prior_year_values_move_by_about_ten_percent(tables):
    current, prior = tables
    joined = current.join(prior, on="enterprise_id", suffix="_prior").filter(
        pl.col("revenue_wan").is_not_null() & pl.col("revenue_wan_prior").is_not_null()
    )
    change = (joined["revenue_wan_prior"] / joined["revenue_wan"] - 1).abs()
    assert change.quantile(0.99) <= 0.1 + 1e-9


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_cli_writes_both_years_by_extension(tmp_path, suffix):
    app = typer.Typer()
    synth_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer from flattening the app
    output, prior = tmp_path / f"current{suffix}", tmp_path / f"prior{suffix}"
    result = CliRunner().invoke(
        app, ["synth", "--n", "500", "--seed", "4", "--output", str(output), "--prior", str(prior)]
    )
    assert result.exit_code == 0, result.output
    read = {".parquet": pl.read_parquet, ".csv": pl.read_csv, ".jsonl": pl.read_ndjson}[suffix]
    expected, _ = generate(500, seed=4)
    written = read(output)
    assert written.height == 500 and prior.exists()
    assert written["enterprise_id"].to_list() == expected["enterprise_id"].to_list()


def test_cli_writes_flags_to_csv_as_joined_strings(tmp_path):
    app = typer.Typer()
    synth_cli.register(app)
    app.command("noop")(lambda: None)
    output = tmp_path / "current.csv"
    assert CliRunner().invoke(app, ["synth", "--n", "2000", "--output", str(output)]).exit_code == 0
    expected = generate(2000)[0]["flags"].list.join(";")
    assert pl.read_csv(output)["flags"].fill_null("").to_list() == expected.to_list()


def test_cli_rejects_an_unknown_extension(tmp_path):
    app = typer.Typer()
    synth_cli.register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["synth", "--n", "10", "--output", str(tmp_path / "x.txt")])
    assert result.exit_code != 0

"""County data as bureaus export it: headers with units, Chinese values, several files joined on the
credit code — loaded with no editing, scored exactly like the canonical file, nothing lost in silence."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from typer.testing import CliRunner

import mujun
from mujun.cli import app
from mujun.errors import InputError
from mujun.synth import generate

runner = CliRunner()
PACK = "js-huaian-2024"

#: canonical field → the header a county data bureau's export has (the issue's XLSX)
BUREAU = {"enterprise_id": "统一社会信用代码", "name": "企业名称", "region": "行政区划代码", "size_class": "规模类型",
          "land_mu": "用地面积(亩)", "tax_wan": "税收(万元)", "revenue_wan": "营业收入", "energy_tce": "综合能耗(吨标煤)",
          "electricity_kwh": "用电量(千瓦时)", "employees": "从业人员", "years_in_production": "投产年限"}
SIZE = {"above": "规上", "below": "规下"}
#: the same data as four bureaus hold it (工信 / 税务 / 统计 / 自然资源)
FILES = {"miit.xlsx": ["enterprise_id", "name", "region", "size_class", "employees", "years_in_production"],
         "tax.csv": ["enterprise_id", "name", "tax_wan", "revenue_wan"],
         "stats.csv": ["enterprise_id", "energy_tce", "electricity_kwh"],
         "land.csv": ["enterprise_id", "land_mu"]}


@pytest.fixture(scope="module")
def county() -> pl.DataFrame:
    """300 firms as text cells, values rounded as a bureau would publish them."""
    current, _ = generate(300, regions=1, seed=11, bad_fraction=0)
    numbers = [c for c in BUREAU if current.schema[c].is_numeric()]
    return current.select(list(BUREAU)).with_columns(pl.col(c).round(2).cast(pl.String) for c in numbers)


def _bureau(frame: pl.DataFrame) -> pl.DataFrame:
    if "size_class" in frame.columns:
        frame = frame.with_columns(pl.col("size_class").replace(SIZE))
    return frame.rename(BUREAU, strict=False)


def _xlsx(frame: pl.DataFrame, path: Path) -> Path:
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("企业")
        sheet.write_row(0, 0, frame.columns)
        for number, row in enumerate(frame.iter_rows(), start=1):
            sheet.write_row(number, 0, row)
    return path


def _flat(text: str) -> str:
    """Console output with the terminal's line wrapping undone."""
    return " ".join(text.split())


def _score(tmp_path: Path, *args: str, name: str = "out.csv") -> tuple[pl.DataFrame, str]:
    out = tmp_path / name
    run = runner.invoke(app, ["score", "-p", PACK, *args, "-o", str(out)])
    assert run.exit_code == 0, run.output
    return pl.read_csv(out, infer_schema_length=0), run.output


def _tiers(table: pl.DataFrame) -> dict[str, tuple[str | None, str | None]]:
    return {r["enterprise_id"]: (r["status"], r["tier"]) for r in table.iter_rows(named=True)}


@pytest.fixture(scope="module")
def canonical(county, tmp_path_factory) -> dict[str, tuple[str | None, str | None]]:
    folder = tmp_path_factory.mktemp("canonical")
    county.write_csv(folder / "canonical.csv")
    table, _ = _score(folder, "-i", str(folder / "canonical.csv"))
    assert (table["status"] == "ok").sum() > 250 and table["tier"].n_unique() >= 4
    return _tiers(table)


def test_the_issue_xlsx_loads_as_is_and_gives_the_canonical_tiers(county, canonical, tmp_path: Path) -> None:
    path = _xlsx(_bureau(county), tmp_path / "county.xlsx")
    table, output = _score(tmp_path, "-i", str(path))
    assert _tiers(table) == canonical
    assert "综合能耗(吨标煤)' → energy_tce" in output  # the column that used to be dropped in silence


def test_a_gb18030_csv_with_the_same_headers_gives_the_canonical_tiers(county, canonical, tmp_path: Path) -> None:
    path = tmp_path / "county.csv"
    path.write_bytes(_bureau(county).write_csv().encode("gb18030"))
    table, _ = _score(tmp_path, "-i", str(path))
    assert _tiers(table) == canonical


def _split(county: pl.DataFrame, folder: Path) -> list[Path]:
    """Four bureaus' files: each its own row order, and the credit code written each bureau's way."""
    paths = []
    ids = {"miit.xlsx": pl.col("enterprise_id"), "tax.csv": pl.col("enterprise_id").str.to_lowercase(),
           "stats.csv": pl.concat_str(pl.lit(" "), pl.col("enterprise_id"), pl.lit(" ")),
           "land.csv": pl.col("enterprise_id").str.replace_many(list("0123456789E"), list("０１２３４５６７８９Ｅ"))}
    for number, (name, fields) in enumerate(FILES.items()):
        order = list(range(county.height))
        random.Random(number).shuffle(order)
        part = _bureau(county[order].with_columns(ids[name].alias("enterprise_id")).select(fields))
        path = folder / name
        _xlsx(part, path) if name.endswith(".xlsx") else part.write_csv(path)
        paths.append(path)
    return paths


def test_four_bureau_files_join_on_the_credit_code_to_the_canonical_tiers(county, canonical, tmp_path: Path) -> None:
    paths = _split(county, tmp_path)
    table, output = _score(tmp_path, *(a for p in paths for a in ("-i", str(p))))
    assert _tiers(table) == canonical
    assert "inputs joined on enterprise_id: miit.xlsx, tax.csv, stats.csv, land.csv" in output


def test_the_python_api_joins_several_tables(county, canonical, tmp_path: Path) -> None:
    tables = [mujun.read_table(p) for p in _split(county, tmp_path)]
    result = mujun.load_pack(PACK).evaluate(tables)
    assert _tiers(result.table) == canonical
    assert result.explain(county["enterprise_id"][0])["inputs"]["land_mu"]["source"] == "input 4: '用地面积(亩)'"


def test_every_input_column_appears_in_the_summary(county, tmp_path: Path) -> None:
    frame = _bureau(county).with_columns(pl.lit("x").alias("备注"))
    path = tmp_path / "county.csv"
    frame.write_csv(path)
    _, output = _score(tmp_path, "-i", str(path))
    flat = output.replace("\n", "")
    for column in frame.columns:
        assert f"'{column}'" in flat, column
    assert "'企业名称' → name, not needed by this pack" in flat
    assert "columns not recognised (1): '备注'" in flat


def test_an_unrecognised_column_that_looks_like_a_field_warns_and_strict_fails(county, tmp_path: Path) -> None:
    """The issue's silent fallback: energy read from electricity because the energy column was not read."""
    path = tmp_path / "county.csv"
    _bureau(county).rename({"综合能耗(吨标煤)": "综合能源消费量(吨标煤)"}).write_csv(path)
    _, output = _score(tmp_path, "-i", str(path))
    flat = output.replace("\n", "")
    assert "'综合能源消费量(吨标煤)' is not recognised but looks like energy_tce" in flat
    assert ("energy_tce absent: all 300 firms scored with indicator energy_equiv_tce = electricity_kwh × tce_per_kwh "
            "(0.0001229)") in flat
    strict = runner.invoke(app, ["score", "-p", PACK, "-i", str(path), "-o", str(tmp_path / "s.csv"), "--strict"])
    assert strict.exit_code == 3 and "--strict: 1 warning(s)" in strict.output


def test_a_run_where_no_record_could_be_scored_exits_3_with_the_grouped_cause(county, tmp_path: Path) -> None:
    path = tmp_path / "county.csv"
    _bureau(county).with_columns(pl.lit("n/a").alias("税收(万元)")).write_csv(path)
    run = runner.invoke(app, ["score", "-p", PACK, "-i", str(path), "-o", str(tmp_path / "o.csv")])
    assert run.exit_code == 3
    assert "no record could be scored: all 300 failed — 300 record(s): tax_wan: not a number: 'n/a'" in \
        run.output.replace("\n", "")


def test_record_errors_are_grouped_by_cause_with_a_count_and_an_example() -> None:
    rows = [{"enterprise_id": f"E{i}", "region": "1", "size_class": size, "land_mu": 1, "tax_wan": 1, "revenue_wan": 1}
            for i, size in enumerate(["大型", "大型", "中型"])]
    notes = mujun.load_pack("zj-template-2018").evaluate(rows).notes
    assert "3 record(s): size_class: '大型' is not one of above, below (and 1 other value(s))" in notes


def test_size_class_accepts_its_chinese_forms(county) -> None:
    pack = mujun.load_pack("zj-huangyan-2022")
    current, _ = generate(200, regions=1, seed=5, bad_fraction=0)
    chinese = current.with_columns(pl.col("size_class").replace({"above": "规模以上", "below": "规下"}))
    plain, written = pack.evaluate(current).table, pack.evaluate(chinese).table
    assert (written["status"] == "ok").sum() > 150
    assert written.select("status", "tier", "score").equals(plain.select("status", "tier", "score"))


def test_yes_no_and_flag_names_in_chinese() -> None:
    zhangzhou = mujun.load_pack("fj-zhangzhou")
    record = {"enterprise_id": "A", "region": "1", "size_class": "规上", "land_mu": 1, "tax_wan": 1}
    table = zhangzhou.evaluate([{**record, "rents_factory": "是"}, {**record, "enterprise_id": "B", "rents_factory": "否"},
                                {**record, "enterprise_id": "C", "rents_factory": "也许"}]).table
    assert table["rents_factory" if "rents_factory" in table.columns else "error"].to_list()[:2] in (
        ["yes", "no"], [None, None])
    assert table["error"][2] == "rents_factory: '也许' is not one of yes, no"
    rows = [{"enterprise_id": f"E{i}", "region": "1", "land_mu": 10, "tax_wan": 10 + i, "revenue_wan": 100,
             "energy_tce": 5, "years_in_production": 5, "标记": "重大安全生产事故" if i == 9 else ""} for i in range(10)]
    table = mujun.load_pack(PACK).evaluate(rows).table
    assert table["tier"][9] == "D" and table["adjust.safety_accident"][9] is not None


def _two_files(tmp_path: Path, tax: list[str]) -> list[str]:
    (tmp_path / "tax.csv").write_text("统一社会信用代码,税收(万元),营业收入,用地面积(亩)\n" +
                                      "".join(f"E{i},{t},100,10\n" for i, t in enumerate(tax)), encoding="utf-8")
    (tmp_path / "stats.csv").write_text("统一社会信用代码,行政区划代码,税收(元),综合能耗(吨标煤)\n" +
                                        "".join(f"E{i},1,{50 + i}0000,5\n" for i in range(3)), encoding="utf-8")
    return ["-i", str(tmp_path / "tax.csv"), "-i", str(tmp_path / "stats.csv")]


def test_a_value_that_differs_between_two_files_is_a_record_error_naming_both(tmp_path: Path) -> None:
    """Same figure in 万元 and in 元 agrees; a different one is an error quoting both files."""
    table, output = _score(tmp_path, *_two_files(tmp_path, ["50", "51", "99"]))
    assert table["status"].to_list() == ["ok", "ok", "error"]
    assert table["error"][2] == ("tax_wan: tax.csv says '99.0', stats.csv says '52.0' "
                                 "(correct one of them, or choose with --prefer)")
    assert "fields given by several inputs: tax_wan from tax.csv > stats.csv" in output


def test_prefer_resolves_a_difference_and_says_so(tmp_path: Path) -> None:
    table, output = _score(tmp_path, *_two_files(tmp_path, ["50", "51", "99"]), "--prefer", "stats.csv")
    assert table["status"].to_list() == ["ok", "ok", "ok"]
    assert "1 differing value(s) resolved by precedence: stats.csv > tax.csv" in output.replace("\n", "")
    explained = runner.invoke(app, ["explain", "-p", PACK, *_two_files(tmp_path, ["50", "51", "99"]),
                                    "--prefer", "stats.csv", "--id", "E2"])
    assert "税收 52 万元（字段 tax_wan，取自 stats.csv: '税收(元)'，元 → 万元 ÷ 10,000）" in explained.output


def test_a_firm_missing_from_one_file_is_reported_and_scored_by_the_missing_policy(tmp_path: Path) -> None:
    table, output = _score(tmp_path, *_two_files(tmp_path, ["50", "51", "52", "53"]))
    assert table.height == 4 and table["enterprise_id"][3] == "E3"
    assert table["error"][3] == "region: missing required value"
    assert "stats.csv lacks 1 of 4 firms (e.g. E3)" in output.replace("\n", "")


def test_units_in_headers_are_converted_and_the_conversion_is_stated(county, canonical, tmp_path: Path) -> None:
    frame = county.with_columns(
        (pl.col("tax_wan").cast(pl.Float64) * 10_000).round(0).cast(pl.String),
        (pl.col("electricity_kwh").cast(pl.Float64) / 10_000).cast(pl.String),
        (pl.col("energy_tce").cast(pl.Float64) * 1000).round(0).cast(pl.String),
        (pl.col("land_mu").cast(pl.Float64) * 10_000 / 15).cast(pl.String),
    ).rename({"tax_wan": "税收(元)", "electricity_kwh": "用电量（万千瓦时）", "energy_tce": "综合能耗[千克标煤]",
              "land_mu": "用地面积(平方米)"})
    path = tmp_path / "units.csv"
    frame.write_csv(path)
    table, output = _score(tmp_path, "-i", str(path))
    assert _tiers(table) == canonical
    flat = output.replace("\n", "")
    for stated in ("'税收(元)' 元 → 万元 ÷ 10,000", "万千瓦时 → kWh × 10,000", "千克标煤 → tce ÷ 1,000",
                   "平方米 → 亩 ÷ 666.67"):
        assert stated in flat, stated


def test_an_unknown_unit_is_an_input_error_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("企业代码,税收(美元),销售收入,用地面积\nA,1,1,1\n", encoding="utf-8")
    run = runner.invoke(app, ["score", "-p", PACK, "-i", str(path), "-o", str(tmp_path / "o.csv")])
    assert run.exit_code == 2 and "column '税收(美元)': unit '美元' is not known for tax_wan" in _flat(run.output)


def test_two_columns_for_one_field_is_an_input_error() -> None:
    with pytest.raises(InputError, match="columns '税收' and '实缴税金' both give tax_wan"):
        mujun.load_pack(PACK).evaluate([{"企业代码": "A", "税收": 1, "实缴税金": 2, "销售收入": 1, "用地面积": 1}])


def test_headers_match_regardless_of_width_blanks_and_case() -> None:
    rows = [{"ＥＮＴＥＲＰＲＩＳＥ_ID": "A", " Region ": "1", "用 地 面 积（亩）": "10", "TAX_WAN": "5", "营业收入": "9"}]
    table = mujun.load_pack(PACK).evaluate(rows).table
    assert table["status"][0] == "ok" and table["indicator.tax_per_mu"][0] == 0.5


@pytest.mark.parametrize(("written", "read"), [("1,234.5", 1234.5), ("１２３", 123.0), ("12.3万", 12.3),
                                                ("－５", -5.0), (" 7 ", 7.0)])
def test_numbers_as_bureaus_write_them(written: str, read: float) -> None:
    """``12.3万`` is 12.3 × 10⁴ 元 in a 万元 column, i.e. 12.3 万元."""
    table = mujun.load_pack(PACK).evaluate([{"enterprise_id": "A", "region": "1", "land_mu": "1",
                                             "tax_wan": written, "revenue_wan": "1"}]).table
    assert table["indicator.tax_per_mu"][0] == pytest.approx(read)


def test_a_magnitude_in_a_cell_counts_in_the_base_unit() -> None:
    table = mujun.load_pack(PACK).evaluate([{"enterprise_id": "A", "region": "1", "land_mu": "1", "tax_wan": "1",
                                             "revenue_wan": "1", "用电量(万千瓦时)": "1.5万"}])
    assert table.explain("A")["inputs"]["electricity_kwh"]["value"] == 15_000


@pytest.mark.parametrize("written", ["12.3千", "1.2.3", "约5"])
def test_a_number_that_cannot_be_read_is_that_records_error(written: str) -> None:
    table = mujun.load_pack(PACK).evaluate([{"enterprise_id": "A", "region": "1", "land_mu": "1",
                                             "tax_wan": written, "revenue_wan": "1"}]).table
    assert table["error"][0] == f"tax_wan: not a number: '{written}'"


def test_a_pack_declares_its_own_value_aliases() -> None:
    pack = mujun.load_pack_text("""
id: t
version: "1"
title: t
source: tests
inputs:
  land_mu: {require: positive}
  lease_kind: {type: string, require: present, allowed: [elastic, full], value_aliases: {弹性出让: elastic}}
indicators:
  tax_per_mu: tax_wan / land_mu
items:
  tax: {indicator: tax_per_mu, benchmark: bm, weight: 100}
parameters:
  bm: 10
tiers:
  method: thresholds
  thresholds: [{tier: A, min: 50}, {tier: B, min: 0}]
measures:
  elastic: {expr: "1 if lease_kind == 'elastic' else 0"}
""")
    rows = [{"enterprise_id": i, "land_mu": 1, "tax_wan": 5, "lease_kind": kind}
            for i, kind in (("A", "弹性出让"), ("B", "ＦＵＬＬ"), ("C", "租赁"))]
    table = pack.evaluate(rows).table
    assert table["measure.elastic"].to_list()[:2] == [1, 0]
    assert table["error"][2] == "lease_kind: '租赁' is not one of elastic, full"


def test_an_absent_field_is_stated_with_its_consequence_through_the_indicators() -> None:
    rows = [{"企业代码": "A", "区县代码": "1", "用地面积": "1", "税收": "5", "营业收入": "1"}]
    notes = mujun.load_pack(PACK).evaluate(rows).notes
    assert ("energy_tce absent: all 1 firms scored with indicator energy_equiv_tce is missing; indicator "
            "tax_per_energy is missing; item energy: 'zero' policy for a missing value; "
            "benchmarks.tax_per_energy_bm.denominator reads it as missing") in notes  # Σ税收 ÷ Σ能耗 (ratio of sums)
    assert ("years_in_production absent: all 1 firms scored with scope rule 'T 类：投产不满 2 年，不参评' cannot match "
            "(a missing condition is false)") in notes

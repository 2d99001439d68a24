"""Tables in and out: every format, Chinese headers through aliases, GBK CSV, atomic writes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import mujun
from mujun.errors import InputError

ROWS = [
    {"enterprise_id": "A", "region": "320803", "land_mu": 10.0, "tax_wan": 50.0, "revenue_wan": 900.0,
     "energy_tce": 80.0, "years_in_production": 5.0},
    {"enterprise_id": "B", "region": "320803", "land_mu": 20.0, "tax_wan": 30.0, "revenue_wan": 700.0,
     "energy_tce": 60.0, "years_in_production": 5.0},
]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".xlsx"])
def test_each_format_round_trips_and_scores_the_same(tmp_path: Path, suffix: str) -> None:
    pack = mujun.load_pack("js-huaian-2024")
    path = mujun.write_table(pl.DataFrame(ROWS), tmp_path / f"in{suffix}")
    assert pack.evaluate(mujun.read_table(path)).table["score"].to_list() == pack.evaluate(ROWS).table["score"].to_list()


def test_chinese_headers_load_through_aliases(tmp_path: Path) -> None:
    path = tmp_path / "county.csv"
    path.write_text("统一社会信用代码,区县代码,用地面积(亩),税收,销售收入,综合能耗,投产年限\n"
                    "A,320803,10,50,900,80,5\nB,320803,20,30,700,60,5\n", encoding="utf-8")
    table = mujun.load_pack("js-huaian-2024").evaluate(mujun.read_table(path)).table
    assert table["status"].to_list() == ["ok", "ok"]


def test_gbk_encoded_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("统一社会信用代码,区县代码,用地面积(亩),税收,销售收入\nA,320803,10,50,900\n".encode("gbk"))
    assert mujun.read_table(path).columns[0] == "统一社会信用代码"


def test_csv_cells_are_text_so_one_bad_cell_is_one_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("enterprise_id,region,land_mu,tax_wan,revenue_wan,energy_tce,years_in_production\n"
                    "A,320803,10,50,900,80,5\nB,320803,10,n/a,900,80,5\n", encoding="utf-8")
    table = mujun.load_pack("js-huaian-2024").evaluate(mujun.read_table(path)).table
    assert table["status"].to_list() == ["ok", "error"]
    assert table["error"][1] == "tax_wan: not a number: 'n/a'"


def test_unknown_format_and_missing_file_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown format"):
        mujun.read_table(tmp_path / "x.txt")
    with pytest.raises(InputError, match="no such file"):
        mujun.read_table(tmp_path / "x.csv")


def test_write_leaves_no_partial_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    with pytest.raises(Exception):
        mujun.write_table(pl.DataFrame({"x": [object()]}, strict=False), target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_only_the_columns_a_pack_reads_are_kept(tmp_path: Path, suffix: str) -> None:
    """``read_table(path, pack.input_headers)``: extra columns are dropped (Parquet never reads them);
    headers match by canonical name or alias, surrounding blanks ignored; the score is unchanged."""
    pack = mujun.load_pack("js-huaian-2024")
    wide = pl.DataFrame(ROWS).rename({"land_mu": " 用地面积(亩) "}).with_columns(
        pl.lit("某某制造有限公司").alias("name"), pl.lit(3.5).alias("unused_metric"))
    path = mujun.write_table(wide, tmp_path / f"wide{suffix}")
    narrow = mujun.read_table(path, pack.input_headers)
    assert "name" not in narrow.columns and "unused_metric" not in narrow.columns
    assert " 用地面积(亩) " in narrow.columns and "enterprise_id" in narrow.columns
    assert pack.evaluate(narrow).table["score"].to_list() == pack.evaluate(ROWS).table["score"].to_list()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_without_any_pack_column_is_reported_not_emptied(tmp_path: Path, suffix: str) -> None:
    pack = mujun.load_pack("js-huaian-2024")
    path = mujun.write_table(pl.DataFrame({"编号": ["A"], "面积": [10.0]}), tmp_path / f"odd{suffix}")
    table = mujun.read_table(path, pack.input_headers)
    assert table.shape == (1, 2)
    with pytest.raises(InputError, match="no column for: enterprise_id.*Columns present: 编号, 面积"):
        pack.evaluate(table)


def test_xls_is_read(tmp_path: Path) -> None:
    """Excel 97-2003, still common in government offices."""
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("企业")
    for col, header in enumerate(["统一社会信用代码", "行政区划代码", "用地面积(亩)", "税收(万元)", "营业收入"]):
        sheet.write(0, col, header)
    for col, value in enumerate(["A", "320803", 10, 50, 900]):
        sheet.write(1, col, value)
    book.save(str(tmp_path / "county.xls"))
    table = mujun.load_pack("js-huaian-2024").evaluate(mujun.read_table(tmp_path / "county.xls")).table
    assert table["status"][0] == "ok" and table["indicator.tax_per_mu"][0] == 5.0


def test_outputs_get_the_users_umask_not_0600(tmp_path: Path) -> None:
    import os
    import stat

    previous = os.umask(0o022)
    try:
        path = mujun.write_table(pl.DataFrame(ROWS), tmp_path / "result.csv")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_missing_output_folder_is_an_input_error_not_created(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist; create it first"):
        mujun.write_table(pl.DataFrame(ROWS), tmp_path / "typo" / "result.csv")
    assert not (tmp_path / "typo").exists()

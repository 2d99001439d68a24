"""``mujun pack diff``: what changed between two packs, in the words of their labels."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import mujun
from mujun.cli import app
from mujun.simulate.diff import pack_diff

runner = CliRunner()

HUANGYAN_DIVISORS = [
    "亩均税收除数 26.01 → 24.097 万元/亩",
    "亩均增加值除数 132.27 → 136.16 万元/亩",
    "单位能耗增加值除数 2.54 → 2.694 万元/tce",
    "单位排放增加值除数 4861.08 → 4929.81 万元/t",
    "全员劳动生产率除数 17.45 → 18.14 万元/人",
    "R&D经费支出占主营业务收入比重除数 0.0305 → 0.0302",
]


def test_huangyan_2021_to_2022_lists_the_new_divisors():
    run = runner.invoke(app, ["pack", "diff", "zj-huangyan-2021", "zj-huangyan-2022"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    for line in HUANGYAN_DIVISORS:
        assert line in run.output
    assert "规下亩均税收除数" not in run.output, "the below-scale divisors are the same in both years"
    assert "亩均税收 的基准 div_tax_per_mu 26.01 → 24.097" in run.output, "the item the divisor scores is named"


def test_diff_as_json_has_each_change_with_its_place_and_values():
    run = runner.invoke(app, ["pack", "diff", "zj-huangyan-2021", "zj-huangyan-2022", "--json"])
    assert run.exit_code == 0, run.output
    found = json.loads(run.output)
    change = next(c for c in found["changes"] if c["section"] == "parameters" and c["key"] == "div_tax_per_mu")
    assert (change["kind"], change["before"], change["after"]) == ("changed", 26.01, 24.097)
    assert found["identical"] is False and found["old"]["id"] == "zj-huangyan-2021"


def test_a_weight_overlay_reads_as_the_editor_says_it():
    pack = mujun.load_pack("js-huaian-2024")
    texts = [c.text for c in pack_diff(pack, pack.with_parameters({"weight_tax": 50, "land_tax_reduction_pct.A": 80})).changes]
    assert texts[:2] == ["亩均税收权重 45 → 50 分", "城镇土地使用税减免比例（占位，待核）·A 100 → 80 %"]


def test_tiers_items_and_measures_that_changed_are_listed_by_label():
    found = pack_diff(mujun.load_pack("js-huaian-2024"), mujun.load_pack("js-nanjing-2018"))
    texts = [c.text for c in found.changes]
    assert "分类 等级比例·C·比例（%） 35 → 30" in texts
    assert "新增分类「分类 等级比例·C-」：比例（%） 5" in texts
    assert "删除措施「城镇土地使用税减免」（原为 按等级 land_tax_reduction_pct）" in texts
    assert "删除加减分项「重大环境污染事故（一票否决）」（原为 适用条件 has_flag('env_violation')，分值 0，一票否决 D）" in texts
    assert "单位能耗税收 公式 tax_wan / energy_equiv_tce → tax_wan / energy_tce" in texts


def test_the_same_pack_has_no_changes():
    pack = mujun.load_pack("zj-huangyan-2022")
    found = pack_diff(pack, pack)
    assert found.identical and found.changes == []

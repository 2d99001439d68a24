"""Every bundled pack cites a document an official can cite (issue 16).

A pack's `source` is printed in `pack show`, the explanation's last line (依据：…) and the notice. It
names the issuer first, then either the document's 文号 or date of issue, or says in Chinese and
English that the figures come from a secondary summary (or that a draft bears no number or date).
Nothing a pack ships may point at files outside the repository (DOMAIN.md, the seed texts).
"""

from __future__ import annotations

import re

import pytest

import mujun
from mujun.cases import load_cases
from mujun.engine.explain import format_trace
from mujun.packs.load import bundled_pack_files

PACKS = bundled_pack_files()

ISSUER = re.compile(r"^(各县（市、区）人民政府|[\u4e00-\u9fff]{2,7}[省市区部])")
DOC_NUMBER = re.compile(r"〔\d{4}〕\d+号")
DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
OUTSIDE_FILES = re.compile(r"DOMAIN\.md|seeds?[ /_]*0\d\d|summarised in", re.IGNORECASE)


def _secondary(source: str) -> bool:
    return "二手" in source and "以正式文件为准" in source and "secondary" in source


def _draft_without_number(source: str) -> bool:
    return "征求意见稿" in source and re.search(r"未载[^；）]*文号", source) is not None and "draft" in source


def test_all_bundled_packs_are_checked() -> None:
    assert len(PACKS) >= 23 and "js-huaian-2024" in PACKS and "nt-admission-2022" in PACKS


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_source_names_an_issuer_and_a_number_date_or_says_it_is_secondary(pack_id: str) -> None:
    source = mujun.load_pack(pack_id).source
    assert ISSUER.match(source), f"{pack_id}: the source should start with its issuer: {source}"
    cited = DOC_NUMBER.search(source) or DATE.search(source)
    assert cited or _secondary(source) or _draft_without_number(source), (
        f"{pack_id}: no 文号 or date, and no plain statement (中文 and English) that the figures are "
        f"from a secondary summary: {source}")


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_nothing_a_pack_ships_points_outside_the_repository(pack_id: str) -> None:
    folder = PACKS[pack_id].parent
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        found = OUTSIDE_FILES.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(folder.parent)} mentions {found.group(0)!r}"


@pytest.mark.parametrize("pack_id", sorted(PACKS))
def test_readme_cites_the_same_source(pack_id: str) -> None:
    readme = (PACKS[pack_id].parent / "README.md").read_text(encoding="utf-8")
    assert f"**Encodes:** {mujun.load_pack(pack_id).source}" in readme


@pytest.mark.parametrize(("pack_id", "citation"), [
    ("nt-admission-2022", "南通市人民政府办公室《关于进一步促进全市乡镇工业集聚区高质量发展的实施意见》（通政办发〔2022〕70号，2022年7月4日）"),
    ("nt-classification-2022", "（通政办发〔2022〕70号，2022年7月4日）三、开展分类整治 1–3"),
    ("wx-land-2023", "无锡市人民政府办公室《无锡市关于加快特色产业园区建设的实施意见》（2023年5月13日印发"),
    ("wx-parks-2023", "无锡市人民政府办公室《无锡市关于加快特色产业园区建设的实施意见》（2023年5月13日印发"),
    ("miit-parks-2025", "工业和信息化部、国家发展改革委《工业园区高质量发展指引》（工信部联规〔2025〕189号，2025年9月1日）"),
], ids=lambda value: value if value in PACKS else "")
def test_packs_from_held_texts_cite_them_as_primary(pack_id: str, citation: str) -> None:
    source = mujun.load_pack(pack_id).source
    assert source.startswith(citation.split("（")[0]) and citation in source and not _secondary(source)


def test_the_explanation_tells_the_reader_the_figures_are_secondary() -> None:
    pack = mujun.load_pack("js-huaian-2024")
    case = next(c for c in load_cases(pack) if "seven" in c.path.name).data
    result = pack.evaluate(case["input"], prior=case.get("prior"))
    last = format_trace(result.explain("G1")).splitlines()[-1]
    assert last.startswith("依据：淮安市 2024 年度") and "数值取自二手摘要，以正式文件为准" in last
    assert "DOMAIN" not in last

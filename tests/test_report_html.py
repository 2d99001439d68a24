"""The impact report in a real browser: a simulation's page, opened offline in headless Chromium.

One simulation of two synthetic counties under js-huaian-2024 with a weight overlay and a sweep; the page
is loaded once from a file with every network request refused. The page must draw every chart with a
non-empty size, show the headline numbers of report.json (each page element tagged ``data-key`` is read
back and compared with the JSON value at that path), make a screenshot that is not blank, and print.
"""

from __future__ import annotations

import io
import json
import math
import re

import pytest
from PIL import Image

import mujun
from browser import open_page
from mujun.simulate import Impact, parse_sweep, render_html, simulate
from mujun.synth import generate

OVERRIDES = {"weight_tax": 60, "weight_energy": 10}
#: The headline an editor reads first; each must be on the page, tagged with its JSON path.
HEADLINE_KEYS = ["headline.tier_changes", "headline.up", "headline.down", "headline.worst_change",
                 "headline.electricity_surcharge_change_yuan", "headline.electricity_surcharge_before_yuan",
                 "headline.electricity_surcharge_after_yuan", "baseline.hash", "candidate.hash", "data.hash",
                 "data.records"]
#: getBoundingClientRect of every chart and of the marks drawn in it (bars, lines), by chart name.
MEASURE_CHARTS = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll('.bar, .line')].map(m => m.getBoundingClientRect())
      .filter(r => r.width > 0 && r.height > 0).length;
  return {name: svg.dataset.chart, width: box.width, height: box.height, marks: marks};
})"""
KEYED = "() => [...document.querySelectorAll('[data-key]')].map(e => [e.dataset.key, e.textContent.trim()])"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """(path of report.html, report.json as a dict) of the simulation."""
    data, prior = generate(300, 2, 11)
    impact = simulate(mujun.load_pack("js-huaian-2024"), None, data, prior, cycle=2024, overrides=OVERRIDES,
                      sweep=parse_sweep("weight_tax=45:65:10"), workers=1)
    assert impact.headline.tier_changes > 0, "the overlay must move firms, or the page shows only zeros"
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.html"
    path.write_text(render_html(impact), encoding="utf-8")
    return path, json.loads(impact.model_dump_json())


@pytest.fixture(scope="module")
def page(report):
    with open_page(report[0]) as opened:
        yield opened


def _at(document: dict, path: str):
    value = document
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _shown(text: str) -> float | None:
    """A number as the page prints it: thousands separators, a sign on changes, a dash for none."""
    return None if text == "—" else float(text.replace(",", ""))


def test_the_page_asks_for_nothing_beyond_itself_and_raises_no_error(page):
    assert page.blocked == []
    assert page.errors == []


def test_every_chart_draws_with_a_size_and_marks(page, report):
    charts = {c["name"]: c for c in page.page.evaluate(MEASURE_CHARTS)}
    document = report[1]
    expected = {"score-histogram", "sensitivity-tornado", "sweep-tiers", "sweep-surcharge",
                *(f"measure-{m['name']}" for m in document["measures"] if m["summable"])}
    assert expected <= set(charts), f"missing charts: {expected - set(charts)}"
    for name, chart in charts.items():
        assert chart["width"] > 200 and chart["height"] > 100, chart
        assert chart["marks"] > 0, f"chart {name} drew no bar or line"
    assert charts["sensitivity-tornado"]["marks"] >= len(document["sensitivity"]["parameters"])


def test_headline_numbers_on_the_page_equal_report_json(page, report):
    document = report[1]
    keyed = page.page.evaluate(KEYED)
    shown = {key for key, _ in keyed}
    assert set(HEADLINE_KEYS) <= shown, f"not on the page: {set(HEADLINE_KEYS) - shown}"
    assert any(key.startswith("transitions.by_group.") for key in shown), "the counties that changed are not listed"
    relief = [i for i, m in enumerate(document["measures"]) if m["kind"] == "tax_relief"]
    assert relief and any(key.startswith(f"measures.{relief[0]}.after.") for key in shown), \
        "the land-use-tax relief by tier is not on the page"
    for key, text in keyed:
        expected = _at(document, key)
        if isinstance(expected, str):
            assert text == expected, key
        elif expected is None:
            assert text == "—", key
        else:
            assert math.isclose(_shown(text), expected, abs_tol=0.006), (key, text, expected)


def test_the_words_are_chinese_like_the_pack(page, report):
    text = page.page.inner_text("body")
    assert "等级变化企业" in text and "等级迁移矩阵" in text
    assert "淮安市工业企业资源集约利用综合评价" in text
    document = report[1]
    assert page.page.locator("table.matrix").count() == 1 + len(document["transitions"]["by_group"])


def test_a_screenshot_is_a_picture_of_the_report(page, report):
    png = page.page.screenshot(full_page=True)
    report[0].with_suffix(".png").write_bytes(png)  # kept beside the page, for a person to look at
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width >= 1200 and image.height > 2000
    colours = image.resize((200, 400)).getcolors(maxcolors=200 * 400)
    assert len(colours) > 50, "the screenshot is (nearly) blank"


def test_the_page_prints_with_its_charts(page, report):
    page.page.emulate_media(media="print")
    try:
        charts = page.page.evaluate(MEASURE_CHARTS)
        assert charts and all(c["width"] > 0 and c["height"] > 0 for c in charts)
        pdf = page.page.pdf(format="A4", print_background=True)
    finally:
        page.page.emulate_media(media="screen")
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 3, "the report should print on several A4 pages"


def test_a_report_without_sensitivity_or_sweep_has_neither_section(report):
    impact = Impact.model_validate(report[1]).model_copy(update={"sensitivity": None, "sweep": None})
    page = render_html(impact)
    assert 'data-chart="score-histogram"' in page
    assert 'id="sensitivity"' not in page and 'id="sweep"' not in page and "data-chart=\"sweep-" not in page


def test_labels_from_a_pack_are_escaped_not_markup(report):
    impact = Impact.model_validate(report[1])
    measures = [m.model_copy(update={"label": "<script>alert(1)</script>"}) for m in impact.measures]
    page = render_html(impact.model_copy(update={"measures": measures}))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_words_follow_the_pack_english_for_a_pack_titled_in_english(report):
    impact = Impact.model_validate(report[1])
    english = {"title": "Huai'an 2024 evaluation"}
    page = render_html(impact.model_copy(update={"baseline": impact.baseline.model_copy(update=english),
                                                 "candidate": impact.candidate.model_copy(update=english)}))
    assert "Impact of a rule-pack change" in page and "规则包变更影响报告" not in page

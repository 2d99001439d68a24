"""The impact report as one self-contained HTML file (stage after the simulation; nothing here computes).

:func:`render_html` turns an :class:`~mujun.simulate.model.Impact` (the same object ``report.json`` is
written from) into a page that opens with no network: CSS inline, charts as inline SVG drawn by
:mod:`mujun.simulate._svg`, no script. The words are Chinese when the candidate pack's title is, else
English; labels are the packs' own. Every headline number is an element with ``data-key`` set to its
JSON path in ``report.json`` (``headline.up``, ``measures.0.after.1.total``), so a test reads the page and
the JSON side by side. The template is ``report.html.j2`` beside this module, autoescaped.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from mujun.simulate import _svg
from mujun.simulate.model import Crossing, Impact, MeasureTotals, TransitionMatrix

__all__ = ["render_html"]

_CJK = re.compile(r"[\u4e00-\u9fff]")

_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "规则包变更影响报告", "baseline": "现行（OLD）", "candidate": "拟议（NEW）", "overrides": "参数调整",
        "pack": "规则包", "hash": "内容哈希", "data": "输入数据", "data_hash": "数据哈希", "records": "企业数",
        "prior": "上年记录", "history": "历史记录", "cycle": "年度", "files": "文件",
        "headline": "要点", "changes": "等级变化企业", "up": "升级", "down": "降级", "other": "其他变化",
        "worst": "{tier} 类企业数变化", "surcharge": "差别电费变化", "yuan": "元", "before": "调整前", "after": "调整后",
        "change": "变化", "firms": "企业数", "firms_unit": "家", "rated": "参评企业", "tier": "等级",
        "tier_counts": "各等级企业数", "groups_changed": "有等级变化的县区", "none": "无",
        "measures_by_tier": "各等级政策措施合计", "measure": "措施", "nonzero": "享受企业", "total": "合计",
        "mean": "平均", "transitions": "等级迁移矩阵", "overall": "全部", "group": "县区", "from_to": "原 ＼ 新",
        "crossings": "跨线企业", "firm": "企业", "score": "得分", "rank": "排名", "top_item": "变动最大的指标项",
        "more": "仅列出前 {n} 家（共 {count} 家）", "distributions": "得分分布", "mean_score": "平均得分",
        "sensitivity": "敏感性分析", "tornado": "各参数 ±{pct}% 时的等级变化企业数（相对拟议方案）",
        "parameter": "参数", "value": "取值", "low": "下调", "high": "上调", "skipped": "未分析的参数",
        "margins": "临界企业（距分界线最近）", "line": "分界线", "margin": "距线分差", "threshold": "阈值",
        "sweep": "参数扫描", "sweep_counts": "各取值的等级变化企业数", "sweep_money": "各取值的差别电费变化（元）",
        "seconds": "用时 {s} 秒，{w} 个进程", "notes": "说明", "timings": "计算用时（秒）",
        "unrated": "不参评", "error": "数据错误",
        "footer": "本报告由 mujun 依据上列两个规则包（版本与内容哈希如上）与输入数据（哈希如上）计算生成；"
                  "所列数值与同名 report.json 一致，可据以复核。",
    },
    "en": {
        "title": "Impact of a rule-pack change", "baseline": "Current (OLD)", "candidate": "Proposed (NEW)",
        "overrides": "Parameters set", "pack": "Pack", "hash": "Content hash", "data": "Input data",
        "data_hash": "Data hash", "records": "Firms", "prior": "Prior-year records", "history": "History records",
        "cycle": "Year", "files": "Files", "headline": "Headline", "changes": "Firms changing tier", "up": "Up",
        "down": "Down", "other": "Other changes", "worst": "Change in {tier} firms",
        "surcharge": "Change in electricity surcharge", "yuan": "yuan", "before": "Before", "after": "After",
        "change": "Change", "firms": "Firms", "firms_unit": "", "rated": "Rated firms", "tier": "Tier",
        "tier_counts": "Firms per tier", "groups_changed": "Counties with tier changes", "none": "none",
        "measures_by_tier": "Measures by tier", "measure": "Measure", "nonzero": "Receiving", "total": "Total",
        "mean": "Mean", "transitions": "Tier transitions", "overall": "All", "group": "County",
        "from_to": "old \\ new", "crossings": "Firms crossing a line", "firm": "Firm", "score": "Score",
        "rank": "Rank", "top_item": "Item that moved most", "more": "first {n} of {count} shown",
        "distributions": "Score distribution", "mean_score": "Mean score", "sensitivity": "Sensitivity",
        "tornado": "Tier changes at ±{pct}% of each parameter (against NEW)", "parameter": "Parameter",
        "value": "Value", "low": "Lower", "high": "Higher", "skipped": "Parameters not analysed",
        "margins": "Firms nearest each cut line", "line": "Line", "margin": "Margin", "threshold": "Threshold",
        "sweep": "Parameter sweep", "sweep_counts": "Tier changes per value",
        "sweep_money": "Change in electricity surcharge per value (yuan)", "seconds": "{s} s on {w} worker(s)",
        "notes": "Notes", "timings": "Timings (s)", "unrated": "not rated", "error": "data error",
        "footer": "Computed by mujun from the two packs (versions and content hashes above) and the input data "
                  "(hash above); every number equals the report.json of the same name.",
    },
}

_ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent), autoescape=True,
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(impact: Impact) -> str:
    """The report page of ``impact``: headline numbers first, then transitions, crossings, distributions,
    measures, sensitivity and the sweep when one was run."""
    lang = "zh" if _CJK.search(impact.candidate.title + impact.baseline.title) else "en"
    words = _WORDS[lang]
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(
        lang="zh-CN" if lang == "zh" else "en", w=words, impact=impact, h=impact.headline,
        state=functools.partial(_state, words), num=_format, plain=_plain, key=_keyed, fmt=str.format,
        direction=_directions(impact.crossings),
        heat=_heat, changes_peak=_changes_peak,
        histogram=_histogram_chart(impact, words),
        measure_charts={m.name: _measure_chart(m, words) for m in impact.measures if m.summable},
        tornado=_tornado_chart(impact, words),
        sweep_charts=_sweep_charts(impact, words),
    )


def _format(value: Any, digits: int = 0, *, sign: bool = False) -> str:
    """A number as the page shows it: thousands separators, ``digits`` decimals, ``+`` on a change."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v, digits)}" for k, v in value.items())
    if isinstance(value, float) and not value.is_integer() and digits == 0:
        digits = 2
    if round(value, digits) == 0:
        return f"{0:.{digits}f}"
    return f"{value:{'+' if sign else ''},.{digits}f}"


def _plain(value: Any) -> str:
    """A parameter's value as written in a pack (``0.0001229``, not rounded to two decimals)."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return "—" if value is None else f"{value:,.6g}"


def _state(words: dict[str, str], state: str) -> str:
    """A tier as the pack names it; the statuses of firms that were not rated in the report's words."""
    return words[state] if state in ("unrated", "error") else state


def _keyed(path: str, value: Any, digits: int = 0, *, sign: bool = False) -> Markup:
    """A headline number tagged with its JSON path, so the page can be checked against ``report.json``."""
    return Markup(f'<span class="num" data-key="{escape(path)}">{escape(_format(value, digits, sign=sign))}</span>')


def _directions(crossings: list[Crossing]) -> dict[tuple[str, str], str]:
    return {(c.before, c.after): c.direction for c in crossings}


def _changes_peak(matrix: TransitionMatrix) -> int:
    """The largest off-diagonal cell: the shade scale of the firms that moved."""
    return max((c for i, row in enumerate(matrix.counts) for j, c in enumerate(row) if i != j), default=0)


def _heat(count: int, peak: int, direction: str | None) -> str:
    """Background of a transition cell: green up, red down, grey otherwise, darker with more firms."""
    if not count or not peak:
        return ""
    alpha = 0.12 + 0.6 * count / peak
    rgb = {"up": "46,139,87", "down": "192,57,43"}.get(direction or "", "120,130,140")
    return f"background: rgba({rgb},{alpha:.2f})"


def _histogram_chart(impact: Impact, words: dict[str, str]) -> Markup:
    histogram = impact.distributions.score
    edges = histogram.edges
    categories = [f"{_svg_number(a)}–{_svg_number(b)}" for a, b in zip(edges, edges[1:])]
    return _svg.bars("score-histogram", words["distributions"], categories,
                     [(words["before"], histogram.before), (words["after"], histogram.after)], y_label=words["firms"])


def _measure_chart(measure: MeasureTotals, words: dict[str, str]) -> Markup:
    tiers = [t.tier for t in measure.before] or [t.tier for t in measure.after]
    for t in measure.after:
        if t.tier not in tiers:
            tiers.append(t.tier)
    before = {t.tier: t.total for t in measure.before}
    after = {t.tier: t.total for t in measure.after}
    label = measure.label or measure.name
    return _svg.bars(f"measure-{measure.name}", label, [_state(words, t) for t in tiers],
                     [(words["before"], [before.get(t, 0.0) for t in tiers]),
                      (words["after"], [after.get(t, 0.0) for t in tiers])],
                     y_label=measure.unit or "", width=540, height=220)


def _tornado_chart(impact: Impact, words: dict[str, str]) -> Markup | None:
    sensitivity = impact.sensitivity
    if sensitivity is None or not sensitivity.parameters:
        return None
    rows = sorted(sensitivity.parameters, key=lambda p: -max(p.changes_low, p.changes_high))
    pct = _format(sensitivity.step * 100)
    return _svg.tornado("sensitivity-tornado", words["tornado"].format(pct=pct),
                        [(p.label or p.parameter, p.changes_low, p.changes_high) for p in rows],
                        low_label=f"−{pct}%", high_label=f"+{pct}%")


def _sweep_charts(impact: Impact, words: dict[str, str]) -> list[Markup]:
    sweep = impact.sweep
    if sweep is None or not sweep.points:
        return []
    x = [p.value for p in sweep.points]
    label = sweep.label or sweep.parameter
    h = [p.headline for p in sweep.points]
    worst = h[0].worst_tier or ""
    charts = [_svg.lines("sweep-tiers", words["sweep_counts"], x,
                         [(words["changes"], [p.tier_changes for p in h]), (words["up"], [p.up for p in h]),
                          (words["down"], [p.down for p in h]),
                          (words["worst"].format(tier=worst), [p.worst_change for p in h])],
                         x_label=label, y_label=words["firms"])]
    if all(p.electricity_surcharge_change_yuan is not None for p in h):
        charts.append(_svg.lines("sweep-surcharge", words["sweep_money"], x,
                                 [(words["surcharge"], [p.electricity_surcharge_change_yuan for p in h])],
                                 x_label=label, y_label=words["yuan"]))
    return charts


def _svg_number(value: float) -> str:
    return f"{value:g}"

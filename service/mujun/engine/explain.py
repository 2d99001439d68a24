"""Explanations: the full trace of one decision, read from the evaluation frame the stages built.

An official answering an appeal reads every number with its origin: "亩均税收 得分 18.75 分（满分 45
分）：5 ÷ 12 = 0.4167 × 45". Nothing here recomputes a cohort or guesses what a rule did: the
stages record their facts (the cohort statistic before its factor and the cohort's size, the ratio
before a cap, the rules an item applied, a zero denominator, the compared value of a check) and this
module reads them; only per-record arithmetic is written out again so the steps can be read aloud.

The trace is a dict of facts (JSON for machines) with a ``lines`` list of sentences in the pack's
language — Chinese when its labels are Chinese, English on request (``lang="en"``). The text and
the printable notice (:mod:`mujun.engine.notice`) are both made of these sentences.
"""

from __future__ import annotations

import re
from typing import Any

from mujun.engine.explain_mechanisms import applied_cuts, mechanism_facts
from mujun.engine.adjust import SCORE, hit_col
from mujun.engine.benchmarks import BASIS, cohort_n_col, stat_col
from mujun.engine.checks import (DECISION, FAILED_REASONS, check_col, compared_col, holds, render_number,
                                 round_half_away)
from mujun.engine.columns import (ERROR, GROUP_N, OK, REASON, STATUS, VETO, adjust_col, benchmark_col, column_of,
                                  indicator_col, item_col, measure_col)
from mujun.engine.compile import CYCLE, Plan
from mujun.engine.formula import render
from mujun.engine.indicators import denominator_text, zero_col
from mujun.engine.items import applied_codes, applied_col, ratio_col, step_col
from mujun.engine.tiers import FROZEN_BASIS, FROZEN_CUTS, GROUP, RANK, TIER, cumulative_cuts
from mujun import lang as ex
from mujun.packs.fields import ID_FIELD

__all__ = ["explain_row", "format_trace", "row_env", "pack_language", "LANGUAGES"]

LANGUAGES = ("zh", "en")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_STREAK = "tier_streak"
_BUILTIN_NAMES = {_STREAK: ("连续同等级次数", "consecutive cycles in the tier"), CYCLE: ("评价年度", "cycle"),
                  SCORE: ("得分", "score"), TIER: ("等级", "tier"), RANK: ("名次", "rank")}


def pack_language(plan: Plan) -> str:
    """``zh`` when the pack speaks Chinese (its title or any label), else ``en``."""
    pack = plan.pack
    texts = [pack.title, *(x.label or "" for x in (*pack.indicators.values(), *pack.items.values(),
                                                   *pack.measures.values(), *pack.parameters.values()))]
    return "zh" if any(_CJK.search(t) for t in texts) else "en"


def row_env(plan: Plan, row: dict[str, Any]) -> dict[str, Any]:
    """Pack names → this record's values, for evaluating per-record expressions in the trace."""
    env: dict[str, Any] = dict(plan.numbers)
    names = set(plan.inputs) | set(plan.pack.indicators) | set(plan.pack.benchmarks)
    names |= {f"item.{n}" for n in plan.pack.items} | {f"measure.{n}" for n in plan.pack.measures}
    names |= {SCORE, TIER, RANK, _STREAK, CYCLE}
    for name in names:
        column = column_of(plan, name)
        if column is not None and column in row:
            env[name] = row[column]
    return env


def _eval(plan: Plan, path: str, env: dict[str, Any]) -> Any:
    node = plan.expr_at(path)
    return None if node is None else ex.eval_row(node, env, plan.tables.__getitem__)


# ---------------------------------------------------------------- words


_W = {
    "notice": ("评价说明", "Explanation"),
    "pack": ("规则包 {id} 版本 {version}（哈希 {hash}）", "pack {id} version {version} (hash {hash})"),
    "source": ("依据：{source}", "source: {source}"),
    "error": ("记录有误，未评价：{error}", "record error, not evaluated: {error}"),
    "unrated": ("未参评：{reason}", "not rated: {reason}"),
    "managed": ("未参评，按 {tier} 类管理：{reason}", "not rated, managed as tier {tier}: {reason}"),
    "inputs": ("输入数据", "inputs"),
    "input": ("{label} {value}（字段 {name}）", "{label} {value} (field {name})"),
    "input_from": ("{label} {value}（字段 {name}，取自 {source}{converted}）",
                   "{label} {value} (field {name}, from {source}{converted})"),
    "indicators": ("指标", "indicators"),
    "undefined": ("{den} 为 0，指标无定义", "{den} is 0: the indicator is undefined"),
    "zero_full": ("按本办法视为最优", "counted as the best result"),
    "zero_missing": ("按缺失处理", "treated as missing"),
    "lacking": ("缺少 {names}，无法计算", "cannot be computed: {names} missing"),
    "benchmarks": ("基准值", "benchmarks"),
    "bm_fixed": ("{label} = {value}（固定值）", "{label} = {value} (fixed)"),
    "bm_stat": ("{label} = {formula}（{cohort}，{n} 家{where}）", "{label} = {formula} ({cohort}, {n} firms{where})"),
    "bm_none": ("{label}：无可用的同组数据", "{label}: no cohort data"),
    "prior": ("上年", "prior-year "), "current": ("本年", "current-year "),
    "fallback": ("本年（该组无上年数据）", "current-year (no prior-year data for the group) "),
    "all_firms": ("全部参评企业", "all rated firms"),
    "items": ("评分", "items"),
    "item": ("{label} 得分 {points} 分（{full}）：{steps}", "{label}: {points} points ({full}): {steps}"),
    "full": ("满分 {weight} 分", "of {weight}"),
    "full_capped": ("权重 {weight} 分，满分 {top} 分", "weight {weight}, at most {top}"),
    "no_apply": ("{label}：不适用（{cond} 不成立）", "{label}: does not apply ({cond} does not hold)"),
    "cap_ratio": ("比值超过上限 {cap}，按 {cap} 计", "ratio above {cap}, counted as {cap}"),
    "floor": ("低于下限，按 {floor} 分计", "below the floor, counted as {floor}"),
    "cap": ("超过封顶，按 {cap} 分计", "above the cap, counted as {cap}"),
    "negative_zero": ("指标为负，按 0 分计", "negative indicator: 0 points"),
    "zero_denominator_full": ("{why}，按最优计满分", "{why}: full points as the best result"),
    "missing_zero": ("{why}，按 0 分计", "{why}: 0 points"),
    "missing_cohort_mean": ("{why}，取同组企业该项平均分", "{why}: the cohort's average item score"),
    "missing_unrated": ("{why}，不参评", "{why}: not rated"),
    "missing_error": ("{why}，记录有误", "{why}: record error"),
    "negative_unrated": ("指标为负，不参评", "negative indicator: not rated"),
    "negative_error": ("指标为负，记录有误", "negative indicator: record error"),
    "missing_why": ("指标缺失", "indicator missing"),
    "step": ("{x} 达到 ≥ {min} 档", "{x} reaches the ≥ {min} step"),
    "step_else": ("{x} 未达任一档，取末档", "{x} below every step: the last step"),
    "minmax": ("组内最小—最大值折算", "min–max within the cohort"),
    "adjustments": ("加减分与否决", "adjustments"),
    "adj": ("{label}：{points} 分", "{label}: {points} points"),
    "veto": ("{label}：一票否决，定为 {tier} 类，不参加排名", "{label}: veto, tier {tier}, not ranked"),
    "score": ("综合得分 {score} 分 = 各项得分 {items}{adj}", "score {score} = items {items}{adj}"),
    "tier": ("等级", "tier"),
    "tier_line": ("评价等级：{tier} 类", "tier: {tier}"),
    "no_tier": ("未定等级", "no tier"),
    "rank": ("{group}参评 {n} 家，按 {order} 排序，排第 {rank} 名",
             "rank {rank} of {n} in group {group} by {order}"),
    "quota": ("{tiers} 类累计 {n} 家 × {pct} % = {exact} → {cut}（{rounding}）{moved}：{span}",
              "{tiers} cumulative {n} × {pct} % = {exact} → {cut} ({rounding}){moved}: {span}"),
    "moved": ("，按最少家数调整为 {cut}", ", moved to {cut} by the minimum counts"),
    "bounded": ("按名次为 {by_rank} 类，得分 {score} {cmp} {by_rank} 类{bound} {limit} → {tier} 类",
                "{by_rank} by rank, but score {score} {cmp} {by_rank}'s {bound} {limit} → {tier}"),
    "min_score": ("最低分", "min_score"), "max_score": ("最高分", "max_score"),
    "span": ("第 {a}–{b} 名", "ranks {a}–{b}"), "span_one": ("第 {a} 名", "rank {a}"),
    "span_none": ("{tier} 类 0 家", "no {tier} firm"),
    "span_after": ("前 {last} 名已分完，{tier} 类 0 家", "ranks 1–{last} are taken: no {tier} firm"),
    "thr": ("得分 {score} ≥ {min} → {tier} 类", "score {score} ≥ {min} → {tier}"),
    "thr_else": ("得分 {score} 未达更高档 → {tier} 类", "score {score} below the other thresholds → {tier}"),
    "input_tier": ("等级取自输入的评价结果", "tier given in the input"),
    "frozen": ("按冻结周期（{basis}）的分档线定档：{group}冻结时参评 {n} 家，不重新计算比例，落入 {tier} 类",
               "placed against the frozen cut lines of {basis}: group {group} of {n} when frozen (quotas not "
               "recomputed), tier {tier}"),
    "frozen_cuts": ("分档线（各档末位企业的排序键）：{cuts}", "cut lines (each tier's last ordering key): {cuts}"),
    "desc": ("由高到低", "desc"), "asc": ("由低到高", "asc"),
    "half_up": ("四舍五入", "half up"), "floor_r": ("向下取整", "floor"), "ceil": ("向上取整", "ceil"),
    "history": ("等级记录：含本次连续 {k} 次为 {tier} 类{years}", "tier history: {k} consecutive cycles in {tier}{years}"),
    "measures": ("措施", "measures"),
    "measure_tier": ("{label} = {value}（{tier} 类适用）", "{label} = {value} (tier {tier})"),
    "measure_default": ("{label} = {value}（{tier} 类无此项）", "{label} = {value} (none for tier {tier})"),
    "measure_expr": ("{label} = {formula} = {value}", "{label} = {formula} = {value}"),
    "checks": ("审查", "checks"),
    "check": ("{label} {value} {sign} {limit}？{ok}", "{label} {value} {sign} {limit}? {ok}"),
    "check_na": ("{label}：不适用", "{label}: does not apply"),
    "check_missing": ("{label}：缺少数值或标准，不通过", "{label}: value or threshold missing, fails"),
    "precision": ("（按申报精度 {p} 位小数比较，取整前 {raw}）", " (compared at the declared {p} decimals; {raw} before rounding)"),
    "yes": ("是", "yes"), "no": ("否", "no"), "pass": ("通过", "passes"), "fail": ("不通过", "fails"),
    "check_flag": ("{label}：{ok}{message}", "{label}: {ok}{message}"),
    "decision": ("结论：{decision}", "decision: {decision}"),
    "unknown_key": ("查表 {table} 无键 '{code}'（{path}）：该值缺失", "table {table} has no key '{code}' ({path}): the value is missing"),
}


def _t(lang: str, key: str, **values: Any) -> str:
    zh, en = _W[key]
    return (zh if lang == "zh" else en).format(**values)


def _num(value: Any, unit: str | None = None) -> str:
    """A number as an official writes it: at most 4 decimals, no trailing zeros, a true minus sign."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if abs(value) >= 1e15:
        text = f"{value:.6g}"
    elif abs(value) >= 0.01 or value == 0:
        text = f"{value:.4f}".rstrip("0").rstrip(".")
    else:  # a coefficient such as 0.0001229 tce/kWh keeps four significant digits
        text = f"{float(f'{value:.4g}'):.12f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    text = text.replace("-", "−")
    return f"{text} {unit}" if unit else text


# ---------------------------------------------------------------- the trace


class _Explainer:
    def __init__(self, plan: Plan, row: dict[str, Any], lang: str, sources: dict[str, dict[str, Any]]):
        self.plan, self.row, self.lang, self.sources = plan, row, lang, sources
        self.pack = plan.pack
        self.env = row_env(plan, row)

    def t(self, key: str, **values: Any) -> str:
        return _t(self.lang, key, **values)

    def head(self, key: str) -> str:
        return self.t(key) + ("：" if self.lang == "zh" else ": ")

    def label(self, name: str) -> str:
        """What a pack name is called in this explanation: its label, else the name."""
        if name in _BUILTIN_NAMES:
            return _BUILTIN_NAMES[name][0 if self.lang == "zh" else 1]
        pack = self.pack
        for table in (pack.indicators, pack.benchmarks, pack.parameters, pack.items, pack.measures):
            if name in table and getattr(table[name], "label", None):
                return table[name].label  # type: ignore[return-value]
        if name.startswith("measure.") and name[8:] in pack.measures:
            return pack.measures[name[8:]].label or name
        if name in self.plan.inputs and self.plan.inputs[name].label:
            return self.plan.inputs[name].label  # type: ignore[return-value]
        return name

    def unit(self, name: str) -> str | None:
        pack = self.pack
        for table in (pack.indicators, pack.benchmarks, pack.parameters):
            if name in table:
                return getattr(table[name], "unit", None)
        if name.startswith("measure.") and name[8:] in pack.measures:
            return pack.measures[name[8:]].unit
        return self.plan.inputs[name].unit if name in self.plan.inputs else None

    def filled(self, node: ex.Node) -> str:
        """The formula with each name's label, value and unit: "税收 −30 万元 ÷ 用地面积 60 亩"."""
        def word(name: str) -> str:
            if name in self.plan.tables:  # a table parameter is named, its entries are not values here
                return self.label(name)
            return f"{self.label(name)} {_num(self.env.get(name), self.unit(name))}"
        return render(node, word, symbols=True)

    # -- sections

    def trace(self) -> dict[str, Any]:
        pack, row = self.pack, self.row
        status = row[STATUS]
        out: dict[str, Any] = {
            "enterprise_id": row[ID_FIELD], "lang": self.lang,
            "pack": {"id": pack.id, "version": pack.version, "hash": self.plan.pack_hash, "title": pack.title,
                     "source": pack.source},
            "status": status, "error": row.get(ERROR), "reason": row.get(REASON),
            "inputs": {name: {"value": row.get(name), "unit": spec.unit, "label": spec.label,
                              **self.sources.get(name, {})}
                       for name, spec in self.plan.inputs.items() if name != ID_FIELD},
        }
        lines = [f"{row[ID_FIELD]} — {pack.title} {self.t('notice')}",
                 self.t("pack", id=pack.id, version=pack.version, hash=self.plan.pack_hash[:12])]
        lines += self._input_lines(out["inputs"])
        if status == "error":
            lines.append(self.t("error", error=row.get(ERROR)))
            return self._finish(out, lines)
        out["indicators"] = {name: self._indicator(name) for name in pack.indicators}
        if out["indicators"]:
            lines += [self.head("indicators")] + [f"  {i['text']}" for i in out["indicators"].values()]
        if status != OK:
            tier = row.get(TIER)
            lines.append(self.t("managed", tier=tier, reason=row.get(REASON)) if tier
                         else self.t("unrated", reason=row.get(REASON)))
            out["tier"] = {"tier": tier, "why": "unrated" + (", managed as this tier by the scope rule" if tier else "")}
            if tier:
                out["measures"] = self._measures()
                lines += self._measure_lines(out["measures"])
            return self._finish(out, lines)
        if pack.benchmarks:
            out["benchmarks"] = {name: self._benchmark(name) for name in pack.benchmarks}
            lines += [self.head("benchmarks")] + [f"  {b['text']}" for b in out["benchmarks"].values()]
        if pack.items:
            out["items"] = {name: self._item(name) for name in pack.items}
            lines += [self.head("items")] + [f"  {i['text']}" for i in out["items"].values()]
        if pack.adjustments:
            out["adjustments"] = self._adjustments()
            applied = [a["text"] for a in out["adjustments"] if a["applied"]]
            if applied:
                lines += [self.head("adjustments")] + [f"  {a}" for a in applied]
        if pack.items or any(a.points != 0 for a in pack.adjustments):  # only a pack that scores has a score
            out["score"] = row.get(SCORE)
            lines.append(self._score_line(out))
        if pack.tiers is not None:
            out["tier"] = self._tier()
            lines += out["tier"]["lines"]
        if pack.measures:
            out["measures"] = self._measures()
            lines += self._measure_lines(out["measures"])
        if pack.checks:
            out["checks"] = self._checks()
            lines += [self.head("checks")] + [f"  {c['text']}" for c in out["checks"]["conditions"]]
            lines.append(self.t("decision", decision=out["checks"]["decision"])
                         + (f" — {out['checks']['failed']}" if out["checks"]["failed"] else ""))
        return self._finish(out, lines)

    def _finish(self, out: dict[str, Any], lines: list[str]) -> dict[str, Any]:
        lines.append(self.t("source", source=self.pack.source))
        out["lines"] = lines
        return out

    def _input_lines(self, inputs: dict[str, Any]) -> list[str]:
        shown = [self._input_line(name, spec) for name, spec in inputs.items()]
        return [self.head("inputs"), *(f"  {line}" for line in shown)] if shown else []

    def _input_line(self, name: str, spec: dict[str, Any]) -> str:
        """One input with the file and column it came from and any unit conversion, when known."""
        value = _num(spec["value"], spec["unit"]) if not isinstance(spec["value"], list) \
            else "、".join(map(str, spec["value"])) or ("无" if self.lang == "zh" else "none")
        if not spec.get("source"):
            return self.t("input", label=spec["label"] or name, name=name, value=value)
        converted = f"{'，' if self.lang == 'zh' else ', '}{spec['converted']}" if spec.get("converted") else ""
        return self.t("input_from", label=spec["label"] or name, name=name, value=value, source=spec["source"],
                      converted=converted)

    def _indicator(self, name: str) -> dict[str, Any]:
        ind = self.pack.indicators[name]
        node = self.plan.node(f"indicators.{name}")
        value = self.row.get(indicator_col(name))
        out: dict[str, Any] = {"value": value, "expr": str(ind.expr), "unit": ind.unit, "label": ind.label}
        head = f"{ind.label or name} = {self.filled(node)}"
        if self.row.get(zero_col(name)):
            out["zero_denominator"] = ind.zero_denominator
            why = self.t("undefined", den=self.label(denominator_text(self.plan, name)))
            more = {"full": self.t("zero_full"), "missing": self.t("zero_missing")}.get(ind.zero_denominator or "", "")
            out["why_missing"] = why
            out["text"] = f"{head}：{why}" + (f"，{more}" if more else "") if self.lang == "zh" else \
                f"{head}: {why}" + (f", {more}" if more else "")
        elif value is None:
            lacking = [self.label(n) for n in sorted(ex.names(node)) if n in self.plan.inputs and self.env.get(n) is None]
            why = self.t("lacking", names="、".join(lacking)) if lacking else self.t("missing_why")
            out["why_missing"] = why
            out["text"] = f"{head}：{why}" if self.lang == "zh" else f"{head}: {why}"
        else:
            out["text"] = f"{head} = {_num(value, ind.unit)}"
        return out

    def _benchmark(self, name: str) -> dict[str, Any]:
        bm = self.pack.benchmarks[name]
        value = self.row.get(benchmark_col(name))
        out: dict[str, Any] = {"value": value, "unit": bm.unit, "label": bm.label}
        label = bm.label or self.label(bm.of or "") + ("基准值" if self.lang == "zh" else " benchmark")
        if bm.value is not None:
            out["rule"] = f"fixed: {bm.value}"
            out["text"] = self.t("bm_fixed", label=label, value=_num(value, bm.unit))
            return out
        stat_name = ((f"第 {bm.percentile:g} 百分位数", f"p{bm.percentile:g}") if bm.stat == "percentile" else
                     {"mean": ("均值", "mean"), "median": ("中位数", "median"), "min": ("最小值", "min"),
                      "max": ("最大值", "max")}[bm.stat or "mean"])
        stat_text = stat_name[0 if self.lang == "zh" else 1]
        factor = _eval(self.plan, f"benchmarks.{name}.factor", dict(self.plan.numbers))
        out["rule"] = f"{bm.factor} × {bm.stat} of {bm.of} over rated firms" + (f" where {bm.where}" if bm.where else "")
        out["group"] = {field: self.row.get(field) for field in bm.group_by}
        basis = self.row.get(BASIS) if bm.source != "current" else "current year"
        out["source"] = basis
        out["statistic"], out["cohort_size"], out["factor"] = self.row.get(stat_col(name)), self.row.get(cohort_n_col(name)), factor
        scope_word = (self.t("current") if bm.source == "current" or basis is None or basis.startswith("current")
                      else self.t("prior"))
        if bm.source != "current" and basis and basis.startswith("current"):
            scope_word = self.t("fallback")
        cohort = ("，" if self.lang == "zh" else ", ").join(
            f"{self.label(f)} {v}" for f, v in out["group"].items()) or self.t("all_firms")
        where = f"；限 {bm.where}" if bm.where and self.lang == "zh" else (f"; where {bm.where}" if bm.where else "")
        if value is None:
            out["text"] = self.t("bm_none", label=label)
            return out
        out["reading"] = bm.reading if bm.stat == "mean" else None
        if bm.stat == "mean" and bm.reading == "ratio_of_sums":  # the cohort's own 亩均 figure: Σ税收 ÷ Σ用地
            stat_text = f"{' ' if self.lang == 'zh' else ''}{self._summed(f'benchmarks.{name}.numerator')} ÷ {self._summed(f'benchmarks.{name}.denominator')} ="
        formula = (f"{scope_word}{stat_text} {_num(out['statistic'])} × {_num(factor)} = {_num(value, bm.unit)}"
                   if factor != 1 else f"{scope_word}{stat_text} {_num(value, bm.unit)}")
        out["text"] = self.t("bm_stat", label=label, formula=formula, cohort=cohort, n=out["cohort_size"], where=where)
        return out

    def _summed(self, path: str) -> str:
        """One side of a ratio of sums as words: "Σ税收", or "Σ(增加值 × 100)" for a compound side."""
        node = self.plan.node(path)
        text = render(node, self.label, symbols=True)
        return f"Σ{text}" if isinstance(node, ex.Name) else f"Σ({text})"

    def _item(self, name: str) -> dict[str, Any]:
        item = self.pack.items[name]
        path = f"items.{name}"
        points = self.row.get(item_col(name))
        label = item.label or name
        out: dict[str, Any] = {"label": item.label, "method": item.method, "points": points}
        if points is None:
            out["applies"] = False
            cond = self.filled(self.plan.node(f"{path}.when")) if item.when is not None else "—"
            out["text"] = self.t("no_apply", label=label, cond=cond)
            return out
        weight = _eval(self.plan, f"{path}.weight", self.env)
        out["weight"] = weight
        applied = applied_codes(self.row.get(applied_col(name)))
        out["applied"] = applied
        x = self.row.get(indicator_col(item.indicator)) if item.indicator else None
        if item.indicator:
            out["indicator"] = {"name": item.indicator, "value": x}
        steps: list[str] = []
        top = weight
        if item.method == "ratio":
            bm = _eval(self.plan, f"{path}.benchmark", self.env)
            ratio = self.row.get(ratio_col(name))
            out["benchmark"], out["ratio"] = bm, ratio
            if item.cap_ratio is not None:
                top = weight * item.cap_ratio if weight is not None else None
            if ratio is not None:
                counted = min(ratio, item.cap_ratio) if "cap_ratio" in applied else ratio
                product = _num(counted * weight if weight is not None else None)
                if "cap_ratio" in applied:
                    out["capped"] = f"ratio {ratio:.4f} capped at {item.cap_ratio:g}"
                    steps += [f"{_num(x)} ÷ {_num(bm)} = {_num(ratio)}", self.t("cap_ratio", cap=_num(item.cap_ratio)),
                              f"{_num(counted)} × {_num(weight)} = {product}"]
                else:
                    steps.append(f"{_num(x)} ÷ {_num(bm)} = {_num(ratio)} × {_num(weight)} = {product}")
        elif item.method == "steps" and x is not None:
            reached = self._step(name, x)
            steps.append(self.t("step", x=_num(x), min=_num(reached.min)) if reached and reached.min is not None
                         else self.t("step_else", x=_num(x)))
        elif item.method == "minmax":
            steps.append(self.t("minmax"))
        elif item.method == "expr":
            steps.append(self.filled(self.plan.node(f"{path}.expr")))
        if item.cap is not None:
            cap = _eval(self.plan, f"{path}.cap", self.env)
            top = cap if top is None or cap is None else min(top, cap)
        why = self._why_missing(item.indicator)
        notes = []
        for code in applied:
            if code == "cap_ratio":
                continue
            notes.append(self.t(code, why=why, floor=_num(_eval(self.plan, f"{path}.floor", self.env)),
                                cap=_num(_eval(self.plan, f"{path}.cap", self.env))))
        if notes:
            out["policy"] = "; ".join(notes)
            steps += notes
        full = self.t("full", weight=_num(weight)) if top == weight else self.t("full_capped", weight=_num(weight), top=_num(top))
        joiner = "，" if self.lang == "zh" else "; "
        out["text"] = self.t("item", label=label, points=_num(points), full=full, steps=joiner.join(steps) or "—")
        return out

    def _step(self, name: str, x: float) -> Any:
        """The step the items stage recorded; a decision stored before steps were recorded reads it from x."""
        item = self.pack.items[name]
        if step_col(name) in self.row:
            index = self.row[step_col(name)]
            return None if index is None else item.steps[index]
        return next((s for s in item.steps if s.min is None or x >= s.min), None)

    def _why_missing(self, indicator: str | None) -> str:
        if indicator and self.row.get(zero_col(indicator)):
            return self.t("undefined", den=self.label(denominator_text(self.plan, indicator)))
        if indicator:
            node = self.plan.node(f"indicators.{indicator}")
            lacking = [self.label(n) for n in sorted(ex.names(node)) if n in self.plan.inputs and self.env.get(n) is None]
            if lacking:
                return self.t("lacking", names="、".join(lacking))
        return self.t("missing_why")

    def _adjustments(self) -> list[dict[str, Any]]:
        out = []
        for i, adj in enumerate(self.pack.adjustments):
            applied = self._adjusted(i)
            points = self.row.get(adjust_col(adj.name))
            label = adj.label or adj.name
            text = (self.t("veto", label=label, tier=adj.veto) if adj.veto
                    else self.t("adj", label=label, points=("+" if (points or 0) > 0 else "") + _num(points)))
            out.append({"name": adj.name, "label": adj.label, "applied": applied, "points": points, "veto": adj.veto,
                        "text": text})
        return out

    def _adjusted(self, i: int) -> bool:
        """Whether adjustment ``i`` applied, as the stage recorded; a decision stored before that was
        recorded asks its condition again (which reads the item total as ``score``)."""
        name = self.pack.adjustments[i].name
        if hit_col(name) in self.row:
            return bool(self.row[hit_col(name)])
        items = sum(self.row.get(item_col(n)) or 0.0 for n in self.pack.items)
        return bool(_eval(self.plan, f"adjustments.{i}.when", {**self.env, SCORE: items}))

    def _score_line(self, out: dict[str, Any]) -> str:
        items = sum(v["points"] or 0 for v in out.get("items", {}).values())
        adj = sum(a["points"] or 0 for a in out.get("adjustments", []) if a["applied"])
        extra = f" {'+' if adj >= 0 else '−'} {_num(abs(adj))}" if adj else ""
        return self.t("score", score=_num(out["score"]), items=_num(items), adj=extra)

    def _tier(self) -> dict[str, Any]:
        tiers, row = self.pack.tiers, self.row
        assert tiers is not None
        tier = row.get(TIER)
        out: dict[str, Any] = {"tier": tier, "group": row.get(GROUP), "rank": row.get(RANK),
                               "group_size": row.get(GROUP_N), "method": tiers.method}
        lines = [self.t("tier_line", tier=tier) if tier else self.t("no_tier")]
        if row.get(VETO):
            out["why"] = f"veto: forced to {row[VETO]}"
        elif tiers.method == "quota" and row.get(FROZEN_CUTS):  # scored later against a frozen cycle
            fields = "、".join(self.label(f) for f in tiers.group_by)
            group = f"{fields} {row.get(GROUP)} " if self.lang == "zh" else f"{row.get(GROUP)} ({fields or 'all'})"
            lines.append("  " + self.t("frozen", basis=row[FROZEN_BASIS], group=group, n=row.get(GROUP_N), tier=tier))
            lines.append("  " + self.t("frozen_cuts", cuts=row[FROZEN_CUTS]))
            out["why"] = f"placed against the frozen cut lines of {row[FROZEN_BASIS]}: {row[FROZEN_CUTS]}"
            out["frozen"] = {"basis": row[FROZEN_BASIS], "cut_lines": row[FROZEN_CUTS]}
        elif tiers.method == "quota" and row.get(GROUP_N):
            n = int(row[GROUP_N])
            rounded = cumulative_cuts([q.percent for q in tiers.quotas], tiers.rounding, n)  # the arithmetic, read aloud
            cuts = applied_cuts(self.plan, row, n)  # the cut lines as the stage applied them
            order = "、".join(self._order_word(spec) for spec in tiers.order_by) if self.lang == "zh" \
                else ", ".join(tiers.order_by)
            fields = "、".join(self.label(f) for f in tiers.group_by)
            group = f"{fields} {row.get(GROUP)} " if self.lang == "zh" else f"{row.get(GROUP)} ({fields or 'all'})"
            lines.append("  " + self.t("rank", group=group, n=n, order=order, rank=row.get(RANK)))
            rounding = self.t({"half_up": "half_up", "floor": "floor_r", "ceil": "ceil"}[tiers.rounding])
            spans, quota_lines, start, running, names = [], [], 1, 0.0, []
            for quota, cut, plain in zip(tiers.quotas, cuts, rounded):
                running += quota.percent
                names.append(quota.tier)
                if cut >= start:
                    span = self.t("span", a=start, b=cut) if cut > start else self.t("span_one", a=start)
                    spans.append(f"{quota.tier} ranks {start}–{cut}")
                else:
                    span = (self.t("span_after", tier=quota.tier, last=start - 1) if start > 1
                            else self.t("span_none", tier=quota.tier))
                    spans.append(f"{quota.tier} none")
                moved = self.t("moved", cut=cut) if cut != plain else ""
                quota_lines.append("  " + self.t("quota", tiers="+".join(names) if len(names) < 3 else f"{names[0]}–{names[-1]}",
                                                 n=n, pct=_num(running), exact=_num(n * running / 100), cut=plain,
                                                 rounding=rounding, moved=moved,
                                                 span=f"{quota.tier} {span}" if cut >= start else span))
                start = cut + 1
            lines += quota_lines + self._bounded(cuts)
            out["quotas"] = [{"tier": q.tier, "cumulative_percent": sum(x.percent for x in tiers.quotas[:i + 1]),
                              "last_rank": c} for i, (q, c) in enumerate(zip(tiers.quotas, cuts))]
            out["why"] = (f"rank {row[RANK]} of {row[GROUP_N]} in group {row[GROUP]} by "
                          f"{', '.join(tiers.order_by)}; quotas ({tiers.rounding}): {'; '.join(spans)}")
        elif tiers.method == "thresholds":
            score = row.get(SCORE)
            reached = next((t for t in tiers.thresholds if t.tier == tier), None)  # the threshold the stage's tier is
            out["why"] = (f"score {score:.4f} ≥ {reached.min:g}" if reached and reached.min is not None and score is not None
                          else "below every other threshold")
            if reached is not None:
                lines.append("  " + (self.t("thr", score=_num(score), min=_num(reached.min), tier=reached.tier)
                                     if reached.min is not None else self.t("thr_else", score=_num(score), tier=reached.tier)))
        else:
            out["why"] = "tier given in the input"
            lines.append("  " + self.t("input_tier"))
        if row.get(VETO):
            vetoes = [a for a in self._adjustments() if a["applied"] and a["veto"]]
            lines += [f"  {a['text']}" for a in vetoes[:1]]
        streak = row.get(_STREAK)
        if tier and streak is not None and self._reads_streak():
            k = int(streak)
            cycle = row.get(CYCLE)
            years = ""
            if cycle is not None:
                listed = "、".join(str(int(cycle) - i) for i in range(k))
                years = f"（{listed} 年）" if self.lang == "zh" else f" ({listed})"
            out["streak"] = k
            lines.append("  " + self.t("history", k=k, tier=tier, years=years))
        out["lines"] = lines
        return out

    def _bounded(self, cuts: list[int]) -> list[str]:
        """Why a firm's tier is not the one its rank gives: a tier's ``min_score`` or ``max_score``."""
        quotas, row = self.pack.tiers.quotas, self.row  # type: ignore[union-attr]
        by_rank = next(q for q, cut in zip(quotas, cuts) if int(row[RANK]) <= cut)
        tier, score = row.get(TIER), row.get(SCORE)
        if by_rank.tier == tier or score is None:
            return []
        low = by_rank.min_score is not None and score < by_rank.min_score
        bound = "min_score" if low else "max_score"
        return ["  " + self.t("bounded", by_rank=by_rank.tier, score=_num(score), cmp="<" if low else ">",
                              bound=self.t(bound), limit=_num(getattr(by_rank, bound)), tier=tier)]

    def _order_word(self, spec: str) -> str:
        name, _, direction = spec.partition(" ")
        label = self.label(name)
        return f"{label}{self.t(direction or 'desc')}"

    def _reads_streak(self) -> bool:
        for path, node in self.plan.exprs.items():
            if path.startswith("measures.") and _STREAK in ex.names(node):
                return True
        return False

    def _measures(self) -> dict[str, Any]:
        out = {}
        tier = self.row.get(TIER)
        for name, m in self.pack.measures.items():
            value = self.row.get(measure_col(name))
            label = m.label or name
            entry: dict[str, Any] = {"value": value, "unit": m.unit, "label": m.label}
            path = f"measures.{name}"
            shown = _num(value, m.unit) if m.type == "number" else (value or "—")
            if m.expr is not None:
                node = self.plan.node(f"{path}.expr")
                entry["inputs"] = {n: self.env.get(n) for n in sorted(ex.names(node)) if n not in self.plan.numbers}
                entry["text"] = (self.t("measure_expr", label=label, formula=self.filled(node), value=shown)
                                 if m.type == "number" else f"{label}：{shown}" if self.lang == "zh" else f"{label}: {shown}")
            elif m.by_tier is not None:
                table = self.plan.tables[m.by_tier] if isinstance(m.by_tier, str) else m.by_tier
                if tier in (table or {}):
                    node = self.plan.expr_at(f"{path}.by_tier.{tier}")
                    formula = self.filled(node) if node is not None and not isinstance(node, ex.Num) else None
                    entry["rule"] = f"by tier {tier}"
                    entry["text"] = self.t("measure_tier", label=label, tier=tier,
                                           value=f"{formula} = {shown}" if formula and formula != shown else shown)
                else:
                    entry["rule"] = "default"
                    entry["text"] = self.t("measure_default", label=label, tier=tier, value=shown)
            else:
                entry["text"] = f"{label} = {shown}"
            out[name] = entry
        return out

    def _measure_lines(self, measures: dict[str, Any]) -> list[str]:
        return [self.head("measures")] + [f"  {m['text']}" for m in measures.values()] if measures else []

    def _checks(self) -> dict[str, Any]:
        row = self.row
        out: dict[str, Any] = {"decision": row.get(DECISION), "failed": row.get(FAILED_REASONS), "conditions": []}
        for check in self.pack.checks:
            bound = "min" if check.min is not None else "max"
            passed = row.get(check_col(check.name))
            value, limit = row.get(compared_col(check.name, "value")), row.get(compared_col(check.name, "threshold"))
            label = check.label or check.name
            cond: dict[str, Any] = {"name": check.name, "label": check.label, "passed": passed, "value": value,
                                    bound: limit, "unit": check.unit, "precision": check.precision}
            if passed is None:
                cond["text"] = self.t("check_na", label=label)
            elif value is None or limit is None:
                cond["text"] = self.t("check_missing", label=label)
            elif check.message is not None and _is_condition(self.plan.node(f"checks.{self.pack.checks.index(check)}.value")):
                cond["text"] = self.t("check_flag", label=label, ok=self.t("pass" if passed else "fail"),
                                      message="" if passed else f" — {check.message}")
            else:
                sign = {("min", False): "≥", ("min", True): ">", ("max", False): "≤", ("max", True): "<"}[(bound, check.strict)]
                shown = [render_number(v, _digits_showing(check, value, limit, passed)) for v in (value, limit)]
                unit = f" {check.unit}" if check.unit else ""
                cond["text"] = self.t("check", label=label, value=shown[0] + unit, sign=sign, limit=shown[1] + unit,
                                      ok=self.t("yes" if passed else "no"))
                if check.precision is not None:
                    cond["unrounded"] = row.get(compared_col(check.name, "raw"))
                    cond["text"] += self.t("precision", p=check.precision, raw="—" if cond["unrounded"] is None
                                             else f"{cond['unrounded']:.10g}")
            out["conditions"].append(cond)
        return out


def _is_condition(node: ex.Node) -> bool:
    """A check whose value is "1 if condition else 0": read out as passed or not, not as 0 ≤ 0."""
    return isinstance(node, ex.Call) and node.func == "when"


def _digits_showing(check: Any, value: float, limit: float, passed: bool) -> int:
    """The fewest decimals (from the check's own) at which the printed numbers tell the verdict truly."""
    if check.precision is not None:
        return check.precision
    for digits in range(check.digits, check.digits + 10):
        if holds(check, round_half_away(value, digits), round_half_away(limit, digits), rounded=True) == passed:
            return digits
    return check.digits + 10


def explain_row(plan: Plan, row: dict[str, Any], lang: str | None = None,
                sources: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The trace of one record; ``lang`` zh or en (default: the pack's own language); ``sources``
    names each input's file and column (and unit conversion), as the intake recorded them."""
    trace = _Explainer(plan, row, lang or pack_language(plan), sources or {}).trace()
    if row.get(STATUS) != "error":
        trace.update(mechanism_facts(plan, row))
    lang = trace["lang"]
    def table_name(name: str) -> str:  # 行业系数（weight_of）: its label, when it has one, beside the name
        label = getattr(plan.pack.parameters.get(name), "label", None)
        return f"{label}（{name}）" if label and lang == "zh" else (f"{label} ({name})" if label else name)

    unknown = [_t(lang, "unknown_key", table=table_name(u["table"]), code=u["key"], path=u["path"])
               for u in trace.get("unknown_lookup_keys", [])]
    trace["lines"][-1:-1] = unknown  # before the document cited
    return trace


def format_trace(trace: dict[str, Any]) -> str:
    """The plain-text explanation an official can read aloud at an appeal hearing."""
    return "\n".join(trace["lines"])

"""``pack_diff``: what changed between two packs, one line per change in the words of the packs' labels.

Both packs are compared as their resolved models (``extends`` applied), section by section; lists that
name their entries (adjustments by ``name``, quotas and thresholds by ``tier``, checks by ``name``) are
compared entry by entry, so inserting one adjustment does not read as every later one changing. Each
change is worded from the element's label (亩均税收), the field's Chinese name (权重) and the values:
``亩均税收权重 45 → 50``. An item whose weight or benchmark names a parameter that changed gets a line of
its own too (``亩均税收 的基准 div_tax_per_mu 26.01 → 24.097``): the editor sees which score moves.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mujun.pack import Pack

__all__ = ["Change", "PackDiff", "pack_diff", "format_value"]

#: Sections compared, in the order a pack is read; the identity fields come first.
_SECTIONS = ("effective", "regions", "inputs", "parameters", "groups", "scope", "indicators", "benchmarks", "items",
             "adjustments", "tiers", "measures", "checks", "decision", "parks")
_IDENTITY = ("id", "version", "title", "source", "leaves_out")
_SECTION_WORDS = {
    "id": "编号", "version": "版本", "title": "标题", "source": "依据文件", "leaves_out": "未纳入说明",
    "effective": "有效期", "regions": "适用地区", "inputs": "输入字段", "parameters": "参数", "groups": "分组",
    "scope": "参评范围", "indicators": "指标", "benchmarks": "基准值", "items": "评分项", "adjustments": "加减分项",
    "tiers": "分类", "measures": "措施", "checks": "核查条件", "decision": "结论用语", "parks": "园区评价",
}
_FIELD_WORDS = {
    "value": "", "weight": "权重", "benchmark": "基准", "cap_ratio": "比值上限", "cap": "得分上限", "floor": "得分下限",
    "indicator": "指标", "method": "计分方法", "when": "适用条件", "missing": "缺失值处理", "negative": "负值处理",
    "steps": "分档", "expr": "公式", "label": "名称", "unit": "单位", "percent": "比例（%）", "min_score": "最低分",
    "max_score": "最高分", "min_count": "最少家数", "min": "下限", "max": "上限", "points": "分值", "veto": "一票否决",
    "reason": "理由", "tier": "等级", "group_by": "分组依据", "order_by": "排序", "rounding": "取整规则",
    "quotas": "等级比例", "thresholds": "分数线", "names": "等级名称", "by_tier": "按等级", "default": "默认值",
    "allocate": "分配", "budget": "总量", "stat": "统计量", "of": "统计指标", "factor": "系数", "source": "数据来源",
    "reading": "口径", "where": "统计范围", "percentile": "分位数", "zero_denominator": "分母为零处理",
    "require": "要求", "allowed": "允许值", "aliases": "别名", "value_aliases": "值别名", "type": "类型",
    "table": "对照表", "key": "键", "prefix": "前缀位数", "cohort": "比较组", "score_round": "得分小数位",
    "from": "起", "to": "止", "message": "提示语", "digits": "小数位", "precision": "比较精度", "strict": "严格比较",
    "pass": "通过", "fail": "不通过",
}
_KEYED_LISTS = {"adjustments": "name", "quotas": "tier", "thresholds": "tier", "checks": "name"}


class Change(BaseModel):
    """One difference: where (``section``, the element ``key`` and the ``field`` path in it), what, and in words."""

    model_config = ConfigDict(frozen=True)

    section: str
    key: str | None = None
    field: str | None = None
    kind: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None
    text: str


class PackDiff(BaseModel):
    model_config = ConfigDict(frozen=True)

    old: dict[str, str]
    new: dict[str, str]
    identical: bool
    changes: list[Change]


def format_value(value: Any) -> str:
    """A value as an editor writes it: 45 not 45.0, every digit of 24.097 kept, lists and tables inline.

    >>> format_value(45.0), format_value(0.0001229), format_value({"A": 100.0, "B": 50.0})
    ('45', '0.0001229', 'A 100, B 50')
    """
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_value(v)}" for k, v in value.items() if v is not None) or "（无）"
    if isinstance(value, list):
        return "、".join(format_value(v) for v in value) or "（无）"
    if value is None:
        return "（无）"
    return str(value)


def _keyed(section: str, value: Any) -> Any:
    """Named lists as mappings by their name; other lists (scope rules, steps) as mappings by position."""
    if isinstance(value, dict):
        return {k: _keyed(k, v) for k, v in value.items()}
    if isinstance(value, list) and not value and section in (*_KEYED_LISTS, "scope", "steps"):
        return {}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        name = _KEYED_LISTS.get(section)
        if name and all(name in v for v in value):
            return {str(v[name]): _keyed(section, {k: x for k, x in v.items()}) for v in value}
        return {f"#{i + 1}": _keyed(section, v) for i, v in enumerate(value)}
    return value


def _walk(before: Any, after: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str, Any, Any]]:
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in dict.fromkeys([*before, *after]):
            if key not in before:
                found.append(((*path, key), "added", None, after[key]))
            elif key not in after:
                found.append(((*path, key), "removed", before[key], None))
            else:
                found.extend(_walk(before[key], after[key], (*path, key)))
        return found
    return [(path, "changed", before, after)]


def _label(model: dict[str, Any], section: str, key: str | None) -> str:
    if key is None:
        return _SECTION_WORDS.get(section, section)
    element = model.get(section, {})
    element = element.get(key) if isinstance(element, dict) else None
    label = element.get("label") if isinstance(element, dict) else None
    return label or key


def _words(field: tuple[str, ...]) -> str:
    return "·".join(w for w in (_FIELD_WORDS.get(part, part) for part in field) if w)


def _brief(section: str, element: Any) -> str:
    """An added or removed element in a few words: a parameter's value and unit, an item's weight and
    indicator, a formula; not every field of it."""
    if not isinstance(element, dict):
        return format_value(element)
    if section == "parameters":
        return " ".join(x for x in (format_value(element.get("value")), element.get("unit") or "") if x)
    fields = {"indicators": ("expr",), "benchmarks": ("stat", "of", "value", "factor"), "items": ("weight", "indicator"),
              "measures": ("by_tier", "expr", "allocate"), "inputs": ("require",), "adjustments": ("when", "points", "veto"),
              "scope": ("when", "reason"), "quotas": ("percent",), "thresholds": ("min",)}.get(section)
    shown = {k: v for k, v in element.items() if v not in (None, [], {}, "") and k not in ("label", "name", "tier")
             and (fields is None or k in fields)}
    return "，".join(f"{_FIELD_WORDS.get(k, k)} {format_value(v)}" for k, v in shown.items()) or "（无）"


def _text(section: str, name: str | None, field: tuple[str, ...], kind: str, before: Any, after: Any,
          unit: str | None, table_entry: bool) -> str:
    words = _SECTION_WORDS.get(section, section)
    if section == "parameters" and name is not None:
        subject = f"{name}·{'·'.join(field)}" if table_entry else " ".join(x for x in (name, _words(field)) if x)
    elif name is None:  # a section with no named elements (tiers, effective): its word, then the field
        subject = " ".join(x for x in (words, _words(field)) if x)
    else:
        subject = " ".join(x for x in (name, _words(field)) if x)
    inner = field[-2] if len(field) >= 2 else (section if not field or name is None else field[0])
    if kind == "added":
        return f"新增{words}「{subject}」：{_brief(inner if field else section, after)}"
    if kind == "removed":
        return f"删除{words}「{subject}」（原为 {_brief(inner if field else section, before)}）"
    tail = f" {unit}" if unit else ""
    return f"{subject} {format_value(before)} → {format_value(after)}{tail}"


def _dump(pack: Pack) -> dict[str, Any]:
    raw = pack.model.model_dump(mode="json", by_alias=True, exclude_defaults=False)
    return {key: _keyed(key, value) for key, value in raw.items()}


def pack_diff(old: Pack, new: Pack) -> PackDiff:
    """Every difference between two packs, identity first, then section by section in pack order."""
    a, b = _dump(old), _dump(new)
    changes: list[Change] = []
    for key in _IDENTITY:
        if a.get(key) != b.get(key) and key not in ("source", "leaves_out"):
            changes.append(Change(section=key, kind="changed", before=a.get(key), after=b.get(key),
                                  text=f"{_SECTION_WORDS[key]} {format_value(a.get(key))} → {format_value(b.get(key))}"))
        elif a.get(key) != b.get(key):
            changes.append(Change(section=key, kind="changed", before=a.get(key), after=b.get(key),
                                  text=f"{_SECTION_WORDS[key]}已修改"))
    for section in _SECTIONS:
        for path, kind, before, after in _walk(a.get(section), b.get(section), ()):
            keyed = isinstance(a.get(section) or b.get(section), dict) and section not in ("effective", "tiers",
                                                                                          "decision", "parks")
            key = path[0] if keyed and path else None
            field = path[1:] if keyed else path
            table_entry = section == "parameters" and field[:1] == ("value",) and len(field) > 1
            if section == "parameters" and field[:1] == ("value",):
                field = field[1:]
            name = _label(b if kind != "removed" else a, section, key) if key is not None else None
            unit = (b.get(section, {}).get(key) or {}).get("unit") if section == "parameters" and key and (
                not field or table_entry) else None
            changes.append(Change(section=section, key=key, field=".".join(field) or None, kind=kind, before=before,
                                  after=after, text=_text(section, name, field, kind, before, after, unit, table_entry)))
    changes += _through_parameters(a, b)
    return PackDiff(old={"id": old.id, "version": old.version, "hash": old.hash},
                    new={"id": new.id, "version": new.version, "hash": new.hash},
                    identical=old.hash == new.hash, changes=changes)


def _through_parameters(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Items of NEW whose weight, benchmark, cap or floor is a parameter whose value changed."""
    old_params, new_params = a.get("parameters", {}), b.get("parameters", {})
    found = []
    for key, item in (b.get("items") or {}).items():
        for field in ("weight", "benchmark", "cap", "floor"):
            ref = item.get(field)
            if not isinstance(ref, str) or ref not in new_params or ref not in old_params:
                continue
            before, after = old_params[ref].get("value"), new_params[ref].get("value")
            if before != after and (a.get("items") or {}).get(key, {}).get(field) == ref:
                label = item.get("label") or key
                found.append(Change(section="items", key=key, field=field, kind="changed", before=before, after=after,
                                    text=f"{label} 的{_FIELD_WORDS[field]} {ref} {format_value(before)} → "
                                         f"{format_value(after)}（经参数）"))
    return found

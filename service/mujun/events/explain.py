"""Explaining an event-affected decision in the words of engine/explain.py: a dict of facts with ``lines``
in Chinese — which event, which rule, which effect, from when and until when, and what it did to the tier."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mujun.events.effective import AppliedEffect, EffectiveDecision
from mujun.packs.model import EventEffect, Pack

__all__ = ["explain_effective", "effect_text"]

_ENDED = {"expired": "已到期", "lifted": "已解除", "renewed": "被再次触发续期"}


def _number(value: float | str | None) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "—" if value is None else str(value)
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def effect_text(effect: EventEffect) -> str:
    """An effect in words: 直接列为 D 类 / 扣 5 分 / 措施 … 改为 0 / 解除 …."""
    parts = []
    if effect.tier is not None:
        parts.append(f"直接列为 {effect.tier} 类")
    if effect.points is not None:
        parts.append(f"{'加' if effect.points > 0 else '扣'} {_number(abs(effect.points))} 分")
    parts += [f"措施 {name} 改为 {_number(value)}" for name, value in effect.measures.items()]
    if effect.lift:
        parts.append(f"解除规则 {'、'.join(effect.lift)} 的效果")
    return "，".join(parts)


def _span(applied: AppliedEffect) -> str:
    if applied.until is None:
        return f"自 {applied.from_.isoformat()} 起（不设期限）"
    last = applied.until - dt.timedelta(days=1)
    return f"自 {applied.from_.isoformat()} 至 {last.isoformat()}（{applied.until.isoformat()} 起失效）"


def _line(pack: Pack, applied: AppliedEffect, events: dict[str, Any]) -> str:
    rule = next(r for r in pack.events.rules if r.name == applied.rule)  # type: ignore[union-attr]
    event = events.get(applied.event_id)
    kind = pack.events.types.get(rule.event) if pack.events else None  # type: ignore[union-attr]
    what = (kind.label if kind is not None and kind.label else rule.event)
    cause = f"事件 {applied.event_id}（{what}"
    if event is not None:
        cause += f"，{event.date.isoformat()}"
    cause += "）"
    how = ""
    if rule.count is not None:
        how = f"，{rule.count.within_days} 天内第 {rule.count.at_least} 次及以上"
    elif rule.absent is not None:
        how = f"，其后 {rule.absent.within_days} 天内无 {rule.absent.type}"
    return f"{cause}{how} → 规则 {rule.name}「{rule.label or rule.name}」：{effect_text(applied.effect)}，{_span(applied)}"


def explain_effective(pack: Pack, decision: EffectiveDecision, events: list[Any] | None = None) -> dict[str, Any]:
    """Facts and sentences for one firm's decision on ``as_of`` after its events."""
    by_id = {e.id: e for e in events or [] if e.enterprise == decision.enterprise}
    base = decision.base
    lines = [f"企业 {decision.enterprise} 截至 {decision.as_of.isoformat()} 的评价结果（含年度内事件）："]
    if not decision.applied and not decision.ended:
        lines.append("无事件规则生效，维持年度评价结果。")
    for applied in decision.applied:
        lines.append("生效：" + _line(pack, applied, by_id))
    for ended in decision.ended:
        note = _ENDED[ended.state] + (f"（事件 {ended.ended_by}）" if ended.ended_by else "")
        lines.append(f"{note}：" + _line(pack, ended, by_id))
    if decision.score != base.score and decision.score is not None and base.score is not None:
        lines.append(f"得分 {_number(base.score)} → {_number(decision.score)}")
    if decision.tier != base.tier:
        lines.append(f"等级 {base.tier} → {decision.tier}")
    else:
        lines.append(f"等级 {decision.tier}（未变）")
    for name, value in decision.measures.items():
        if base.measures.get(name) != value:
            measure = pack.measures.get(name)
            label, unit = (measure.label or name, f" {measure.unit}" if measure.unit else "") if measure else (name, "")
            lines.append(f"{label} {_number(base.measures.get(name))} → {_number(value)}{unit}")
    def fact(a: AppliedEffect) -> dict[str, Any]:
        return {"rule": a.rule, "event_id": a.event_id, "effect": effect_text(a.effect), "from": a.from_.isoformat(),
                "until": None if a.until is None else a.until.isoformat(), "state": a.state, "ended_by": a.ended_by}

    return {"enterprise_id": decision.enterprise, "as_of": decision.as_of.isoformat(),
            "tier": {"base": base.tier, "effective": decision.tier},
            "score": {"base": base.score, "effective": decision.score},
            "measures": dict(decision.measures), "applied": [fact(a) for a in decision.applied],
            "ended": [fact(a) for a in decision.ended], "lines": lines}

"""A firm's effective decision at a date: its base decision with the effects of its events applied.

Pure: no store, no engine state. The firings are re-derived from *all* the firm's events in date order
on every call, so an event delivered late gives the same result as one delivered in order.

How effects combine (docs/pack-language.md, "Events"):
* an effect is in force from its firing's date for ``for_days`` days (that day included, the last one
  excluded), else to the end;
* a rule does not stack with itself: firing again while in force renews it from the new date;
* ``lift`` ends the effects of the named rules in force on its date (a later firing applies again);
* points add to the base score and the firm is re-tiered by ``retier(score)`` (the cycle's frozen cut
  lines when a server calls it) unless its tier came from a veto or scope rule; a forced tier then
  overrides, the worst one when several are in force;
* when the tier or score moved, measures are recomputed by ``remeasure(tier, score)`` (if given); measure
  overrides come last, the later-dated one winning;
* a firm without a tier (unrated, an error) has no decision for events to change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from mujun.events.model import Event
from mujun.events.reference import Firing, detect_reference
from mujun.packs.model import EventEffect, Events, Pack

__all__ = ["BaseDecision", "AppliedEffect", "EffectiveDecision", "Detector", "apply_firings", "effective_decision",
           "decision_changes"]


class Detector(Protocol):
    """What fired over some events up to a date: :meth:`DurableDetector.detect`, or the reference's."""

    def __call__(self, events: Iterable[Event], as_of: dt.date, /) -> set[Firing]: ...


@dataclass(frozen=True)
class BaseDecision:
    """The cycle's decision for one firm, before events: tier, score, measures and its tier group.
    ``tier_from_score`` false: the tier came from a veto or a scope rule, so points move the score, not the tier."""

    enterprise: str
    tier: str | None
    score: float | None
    measures: Mapping[str, float | str | None] = field(default_factory=dict)
    group: str | None = None
    tier_from_score: bool = True


@dataclass(frozen=True)
class AppliedEffect:
    """One rule's effect on the firm, with its cause: which event, which rule, from when, until when."""

    rule: str
    label: str | None
    event_id: str
    effect: EventEffect
    from_: dt.date
    until: dt.date | None  # first day no longer in force; None: to the end
    state: Literal["in_force", "expired", "lifted", "renewed"] = "in_force"
    ended_by: str | None = None  # the event that lifted or renewed it


@dataclass(frozen=True)
class EffectiveDecision:
    """The decision in force on ``as_of``; ``applied`` are the effects in force, ``ended`` the ones that were."""

    enterprise: str
    as_of: dt.date
    tier: str | None
    score: float | None
    measures: Mapping[str, float | str | None]
    group: str | None
    base: BaseDecision
    applied: tuple[AppliedEffect, ...] = ()
    ended: tuple[AppliedEffect, ...] = ()

    @property
    def changed(self) -> bool:
        return (self.tier, self.score, dict(self.measures)) != (self.base.tier, self.base.score, dict(self.base.measures))


def _in_force(pack: Pack, firings: list[Firing], as_of: dt.date) -> tuple[list[AppliedEffect], list[AppliedEffect]]:
    rules = {r.name: (i, r) for i, r in enumerate(pack.events.rules)}  # type: ignore[union-attr]
    ordered = sorted((f for f in firings if f.date <= as_of and f.rule in rules),
                     key=lambda f: (f.date, rules[f.rule][0], f.event_id))
    active: dict[str, AppliedEffect] = {}
    ended: list[AppliedEffect] = []

    def close(name: str, on: dt.date) -> AppliedEffect | None:
        effect = active.get(name)
        if effect is not None and effect.until is not None and effect.until <= on:
            ended.append(replace(effect, state="expired"))
            del active[name]
            return None
        return effect

    for firing in ordered:
        _, rule = rules[firing.rule]
        effect = rule.effect
        if effect.lift:
            for target in effect.lift:
                if (lifted := close(target, firing.date)) is not None:
                    ended.append(replace(lifted, until=firing.date, state="lifted", ended_by=firing.event_id))
                    del active[target]
            continue
        if (earlier := close(rule.name, firing.date)) is not None:
            ended.append(replace(earlier, until=firing.date, state="renewed", ended_by=firing.event_id))
        until = None if effect.for_days is None else firing.date + dt.timedelta(days=effect.for_days)
        active[rule.name] = AppliedEffect(rule.name, rule.label, firing.event_id, effect, firing.date, until)
    for name in list(active):
        close(name, as_of)  # in force on as_of: until after it
    return sorted(active.values(), key=lambda a: (a.from_, rules[a.rule][0])), ended


def apply_firings(pack: Pack, base: BaseDecision, firings: Iterable[Firing], as_of: dt.date, *,
                  retier: Callable[[float], str], remeasure: Callable[[str, float | None], Mapping] | None = None,
                  ) -> EffectiveDecision:
    """The decision on ``as_of`` given this firm's firings (from either detector)."""
    mine = [f for f in firings if f.enterprise == base.enterprise]
    if pack.events is None or base.tier is None:
        return EffectiveDecision(base.enterprise, as_of, base.tier, base.score, base.measures, base.group, base)
    applied, ended = _in_force(pack, mine, as_of)
    tier, score = base.tier, base.score
    points = sum(a.effect.points for a in applied if a.effect.points is not None)
    if points and score is not None:
        score = score + points
        if base.tier_from_score:
            tier = retier(score)
    forced = [a.effect.tier for a in applied if a.effect.tier is not None]
    if forced:
        order = pack.tiers.tier_names() if pack.tiers else []
        tier = max(forced, key=lambda t: order.index(t) if t in order else -1)  # the worst forced tier
    measures = dict(base.measures)
    if (tier, score) != (base.tier, base.score) and remeasure is not None:
        measures = dict(remeasure(tier, score))
    for effect in sorted(applied, key=lambda a: a.from_):
        measures.update(effect.effect.measures)
    return EffectiveDecision(base.enterprise, as_of, tier, score, measures, base.group, base, tuple(applied),
                             tuple(sorted(ended, key=lambda a: (a.from_, a.rule))))


def effective_decision(pack: Pack, base: BaseDecision, events: Iterable[Event], as_of: dt.date, *,
                       retier: Callable[[float], str], remeasure: Callable[[str, float | None], Mapping] | None = None,
                       detect: Detector | None = None) -> EffectiveDecision:
    """The firm's decision on ``as_of`` from its base decision and its stored events (any order);
    ``detect`` defaults to the reference detector of the pack's rules."""
    if pack.events is None:
        return apply_firings(pack, base, (), as_of, retier=retier, remeasure=remeasure)
    mine = [e for e in events if e.enterprise == base.enterprise]
    spec = pack.events
    firings = (detect or (lambda evs, day: detect_reference(spec, evs, day)))(mine, as_of)
    return apply_firings(pack, base, firings, as_of, retier=retier, remeasure=remeasure)


def decision_changes(pack: Pack, base: BaseDecision, firings: Iterable[Firing], start: dt.date, end: dt.date, *,
                     retier: Callable[[float], str], remeasure: Callable[[str, float | None], Mapping] | None = None,
                     ) -> list[EffectiveDecision]:
    """Each date in (``start``, ``end``] on which the firm's decision changes (an effect begins, is lifted or
    expires), with the decision from that day: what a stream of decision changes emits. ``firings`` may be
    detected once up to ``end``: a firing depends only on events dated up to its own date."""
    mine = [f for f in firings if f.enterprise == base.enterprise]
    rules = {r.name: r for r in pack.events.rules} if pack.events else {}
    days = {f.date for f in mine}
    days |= {f.date + dt.timedelta(days=rules[f.rule].effect.for_days) for f in mine
             if f.rule in rules and rules[f.rule].effect.for_days is not None}
    previous = apply_firings(pack, base, mine, start, retier=retier, remeasure=remeasure)
    changes = []
    for day in sorted(d for d in days if start < d <= end):
        decision = apply_firings(pack, base, mine, day, retier=retier, remeasure=remeasure)
        if (decision.tier, decision.score, dict(decision.measures)) != (previous.tier, previous.score,
                                                                       dict(previous.measures)):
            changes.append(decision)
        previous = decision
    return changes

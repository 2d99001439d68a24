"""The reference detector: the pack's event rules read literally, in plain Python, sharing nothing
with :mod:`mujun.events.durable` but the order of events; the differential test holds the two equal.

A rule fires (a :class:`Firing`) at a date:
* a plain rule at each matching event, on its date;
* a ``count`` rule at each matching event that makes ``at_least`` matching events (itself and earlier
  ones, in :func:`~mujun.events.model.in_order`) no more than ``within_days`` days before it;
* an ``absent`` rule ``within_days`` after a matching event, when no other event of the awaited type
  (matching its ``where``) is dated from the event's day to that deadline, both included. It fires
  only once the deadline has come (``as_of`` or before): until then the absence is not yet a fact.
Events dated after ``as_of`` have not happened yet and are ignored.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mujun.events.model import Event, in_order
from mujun.packs.model import Events, FieldTest

__all__ = ["Firing", "detect_reference"]


@dataclass(frozen=True, order=True)
class Firing:
    """A rule fired for an enterprise: its cause (``event_id``) and the date its effect starts."""

    date: dt.date
    enterprise: str
    rule: str
    event_id: str


def _passes(test: FieldTest, value: str | float | None) -> bool:
    if value is None:
        return False  # a missing field meets no condition
    if test.is_ is not None:
        return value == test.is_
    if test.in_ is not None:
        return value in test.in_
    if isinstance(value, str):
        return False
    return (test.min is None or value >= test.min) and (test.max is None or value <= test.max)


def _matches(event: Event, type_: str, where: Mapping[str, FieldTest]) -> bool:
    return event.type == type_ and all(_passes(t, event.fields.get(n)) for n, t in where.items())


def detect_reference(spec: Events, events: Iterable[Event], as_of: dt.date) -> set[Firing]:
    """Every firing of every rule over these events (of any number of enterprises), up to ``as_of``."""
    by_firm: dict[str, list[Event]] = defaultdict(list)
    for event in in_order(e for e in events if e.date <= as_of):
        by_firm[event.enterprise].append(event)
    fired: set[Firing] = set()
    for firm, history in by_firm.items():
        for rule in spec.rules:
            matching = [e for e in history if _matches(e, rule.event, rule.where)]
            for position, event in enumerate(matching):
                if rule.count is not None:
                    start = event.date - dt.timedelta(days=rule.count.within_days)
                    if sum(1 for e in matching[: position + 1] if e.date >= start) >= rule.count.at_least:
                        fired.add(Firing(event.date, firm, rule.name, event.id))
                elif rule.absent is not None:
                    wait = rule.absent
                    deadline = event.date + dt.timedelta(days=wait.within_days)
                    came = any(e is not event and event.date <= e.date <= deadline and _matches(e, wait.type, wait.where)
                               for e in history)
                    if deadline <= as_of and not came:
                        fired.add(Firing(deadline, firm, rule.name, event.id))
                else:
                    fired.add(Firing(event.date, firm, rule.name, event.id))
    return fired

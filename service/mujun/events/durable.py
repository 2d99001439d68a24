"""The event rules compiled onto durable_rules: one ruleset per pack hash, the pattern detector.

durable_rules (a Rete engine in C) is used for what it is good at — joining correlated facts — and
designed around what it is not (read from its source, 2.0.28):

* a registered ruleset cannot change, so a ruleset is named by the pack's hash (``mujun_events_<hash>``)
  and lives on a :class:`DurableDetector` made for that pack;
* state lives only in process memory and a host holds at most 1,024 live sessions: the store stays the
  system of record, and each :meth:`DurableDetector.detect` call replays the events it is given into a
  fixed number of shard sessions (``sid`` = a hash of the enterprise; never one session per firm),
  collects what fired, and deletes those sessions — nothing survives a call;
* ``post`` may return before every action has run (a background thread also dispatches actions), so the
  host here runs no dispatcher thread and no timers, and each call drains the action queue until idle;
* windows are over event dates (the ``day`` field), never engine timers (which poll at ~0.2 s);
* arithmetic is only allowed on the right-hand side: ``m.day <= c.first.day + W``.

Facts: every event is a fact ``{kind: event, id, enterprise, type, day, ord, f_<field>…}`` (``ord`` is its
place in :func:`~mujun.events.model.in_order`); an absence rule also joins the shard's one ``clock``
fact (``day`` = as-of), asserted after every event, so ``none(...)`` is judged on all of them.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import zlib
from collections.abc import Iterable

from durable import engine
from durable import lang as dr

from mujun.events.model import Event, in_order
from mujun.events.reference import Firing
from mujun.packs.model import EventRule, Events, FieldTest

__all__ = ["DurableDetector", "MAX_SHARDS"]

MAX_SHARDS = 1024  # durable_rules' limit of live sessions in one host


class _Host(engine.Host):
    """A host without durable_rules' dispatcher and timer threads: actions run in the posting thread."""

    def _run(self) -> None:
        return None


def _field(name: str) -> str:
    return f"f_{name}"  # event fields apart from the fact's own keys (id, type, day …)


def _test(name: str, test: FieldTest):  # noqa: ANN202 - a durable_rules expression
    value = getattr(dr.m, _field(name))
    if test.is_ is not None:
        return value == test.is_
    if test.in_ is not None:
        either = None
        for word in test.in_:
            either = (value == word) if either is None else either | (value == word)
        return either
    parts = [*([value >= test.min] if test.min is not None else []), *([value <= test.max] if test.max is not None else [])]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined & part
    return joined


def _match(type_: str, where: dict[str, FieldTest]):  # noqa: ANN202
    expression = (dr.m.kind == "event") & (dr.m.type == type_)
    for name, test in where.items():
        expression = expression & _test(name, test)
    return expression


class DurableDetector:
    """The rules of one pack as one durable_rules ruleset; :meth:`detect` is the replay, one call at a time."""

    def __init__(self, spec: Events, pack_hash: str, *, shards: int = 16):
        if not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"shards must be 1..{MAX_SHARDS} (durable_rules' live sessions per host), got {shards}")
        self.spec = spec
        self.shards = shards
        self.name = f"mujun_events_{pack_hash[:32]}"
        self._lock = threading.Lock()  # the C engine and the sink are used by one call at a time
        self._sink: list[Firing] = []
        self._uses_clock = any(r.absent is not None for r in spec.rules)
        self._host = _Host({self.name: self._definition()}) if spec.rules else None

    def _definition(self) -> dict:
        definition = {}
        for rule in self.spec.rules:  # outside a ``with ruleset``: lang's global registry never sees them
            conditions, action = self._compile(rule)
            definition[rule.name] = {**dr.when_all(*conditions).define(), "run": action}
        return definition

    def _compile(self, rule: EventRule):  # noqa: ANN202 - durable_rules conditions and their action
        c, m = dr.c, dr.m

        def on():  # noqa: ANN202 - a fresh expression each time: ``<<`` sets the alias on the object itself
            return _match(rule.event, rule.where)

        sink, name = self._sink, rule.name

        def fire(alias: str, extra_days: int = 0):  # noqa: ANN202
            def action(closure) -> None:  # noqa: ANN001 - durable's closure
                fact = getattr(closure, alias)
                day = dt.date.fromordinal(int(fact.day) + extra_days)
                sink.append(Firing(day, fact.enterprise, name, fact.id))
            return action

        if rule.count is not None:
            window, last = rule.count.within_days, rule.count.at_least - 1
            chain = [c.e0 << on()]
            for k in range(1, last + 1):
                chain.append(getattr(c, f"e{k}") << (on() & (m.enterprise == c.e0.enterprise)
                                                    & (m.ord > getattr(c, f"e{k - 1}").ord)
                                                    & (m.day <= c.e0.day + window)))
            return chain, fire(f"e{last}")
        if rule.absent is not None:
            wait = rule.absent.within_days
            awaited = (_match(rule.absent.type, rule.absent.where) & (m.enterprise == c.e.enterprise)
                       & (m.ord != c.e.ord) & (m.day >= c.e.day) & (m.day <= c.e.day + wait))
            return [c.clock << (m.kind == "clock"), c.e << (on() & (m.day <= c.clock.day - wait)), dr.none(awaited)], \
                fire("e", wait)
        return [c.e << on()], fire("e")

    def _shard(self, enterprise: str) -> str:
        return str(zlib.crc32(enterprise.encode("utf-8")) % self.shards)

    def detect(self, events: Iterable[Event], as_of: dt.date) -> set[Firing]:
        """Replay these events (any enterprises, any order) into fresh shard sessions; what fired, up to ``as_of``."""
        if self._host is None:
            return set()
        facts = [{"sid": self._shard(e.enterprise), "kind": "event", "id": e.id, "enterprise": e.enterprise,
                  "type": e.type, "day": e.date.toordinal(), "ord": i, **{_field(k): v for k, v in e.fields.items()}}
                 for i, e in enumerate(in_order(e for e in events if e.date <= as_of))]
        shards: dict[str, list[dict]] = {}
        for fact in facts:
            shards.setdefault(fact["sid"], []).append(fact)
        sids = sorted(shards, key=int)
        with self._lock:
            self._sink.clear()
            try:
                for sid in sids:
                    self._assert(shards[sid])
                if self._uses_clock:  # after every event of the shard: none(...) is judged on all of them
                    for sid in sids:
                        self._assert([{"sid": sid, "kind": "clock", "day": as_of.toordinal()}])
                self._drain()
                return set(self._sink)
            finally:
                for sid in sids:
                    self._host.delete_state(self.name, sid)
                self._sink.clear()

    def _assert(self, facts: list[dict]) -> None:
        """One shard's facts in one call. The engine takes every fact of the batch, but when any is one no rule
        looks at, the call raises before running the actions it queued: :meth:`_drain` runs them."""
        try:
            self._host.assert_facts(self.name, facts)
        except engine.MessageNotHandledException:
            pass

    def _drain(self) -> None:
        """Run any action still queued (what durable's dispatcher thread would do), until the engine is idle."""
        ruleset = self._host.get_ruleset(self.name)
        while result := engine.durable_rules_engine.start_action(ruleset._handle):  # noqa: SLF001
            errors: list = []
            ruleset._flush_actions(json.loads(result[0]), {"message": json.loads(result[1])}, result[2],  # noqa: SLF001
                                   lambda error, _state: errors.append(error) if error else None)
            if errors:
                raise RuntimeError(f"durable_rules action failed: {errors[0]}")

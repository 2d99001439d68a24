"""In-year events on a server: store them, re-tier the firm against its frozen cycle, and stream every change.

One writer (a lock here, and the store's write transaction) applies a request's events: each event row, the
firm's new decision version (its cause: event id and rules) and that version's outbox row
(``decision_changes``) commit in one transaction, so a kill -9 loses none of them without the others, and
nothing is acknowledged before it is committed.

The firm's state is re-derived each time from *all* its stored events, ordered by date, with the pack's
rules run by durable_rules (:class:`~mujun.events.DurableDetector`, one per pack hash) over them. That is
the brief's "simpler and correct" choice: no engine state outlives a call, so there is nothing to rebuild
on start or on pack activation, an event dated before applied ones gives the in-order result by
construction, and a firm has a handful of events a year (the replay is microseconds to milliseconds).

Effects end by the calendar: the decision is evaluated as of ``today()`` (an injectable clock; the
server's ``events_today`` setting fixes it for tests and replays). :meth:`EventService.sweep` — run at
server start and every ``events_sweep_seconds`` — writes a version for each firm whose effective
decision on that day differs from its current one (an effect expired, or one dated in the future began).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import mujun
from mujun.engine.adjust import SCORE
from mujun.engine.columns import OK, STATUS, measure_col
from mujun.engine.rowwise import _ENV, _Env, row_plan
from mujun.engine.tiers import GROUP, RANK, TIER
from mujun.errors import OutOfRange, PreconditionFailed, RequestInvalid
from mujun.events import BaseDecision, DurableDetector, EffectiveDecision, Event, FieldViolation, effective_decision, parse_events
from mujun.packs.model import Pack as PackModel
from mujun.services._paging import id_page, id_token
from mujun.services.context import Context
from mujun.services.frozen import CAUSE, FROZEN_STATES, FrozenEntry, FrozenService
from mujun.services.principal import Principal
from mujun.services.results import Page
from mujun.store import audit, cycles
from mujun.store import events as store
from mujun.store.models import CycleRow, DecisionChangeRow, DecisionRow, EnterpriseEventRow, utcnow

__all__ = ["EventService", "Outcome", "StoredEvent", "Change", "DERIVED_CAUSES"]

log = logging.getLogger(__name__)

#: Causes of versions derived from events: the base decision is the newest version of any other cause.
DERIVED_CAUSES = ("event", "expiry")


@dataclass(frozen=True)
class Outcome:
    """What one posted event did: ``status`` applied (a new version), unchanged (stored, the decision
    stayed), duplicate (posted before: the first result), or rejected (``violations``; nothing stored)."""

    index: int
    event_id: str
    status: str
    violations: tuple[FieldViolation, ...] = ()
    version: int = 0
    tier: str | None = None
    cursor: int = 0

    def result(self) -> dict[str, Any]:
        return {"status": self.status, "version": self.version, "tier": self.tier, "cursor": self.cursor}


@dataclass(frozen=True)
class StoredEvent:
    source: str
    event_id: str
    region: str
    year: int
    enterprise_id: str
    type: str
    date: dt.date
    fields: Mapping[str, Any]
    received_at: dt.datetime
    result: Mapping[str, Any]

    @classmethod
    def of(cls, row: EnterpriseEventRow) -> StoredEvent:
        return cls(row.source, row.event_id, row.region, row.year, row.enterprise_id, row.type, row.date,
                   json.loads(row.fields_json), row.received_at, json.loads(row.result))


@dataclass(frozen=True)
class Change:
    """One row of the outbox, as the WatchDecisions stream sends it."""

    cursor: int
    region: str
    year: int
    enterprise_id: str
    version: int
    tier_before: str | None
    tier_after: str | None
    measures_changed: Mapping[str, list[Any]]
    cause: Mapping[str, Any]
    at: dt.datetime

    @classmethod
    def of(cls, row: DecisionChangeRow) -> Change:
        return cls(row.cursor, row.region, row.year, row.enterprise_id, row.version, row.tier_before, row.tier_after,
                   json.loads(row.measures_changed_json), json.loads(row.cause_json), row.at)


@dataclass
class _Signal:
    """Wakes watchers when a change commits; ``generation`` counts commits so no wake-up is missed."""

    condition: threading.Condition = field(default_factory=threading.Condition)
    generation: int = 0

    def notify(self) -> None:
        with self.condition:
            self.generation += 1
            self.condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        with self.condition:
            if self.generation == seen:
                self.condition.wait(timeout)
            return self.generation


def _content_id(row: Mapping[str, Any]) -> str:
    """An event id for a row posted without one: its content's hash, so a retry is still the same event."""
    text = json.dumps({k: row.get(k) for k in sorted(row) if k != "event_id"}, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:24]


class EventService:
    def __init__(self, context: Context, frozen: FrozenService, *, today: Callable[[], dt.date] = dt.date.today):
        self._db = context.db
        self._frozen = frozen
        self.today = today
        self._writer = threading.Lock()  # one writer applies events (and sweeps)
        self._detectors: dict[str, DurableDetector] = {}
        self._signal = _Signal()

    # -- posting ------------------------------------------------------------------------------------

    def post(self, principal: Principal, region: str, year: int, source: str, rows: Sequence[Mapping[str, Any]],
             *, as_of: dt.date | None = None) -> list[Outcome]:
        """Apply the events of one cycle, each in its own transaction; every row gets an outcome, and an
        invalid one never stops the valid ones."""
        principal.require_region(region)
        source = source.strip() or principal.actor
        entry = self._entry(principal, region, year)
        spec = entry.pack.model.events
        assert spec is not None
        given = [{**row, "event_id": str(row.get("event_id") or "").strip() or _content_id(row)} for row in rows]
        events, rejected = parse_events(spec, given)
        outcomes: dict[int, Outcome] = {r.index: Outcome(r.index, r.event_id or "", "rejected", r.violations)
                                        for r in rejected}
        positions = [i for i in range(len(given)) if i not in outcomes]
        day = as_of or self.today()
        if positions:
            # one writer, one transaction for the request's events: each event's row, decision version and
            # outbox row commit together with the others' (one commit, one fsync), or none of them does
            with self._writer, self._db.write() as session:
                cycle = cycles.get(session, region, year)
                for index, event in zip(positions, events, strict=True):
                    outcomes[index] = self._post_one(session, principal, entry, cycle, source, index, event, day)
            if any(o.status == "applied" for o in outcomes.values()):
                self._signal.notify()
        return [outcomes[i] for i in range(len(given))]

    def _entry(self, principal: Principal, region: str, year: int) -> FrozenEntry:
        with self._db.read() as session:
            state = cycles.get(session, region, year).state
        if state not in FROZEN_STATES:
            raise PreconditionFailed(f"cycle {region}/{year} is {state}: events apply to frozen or published cycles "
                                     "(a draft's decisions can still be run again)", location=f"cycles/{region}/{year}")
        entry = self._frozen.entry(principal, region, year)
        if entry.pack.model.events is None:
            raise PreconditionFailed(f"pack {entry.pack.id} {entry.pack.version} of cycle {region}/{year} has no "
                                     "'events' section: it defines no event types or rules",
                                     location=f"cycles/{region}/{year}")
        return entry

    def _post_one(self, session: Session, principal: Principal, entry: FrozenEntry, cycle: CycleRow, source: str,
                  index: int, event: Event, day: dt.date) -> Outcome:
        region, year = entry.state.region, entry.state.year
        bad = []
        if event.date.year != year:
            bad.append(FieldViolation("date", f"{event.date.isoformat()} is outside the {year} cycle "
                                              f"({year}-01-01 to {year}-12-31)"))
        first = store.find(session, source, event.id)
        if first is not None:
            return Outcome(index, event.id, "duplicate", **{k: v for k, v in json.loads(first.result).items()
                                                            if k in ("version", "tier", "cursor")})
        history = cycles.decision_history(session, cycle, event.enterprise)
        if not history:
            bad.append(FieldViolation("enterprise_id", f"{event.enterprise!r} has no decision in cycle "
                                                       f"{region}/{year}"))
        if bad:
            return Outcome(index, event.id, "rejected", tuple(bad))
        row = store.add(session, source=source, event_id=event.id, region=region, year=year,
                        enterprise_id=event.enterprise, type_=event.type, date=event.date,
                        fields=dict(event.fields), result={})
        cause = {"kind": "event", "event_id": event.id, "source": source, "type": event.type,
                 "date": event.date.isoformat()}
        written = self._apply(session, principal, entry, cycle, history, day, cause, caused_by=event.id)
        decision = history[-1] if written is None else written[0]
        outcome = Outcome(index, event.id, "unchanged" if written is None else "applied", version=decision.version,
                          tier=decision.tier, cursor=0 if written is None else written[1].cursor)
        row.result = json.dumps(outcome.result(), ensure_ascii=False)
        return outcome

    def _apply(self, session: Session, principal: Principal, entry: FrozenEntry, cycle: CycleRow,
               history: list[DecisionRow], day: dt.date, cause: dict[str, Any], *, caused_by: str | None = None,
               ) -> tuple[DecisionRow, DecisionChangeRow] | None:
        """Write the firm's decision on ``day`` as a new version (and its outbox row) when it differs from the
        current one; None when it does not."""
        pack = entry.pack.model
        current = history[-1]
        base_row = next((r for r in reversed(history) if _cause_of(r).get("kind") not in DERIVED_CAUSES), history[0])
        base_result = json.loads(base_row.result_json)
        measures = [name for name in pack.measures]
        events = [Event(r.event_id, r.enterprise_id, r.type, r.date, json.loads(r.fields_json))
                  for r in store.of_firm(session, cycle.region, cycle.year, current.enterprise_id)]
        decision = effective_decision(pack, _base(base_result, measures), events, day,
                                      retier=_retier(pack, base_result.get(TIER)),
                                      remeasure=self._remeasure(entry, base_row, measures),
                                      detect=self._detector(entry.pack).detect)
        now = json.loads(current.result_json)
        if (decision.tier, decision.score, {n: decision.measures.get(n) for n in measures}) == (
                now.get(TIER), now.get(SCORE), {n: now.get(measure_col(n)) for n in measures}):
            return None
        effects = _effects(decision)
        rules = sorted({a["rule"] for a in effects["applied"] if caused_by is None or a["event_id"] == caused_by})
        cause = {**cause, "rules": rules, **effects, "as_of": day.isoformat(), "base_version": base_row.version}
        result = {**base_result, TIER: decision.tier, SCORE: decision.score,
                  **{measure_col(n): decision.measures.get(n) for n in measures}, CAUSE: cause}
        added = DecisionRow(cycle_id=cycle.id, enterprise_id=current.enterprise_id, version=current.version + 1,
                            status=current.status, tier=decision.tier, score=decision.score, group_key=current.group_key,
                            reason=f"{cause['kind']}: {cause.get('event_id') or ', '.join(rules) or 'effects ended'}",
                            result_json=json.dumps(result, ensure_ascii=False, default=str),
                            input_json=base_row.input_json, created_by=principal.actor)
        session.add(added)
        session.flush()
        audit.record(session, actor=principal.actor, action=f"decision.{cause['kind']}",
                     target=f"cycles/{cycle.region}/{cycle.year}/decisions/{current.enterprise_id}", region=cycle.region,
                     before=audit.digest(current.result_json), after=audit.digest(added.result_json),
                     detail={"version": added.version, "tier_before": current.tier, "tier_after": added.tier,
                             "event_id": cause.get("event_id"), "rules": rules})
        change = store.record_change(session, cycle, current, added, cause)
        session.flush()
        return added, change

    def _detector(self, pack: mujun.Pack) -> DurableDetector:
        """One durable_rules ruleset per pack hash (a registered ruleset cannot change)."""
        found = self._detectors.get(pack.hash)  # the writer lock is held: one caller at a time
        if found is None:
            found = self._detectors[pack.hash] = DurableDetector(pack.model.events, pack.hash)  # type: ignore[arg-type]
        return found

    def _remeasure(self, entry: FrozenEntry, base_row: DecisionRow, measures: list[str]):  # noqa: ANN202
        """Measures of the firm at another tier and score: its stored record scored against the frozen context,
        then the pack's measure stage with the new tier and score."""
        if entry.context.unsupported or not measures:
            return None
        plan = entry.pack.plan
        rows = row_plan(plan)

        def remeasure(tier: str, score: float | None) -> Mapping[str, Any]:
            record = {**json.loads(base_row.input_json), "region": entry.state.region}
            full = rows.score([record], entry.context)[0]
            full[TIER], full[SCORE] = tier, score
            # the row path's measure stage, on the row's name → value view (rowwise has no public entry for it)
            full[_ENV] = _Env(full, rows._columns, plan.numbers)  # noqa: SLF001
            rows._measures(full, entry.state.year)  # noqa: SLF001
            return {n: full.get(measure_col(n)) for n in measures}
        return remeasure

    def reapply(self, session: Session, principal: Principal, cycle: CycleRow, enterprise_id: str) -> bool:
        """After an appeal's new version (in the appeal's transaction): the firm's events apply again on top of
        it, as a version of its own, when they change it. The caller holds the store's write transaction."""
        entry = self._frozen.entry(principal, cycle.region, cycle.year)
        if entry.pack.model.events is None or not store.of_firm(session, cycle.region, cycle.year, enterprise_id):
            return False
        history = cycles.decision_history(session, cycle, enterprise_id)
        return self._apply(session, principal, entry, cycle, history, self.today(),
                           {"kind": "event", "after": "appeal"}) is not None

    # -- expiry -------------------------------------------------------------------------------------

    def sweep(self, principal: Principal, as_of: dt.date | None = None) -> int:
        """Write a version for every firm whose decision on ``as_of`` (default: today) differs from its current
        one — an effect's window ended, or an effect dated later began. Returns the versions written."""
        day = as_of or self.today()
        with self._db.read() as session:
            firms = store.firms_with_events(session)
        written = 0
        for region, year, enterprise in firms:
            try:
                written += self._sweep_firm(principal, region, year, enterprise, day)
            except Exception:  # noqa: BLE001 - one firm that cannot be re-derived must not hold back the others
                log.exception("events sweep: %s %s %s not re-derived; the next sweep tries again", region, year,
                              enterprise)
        if written:
            self._signal.notify()
        return written

    def _sweep_firm(self, principal: Principal, region: str, year: int, enterprise: str, day: dt.date) -> int:
        entry = self._frozen.entry(principal, region, year)
        if entry.pack.model.events is None:
            return 0
        with self._writer, self._db.write() as session:
            cycle = cycles.get(session, region, year)
            history = cycles.decision_history(session, cycle, enterprise)
            changed = bool(history) and self._apply(session, principal, entry, cycle, history, day, {"kind": "expiry"})
            return 1 if changed else 0

    def prune(self, retention_days: int, now: dt.datetime | None = None) -> int:
        """Drop outbox rows older than the retention (watchers behind it get OUT_OF_RANGE)."""
        with self._db.write() as session:
            return store.prune_before(session, (now or utcnow()) - dt.timedelta(days=retention_days))

    def notify(self) -> None:
        """Wake watchers: a transaction that wrote outbox rows (publication, appeal) has committed."""
        self._signal.notify()

    # -- reading ------------------------------------------------------------------------------------

    def listing(self, principal: Principal, *, region: str, year: int, enterprise_id: str, type_: str,
                date_from: dt.date | None, date_to: dt.date | None, page_size: int, page_token: str) -> Page[StoredEvent]:
        regions, size, after_id = id_page(principal, region, page_size, page_token)
        with self._db.read() as session:
            rows = store.listing(session, regions=regions, year=year, enterprise_id=enterprise_id, type_=type_,
                                 date_from=date_from, date_to=date_to, after_id=after_id, limit=size + 1)
        return Page(tuple(StoredEvent.of(r) for r in rows[:size]), id_token(rows, size))

    def watch_start(self, principal: Principal, region: str, from_cursor: int | None) -> int:
        """The cursor a watch starts after: ``from_cursor`` checked against the retention (None: the current
        end of the stream; 0: before the oldest retained change)."""
        if region:
            principal.require_region(region)
        with self._db.read() as session:
            oldest, newest = store.bounds(session)
        if from_cursor is None:
            cursor = newest
        elif from_cursor < 0:
            raise RequestInvalid("from_cursor must be 0 or more", [("from_cursor", "give a cursor the stream sent")])
        elif from_cursor != 0 and oldest is not None and from_cursor < oldest - 1:
            raise OutOfRange(f"cursor {from_cursor} is older than the retained changes (the oldest is {oldest}); "
                             "resume from 0 or from the oldest cursor and re-read the decisions you hold",
                             oldest_cursor=oldest)
        else:
            cursor = from_cursor
        return cursor

    def watch(self, principal: Principal, *, region: str, after: int, tiers: Sequence[str] = (),
              measures: Sequence[str] = (), active: Callable[[], bool] = lambda: True, poll_seconds: float = 1.0,
              ) -> Iterator[Change]:
        """Every change after cursor ``after`` (from :meth:`watch_start`), in cursor order, none twice, until
        ``active()`` is false. Woken on commit, polling the outbox as the fallback."""
        if region:
            principal.require_region(region)
        regions = [region] if region else principal.visible
        cursor = after
        wanted_tiers, wanted_measures = set(tiers), set(measures)
        generation = self._signal.generation
        while active():
            with self._db.read() as session:
                rows = store.changes_after(session, cursor, regions=regions)
            for row in rows:
                cursor = row.cursor
                change = Change.of(row)
                if wanted_tiers and not wanted_tiers & {change.tier_before, change.tier_after}:
                    continue
                if wanted_measures and not wanted_measures & set(change.measures_changed):
                    continue
                yield change
            if not rows:
                generation = self._signal.wait(generation, poll_seconds)


def _cause_of(row: DecisionRow) -> dict[str, Any]:
    cause = json.loads(row.result_json).get(CAUSE)
    return cause if isinstance(cause, dict) else {}


def _base(result: dict[str, Any], measures: list[str]) -> BaseDecision:
    """The decision events apply to; a tier without a rank came from a veto or scope rule (points keep it)."""
    vetoed = result.get(STATUS) == OK and result.get(TIER) is not None and result.get(RANK) is None
    return BaseDecision(str(result.get("enterprise_id")), result.get(TIER) if result.get(STATUS) == OK else None,
                        result.get(SCORE), {n: result.get(measure_col(n)) for n in measures},
                        None if result.get(GROUP) is None else str(result.get(GROUP)),
                        tier_from_score=result.get(STATUS) == OK and not vetoed)


def _retier(pack: PackModel, tier: str | None) -> Callable[[float], str]:
    """Re-tiering after points: by the pack's thresholds; a quota pack keeps the tier its cut lines gave."""
    tiers = pack.tiers
    if tiers is not None and tiers.method == "thresholds":
        names = tiers.tier_names()
        return lambda score: next((t.tier for t in tiers.thresholds if t.min is None or score >= t.min), names[-1])
    return lambda _score: tier or ""


def _effects(decision: EffectiveDecision) -> dict[str, list[dict[str, Any]]]:
    def one(a: Any) -> dict[str, Any]:
        return {"rule": a.rule, "label": a.label, "event_id": a.event_id, "from": a.from_.isoformat(),
                "until": a.until.isoformat() if a.until else None, "state": a.state, "ended_by": a.ended_by}
    return {"applied": [one(a) for a in decision.applied], "ended": [one(a) for a in decision.ended]}

"""What the services return: frozen, typed values built from store rows, never the rows themselves.

Times are aware (UTC when the store hands them back without a zone, as SQLite does), JSON columns are
parsed, and a decision's recorded facts (internal columns for traces) are left out of its result.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from mujun.errors import PackIssue
from mujun.store.models import ActivationRow, AuditRow, CycleRow, DecisionRow, PackVersionRow

__all__ = ["PackVersion", "Activation", "PackHistory", "PackValidation", "TierCount", "Cycle", "DecisionVersion",
           "Decision", "AuditEntry", "Page", "FACTS"]

T = TypeVar("T")

#: Key of a stored decision's recorded facts (the stages' internal columns): read by traces, never returned.
FACTS = "__facts"


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


@dataclass(frozen=True)
class PackVersion:
    """One published, immutable version of a pack."""

    pack_id: str
    version: str
    hash: str
    title: str
    source: str
    text: str
    regions: tuple[str, ...]
    effective_from: dt.date | None
    published_at: dt.datetime
    published_by: str

    @classmethod
    def of(cls, row: PackVersionRow) -> PackVersion:
        return cls(pack_id=row.pack_id, version=row.version, hash=row.hash, title=row.title, source=row.source,
                   text=row.text, regions=tuple(json.loads(row.regions_json)), effective_from=row.effective_from,
                   published_at=_utc(row.created_at), published_by=row.created_by)


@dataclass(frozen=True)
class Activation:
    """From ``effective_from`` on, ``region`` (``*``: any region without its own) uses ``pack``."""

    region: str
    pack: PackVersion
    effective_from: dt.date
    activated_at: dt.datetime
    activated_by: str

    @classmethod
    def of(cls, row: ActivationRow, version: PackVersionRow) -> Activation:
        return cls(region=row.region, pack=PackVersion.of(version), effective_from=row.effective_from,
                   activated_at=_utc(row.created_at), activated_by=row.created_by)


@dataclass(frozen=True)
class PackHistory:
    """Pack versions and the activations that put them in force."""

    versions: tuple[PackVersion, ...]
    activations: tuple[Activation, ...]


@dataclass(frozen=True)
class PackValidation:
    """A pack text checked without publishing it: its identity when it compiles, else every problem."""

    pack_id: str = ""
    version: str = ""
    hash: str = ""
    issues: tuple[PackIssue, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.issues


@dataclass(frozen=True)
class TierCount:
    group: str
    tier: str
    count: int


@dataclass(frozen=True)
class Cycle:
    """A county's evaluation of one year, with the report (notes, warnings) of its latest run."""

    region: str
    year: int
    state: str
    pack: PackVersion | None
    enterprises: int
    tiers: tuple[TierCount, ...]
    run_number: int
    updated_at: dt.datetime
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: CycleRow, version: PackVersionRow | None, notes: Sequence[str] = (),
           warnings: Sequence[str] = ()) -> Cycle:
        return cls(region=row.region, year=row.year, state=row.state,
                   pack=PackVersion.of(version) if version is not None else None, enterprises=row.enterprises,
                   tiers=tuple(TierCount(**t) for t in json.loads(row.tiers_json)), run_number=row.run_number,
                   updated_at=_utc(row.updated_at), notes=tuple(notes), warnings=tuple(warnings))


@dataclass(frozen=True)
class DecisionVersion:
    """An earlier version of a decision, as a decision's history shows it."""

    version: int
    tier: str | None
    score: float | None
    reason: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: DecisionRow) -> DecisionVersion:
        return cls(version=row.version, tier=row.tier, score=row.score, reason=row.reason,
                   created_at=_utc(row.created_at))


@dataclass(frozen=True)
class Decision:
    """The current (or a given) version of one enterprise's decision in a cycle.

    ``result`` is the scored row (the engine's result columns), ``input`` the record that was scored.
    """

    region: str
    year: int
    cycle_state: str
    enterprise_id: str
    version: int
    reason: str
    result: dict[str, Any]
    input: dict[str, Any]
    created_at: dt.datetime
    created_by: str
    history: tuple[DecisionVersion, ...] = ()
    trace: dict[str, Any] | None = None

    @classmethod
    def of(cls, row: DecisionRow, cycle: CycleRow, history: Sequence[DecisionRow] = (),
           trace: dict[str, Any] | None = None) -> Decision:
        result = json.loads(row.result_json)
        result.pop(FACTS, None)
        return cls(region=cycle.region, year=cycle.year, cycle_state=cycle.state, enterprise_id=row.enterprise_id,
                   version=row.version, reason=row.reason, result=result, input=json.loads(row.input_json),
                   created_at=_utc(row.created_at), created_by=row.created_by,
                   history=tuple(DecisionVersion.of(h) for h in history), trace=trace)


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the append-only audit log."""

    id: int
    actor: str
    action: str
    target: str
    region: str
    before_hash: str
    after_hash: str
    at: dt.datetime
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: AuditRow) -> AuditEntry:
        return cls(id=row.id, actor=row.actor, action=row.action, target=row.target, region=row.region,
                   before_hash=row.before_hash, after_hash=row.after_hash, at=_utc(row.at),
                   detail=json.loads(row.detail_json))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_page_token`` is empty on the last page."""

    items: tuple[T, ...] = field(default_factory=tuple)
    next_page_token: str = ""

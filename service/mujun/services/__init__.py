"""The service layer (between the servicers or CLI and the engine + store): every operation of the API.

Each service checks the caller's regions, runs the engine where needed, writes through the store in
explicit transactions and returns typed results (:mod:`mujun.services.results`), never store rows.
``Services.create(db, meters)`` builds them all around one :class:`Context` (store, meters, pack cache).
"""

from __future__ import annotations

from dataclasses import dataclass

from mujun.services.audit import AuditService
from mujun.services.context import Context, Meters, PackCache
from mujun.services.cycles import CycleService
from mujun.services.decisions import DecisionService
from mujun.services.evaluation import EvaluationService
from mujun.services.frozen import FrozenService
from mujun.services.packs import PackService, PackSpec
from mujun.services.principal import Principal
from mujun.services.simulation import SimulationService
from mujun.store import Database

__all__ = ["Services", "Context", "Meters", "PackCache", "Principal", "PackSpec", "PackService", "EvaluationService",
           "CycleService", "DecisionService", "AuditService", "SimulationService", "FrozenService"]


@dataclass(frozen=True)
class Services:
    """Every service of one server (or one CLI process), sharing one context."""

    context: Context
    packs: PackService
    evaluation: EvaluationService
    cycles: CycleService
    decisions: DecisionService
    audit: AuditService
    simulation: SimulationService
    frozen: FrozenService  # scoring against frozen cycles (Evaluate with a cycle, appeals)

    @classmethod
    def create(cls, db: Database, meters: Meters, *, cache_size: int = 32) -> Services:
        context = Context(db, meters, PackCache(cache_size))
        packs = PackService(context)
        frozen = FrozenService(context)
        return cls(context, packs, EvaluationService(context, packs), CycleService(context, frozen),
                   DecisionService(context, frozen), AuditService(context), SimulationService(context), frozen)

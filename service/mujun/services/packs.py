"""Packs: publish, activate, validate and list versions, and resolve the pack a call or a cycle uses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import mujun
from mujun.errors import PackError, RequestInvalid
from mujun.services.context import Context
from mujun.services.principal import Principal
from mujun.services.results import Activation, PackHistory, PackValidation, PackVersion
from mujun.store import packs

__all__ = ["PackService", "PackSpec"]

_SYSTEM = "system"


@dataclass(frozen=True)
class PackSpec:
    """Which pack to use: a published id (latest or exact version) or the pack active for a region."""

    pack_id: str = ""
    version: str = ""
    region: str = ""
    as_of: dt.date | None = None
    parameters: dict[str, float] = field(default_factory=dict)


class PackService:
    def __init__(self, context: Context):
        self._context = context
        self._db = context.db

    def bootstrap_bundled(self, default_pack: str) -> tuple[list[str], list[str]]:
        """Publish the bundled packs when the store has none (the embedded default) and activate them.

        A pack that declares regions is activated for them from the start of its effective period,
        so a cycle's date picks the policy of its year. Packs without regions would all compete for
        every region, so only ``default_pack`` (configuration) is activated for ``*``; the others
        wait for an editor's Packs.Activate. Returns the packs published and the activations made.
        """
        with self._db.read() as session:
            if not packs.is_empty(session):
                return [], []
        published, activated = [], []
        with self._db.write() as session:
            for pack in mujun.list_packs():
                model = pack.model
                start = model.effective.from_ if model.effective else dt.date(1970, 1, 1)
                row, _ = packs.publish(session, pack_id=pack.id, version=pack.version, hash=pack.hash, title=pack.title,
                                       source=pack.source, regions=list(model.regions), effective_from=start,
                                       text=pack.text, actor=_SYSTEM)
                targets = list(model.regions) or (["*"] if pack.id == default_pack else [])
                for region in targets:
                    packs.activate(session, region=region, version=row, effective_from=start, actor=_SYSTEM)
                    activated.append(f"{pack.id} for {region}")
                published.append(pack.id)
        return published, activated

    def resolve(self, principal: Principal, spec: PackSpec) -> mujun.Pack:
        """The compiled pack ``spec`` names (a region's needs the caller's region), with its parameters set."""
        with self._db.read() as session:
            if spec.region:
                principal.require_region(spec.region)
                _, row = packs.active_for(session, spec.region, spec.as_of or dt.date.today())
            else:
                row = packs.get(session, spec.pack_id, spec.version or None)
        pack = self._context.compiled(row)
        return pack.with_parameters(spec.parameters) if spec.parameters else pack

    def validate(self, text: str) -> PackValidation:
        try:
            pack = self._context.load(text, "<request>")
        except PackError as error:
            return PackValidation(issues=tuple(error.issues))
        return PackValidation(pack_id=pack.id, version=pack.version, hash=pack.hash)

    def publish(self, principal: Principal, text: str) -> PackVersion:
        pack = self._context.load(text, "<request>")
        model = pack.model
        with self._db.write() as session:
            row, _ = packs.publish(session, pack_id=pack.id, version=pack.version, hash=pack.hash, title=pack.title,
                                   source=pack.source, regions=list(model.regions),
                                   effective_from=model.effective.from_ if model.effective else None, text=text,
                                   actor=principal.actor)
            return PackVersion.of(row)

    def activate(self, principal: Principal, region: str, pack_id: str, version: str,
                 effective_from: dt.date | None) -> Activation:
        if not region:
            raise RequestInvalid("region is empty", [("region", "give a county code, or * for every region")])
        if region == "*":
            principal.require_all_regions("activating a pack for every region")
        else:
            principal.require_region(region)
        with self._db.write() as session:
            row = packs.get(session, pack_id, version or None)
            activation = packs.activate(session, region=region, version=row,
                                        effective_from=effective_from or dt.date.today(), actor=principal.actor)
            return Activation.of(activation, row)

    def get(self, pack_id: str, version: str) -> PackVersion:
        with self._db.read() as session:
            return PackVersion.of(packs.get(session, pack_id, version or None))

    def listing(self, principal: Principal) -> PackHistory:
        """The latest version of every pack and the activations of the regions the caller may see."""
        with self._db.read() as session:
            return PackHistory(tuple(PackVersion.of(v) for v in packs.latest_versions(session)),
                               tuple(Activation.of(a, v) for a, v in packs.activations(session,
                                                                                        regions=principal.visible)))

    def history(self, principal: Principal, pack_id: str, region: str) -> PackHistory:
        """Every version (of ``pack_id``, or of all packs) and the activations (of ``region``, or visible)."""
        if region:
            principal.require_region(region)
        with self._db.read() as session:
            versions = packs.versions(session, pack_id or None)
            activations = packs.activations(session, region=region or None, regions=principal.visible,
                                            pack_id=pack_id or None)
            return PackHistory(tuple(PackVersion.of(v) for v in versions),
                               tuple(Activation.of(a, v) for a, v in activations))

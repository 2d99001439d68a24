"""Pack versions (immutable, content-hashed) and activations (which version is in force where, from when)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mujun.errors import AlreadyExists, NotFound
from mujun.store import audit
from mujun.store.models import ActivationRow, PackVersionRow

__all__ = ["publish", "get", "by_id", "latest_versions", "versions", "activate", "active_for", "activations",
           "is_empty"]


def is_empty(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(PackVersionRow)) == 0


def publish(session: Session, *, pack_id: str, version: str, hash: str, title: str, source: str,
            regions: list[str], effective_from: dt.date | None, text: str, actor: str) -> tuple[PackVersionRow, bool]:
    """Store a new immutable version; publishing identical content again returns the stored one."""
    same = session.scalar(select(PackVersionRow).where(PackVersionRow.hash == hash))
    if same is not None:
        return same, False
    clash = session.scalar(select(PackVersionRow).where(PackVersionRow.pack_id == pack_id,
                                                       PackVersionRow.version == version))
    if clash is not None:
        raise AlreadyExists(f"pack {pack_id} version {version} is already published with other content "
                            f"(hash {clash.hash[:12]}); give the changed pack a new version",
                            location=f"packs/{pack_id}/{version}")
    row = PackVersionRow(pack_id=pack_id, version=version, hash=hash, title=title, source=source,
                         regions_json=json.dumps(regions), effective_from=effective_from, text=text,
                         created_by=actor)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="pack.publish", target=f"packs/{pack_id}/{version}",
                 after=hash, detail={"title": title})
    return row, True


def by_id(session: Session, row_id: int) -> PackVersionRow:
    return session.get_one(PackVersionRow, row_id)


def get(session: Session, pack_id: str, version: str | None = None) -> PackVersionRow:
    """A published version (the latest when ``version`` is empty)."""
    query = select(PackVersionRow).where(PackVersionRow.pack_id == pack_id)
    query = query.where(PackVersionRow.version == version) if version else query.order_by(PackVersionRow.id.desc())
    row = session.scalars(query.limit(1)).first()
    if row is None:
        what = f"pack {pack_id}" + (f" version {version}" if version else "")
        raise NotFound(f"{what} is not published; list published packs with Packs.List", location=f"packs/{pack_id}")
    return row


def versions(session: Session, pack_id: str | None = None) -> list[PackVersionRow]:
    query = select(PackVersionRow).order_by(PackVersionRow.id)
    if pack_id:
        query = query.where(PackVersionRow.pack_id == pack_id)
    return list(session.scalars(query))


def latest_versions(session: Session) -> list[PackVersionRow]:
    newest = select(func.max(PackVersionRow.id)).group_by(PackVersionRow.pack_id)
    return list(session.scalars(select(PackVersionRow).where(PackVersionRow.id.in_(newest))
                                .order_by(PackVersionRow.pack_id)))


def activations(session: Session, *, region: str | None = None, regions: list[str] | None = None,
                pack_id: str | None = None) -> list[tuple[ActivationRow, PackVersionRow]]:
    """Activations in creation order, filtered by one region, a set of visible regions, or a pack id."""
    query = (select(ActivationRow, PackVersionRow).join(PackVersionRow, ActivationRow.pack_version_id == PackVersionRow.id)
             .order_by(ActivationRow.id))
    if region:
        query = query.where(ActivationRow.region == region)
    if regions is not None:
        query = query.where(ActivationRow.region.in_([*regions, "*"]))
    if pack_id:
        query = query.where(PackVersionRow.pack_id == pack_id)
    return [(a, p) for a, p in session.execute(query)]


def active_for(session: Session, region: str, on: dt.date) -> tuple[ActivationRow, PackVersionRow]:
    """The version in force for ``region`` on ``on``: its own activation first, then the ``*`` default."""
    query = (select(ActivationRow, PackVersionRow).join(PackVersionRow, ActivationRow.pack_version_id == PackVersionRow.id)
             .where(or_(ActivationRow.region == region, ActivationRow.region == "*"), ActivationRow.effective_from <= on)
             .order_by((ActivationRow.region == "*").asc(), ActivationRow.effective_from.desc(), ActivationRow.id.desc())
             .limit(1))
    found = session.execute(query).first()
    if found is None:
        raise NotFound(f"no pack is active for region {region} on {on.isoformat()}; activate one with Packs.Activate",
                       location=f"regions/{region}")
    return found[0], found[1]


def activate(session: Session, *, region: str, version: PackVersionRow, effective_from: dt.date,
             actor: str) -> ActivationRow:
    try:
        before = active_for(session, region, effective_from)[1].hash
    except NotFound:
        before = ""
    row = ActivationRow(region=region, pack_version_id=version.id, effective_from=effective_from, created_by=actor)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="pack.activate", target=f"regions/{region}",
                 region=region, before=before, after=version.hash,
                 detail={"pack_id": version.pack_id, "version": version.version, "from": effective_from.isoformat()})
    return row

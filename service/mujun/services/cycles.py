"""Cycles: run a region's year (draft), freeze, publish, read and list them, recover interrupted runs."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import polars as pl

import mujun
from mujun.errors import PreconditionFailed, RequestInvalid
from mujun.services._arrow import to_ipc
from mujun.services._paging import id_page, id_token
from mujun.services.context import Context
from mujun.services.evaluation import check_region_column
from mujun.services.frozen import FrozenService
from mujun.services.principal import Principal
from mujun.services.results import FACTS, Cycle, Page
from mujun.store import cycles, groups, packs, reports
from mujun.store.models import ActivationRow, CycleRow

__all__ = ["CycleService"]


class CycleService:
    def __init__(self, context: Context, frozen: FrozenService):
        self._context = context
        self._db = context.db
        self._frozen = frozen

    def recover(self) -> list[str]:
        """Cycles a dead server left running go back to draft; returns them as ``region/year``."""
        with self._db.write() as session:
            return [f"{c.region}/{c.year}" for c in cycles.recover_interrupted(session)]

    def run(self, principal: Principal, region: str, year: int, as_of: dt.date | None,
            data: pl.DataFrame | dict[str, pl.DataFrame], prior: pl.DataFrame | None,
            history: pl.DataFrame | None, *, prefer: tuple[str, ...] = ()) -> Cycle:
        """Score the region's firms and store them as the cycle's draft. ``data`` is one table or several
        bureaus' tables by name, joined on the enterprise id as ``pack.evaluate`` does (``prefer``: the
        sources whose values win, first first)."""
        principal.require_region(region)
        if not 1990 <= year <= 2100:
            raise RequestInvalid(f"year {year} is out of range", [("year", "give the evaluation year, e.g. 2024")])
        for name, table in (data if isinstance(data, dict) else {"data": data}).items():
            check_region_column(table, name)
            _require_one_region(table, region, name)
        on = as_of or dt.date(year, 12, 31)
        with self._db.read() as session:
            activation, version = packs.active_for(session, region, on)
        pack = self._context.compiled(version)
        _require_in_force(pack, activation, region, on)
        with self._db.write() as session:
            cycle_id = cycles.begin_run(session, region, year, principal.actor, owner=self._db.owner).id
        try:
            result = pack.evaluate(data, prior=prior, history=history, cycle=year, prefer=prefer)
            # Several sources are kept as the joined records (the pack's fields in its units), so an
            # appeal re-scores, and a decision shows, the record that was scored.
            joined = result.explain_table().select(list(pack.plan.inputs))
            _require_one_region(joined, region)  # a region read from a bureau's own header (行政区划代码)
            scored = data if isinstance(data, pl.DataFrame) else joined
            decisions, tiers, results_hash = _decisions(result, scored)
            notes, warnings = result.notes, result.warnings
        except BaseException as error:
            with self._db.write() as session:
                cycles.abort_run(session, cycle_id, f"{type(error).__name__}: {error}", owner=self._db.owner)
            raise
        self._context.counted(scored.height)
        with self._db.write() as session:
            cycle = cycles.complete_run(session, cycle_id, pack_version_id=version.id, decisions=decisions,
                                        tiers=tiers, results_hash=results_hash, data_arrow=to_ipc(scored) or b"",
                                        prior_arrow=to_ipc(prior), history_arrow=to_ipc(history),
                                        actor=principal.actor, owner=self._db.owner)
            groups.record_ranked(session, cycle, _ranked_per_group(result.table))
            reports.record_report(session, cycle, notes, warnings)
            return Cycle.of(cycle, version, notes, warnings)

    def get(self, principal: Principal, region: str, year: int) -> Cycle:
        principal.require_region(region)
        with self._db.read() as session:
            return _cycle(session, cycles.get(session, region, year))

    def freeze(self, principal: Principal, region: str, year: int) -> Cycle:
        """Frozen with its context (benchmarks, cut lines) recorded: see :mod:`mujun.services.frozen`."""
        frozen = self._frozen.freeze(principal, region, year)
        with self._db.read() as session:
            return _cycle(session, cycles.get(session, frozen.region, frozen.year))

    def publish(self, principal: Principal, region: str, year: int) -> Cycle:
        principal.require_region(region)
        with self._db.write() as session:
            return _cycle(session, cycles.publish(session, region, year, principal.actor))

    def listing(self, principal: Principal, region: str, year: int, page_size: int, page_token: str) -> Page[Cycle]:
        """The cycles of ``region`` (empty: every region the caller may see), optionally of one year."""
        regions, size, after_id = id_page(principal, region, page_size, page_token)
        with self._db.read() as session:
            rows = cycles.listing(session, regions=regions, year=year, after_id=after_id, limit=size + 1)
            return Page(tuple(_cycle(session, row) for row in rows[:size]), id_token(rows, size))


def _cycle(session: Any, cycle: CycleRow) -> Cycle:
    notes, warnings = reports.run_report(session, cycle)
    return Cycle.of(cycle, packs.by_id(session, cycle.pack_version_id) if cycle.pack_version_id else None,
                    notes, warnings)


def _require_one_region(data: pl.DataFrame, region: str, what: str = "data") -> None:
    if "region" not in data.columns:
        return
    foreign = data.filter(pl.col("region").is_not_null() & (pl.col("region").cast(pl.String) != region))
    if foreign.height:
        raise RequestInvalid(f"{foreign.height} record(s) belong to other regions than {region} "
                             f"(e.g. {foreign['region'][0]}); a cycle scores one region",
                             [(f"{what}.region", f"must be {region}")])


def group_label(group: Any) -> str:
    """The key a group is recorded under (no group: the empty string)."""
    return "" if group is None else str(group)


def _ranked_per_group(table: pl.DataFrame) -> dict[str, int]:
    """Firms ranked per group (a result's ranks run 1..n in each group): recorded for traces."""
    counts = table.filter(pl.col("rank").is_not_null()).group_by("group").len()
    return {group_label(group): int(n) for group, n in counts.iter_rows()}


def _decisions(result: mujun.Result, data: pl.DataFrame) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """Decision rows (vectorized JSON), the tier summary and the results hash of one run.

    Every input row gets a decision. A row without an id is keyed ``#row<n>``; repeated ids after the
    first are keyed ``<id>#row<n>`` (they carry the engine's duplicate-id error either way).
    """
    table = result.table
    n, eid = pl.col("__n"), pl.col("enterprise_id").cast(pl.String)
    key = (pl.when(eid.is_null()).then(pl.format("#row{}", n))
           .when(n == n.min().over(eid)).then(eid)
           .otherwise(pl.format("{}#row{}", eid, n)))
    frame = pl.DataFrame({
        "enterprise_id": table.select("enterprise_id").with_row_index("__n").select(key.alias("k"))["k"],
        "status": table["status"],
        "tier": table["tier"].cast(pl.String),
        "score": table["score"].cast(pl.Float64),
        "group_key": table["group"].cast(pl.String),
        # The recorded facts ride along under FACTS, so a decision is explained later without re-scoring.
        "result_json": pl.concat([table, result.facts().select(pl.struct(pl.all()).alias(FACTS))], how="horizontal")
        .select(pl.struct(pl.all()).struct.json_encode())[:, 0],
        "input_json": data.select(pl.struct(pl.all()).struct.json_encode())[:, 0],
    })
    tiers = [{"group": "" if g is None else str(g), "tier": "" if t is None else str(t), "count": int(c)}
             for g, t, c in result.summary().iter_rows()]
    digest = hashlib.sha256()
    for text in frame["result_json"]:
        digest.update(text.encode())
    return frame.to_dicts(), tiers, digest.hexdigest()


def _require_in_force(pack: mujun.Pack, activation: ActivationRow, region: str, on: dt.date) -> None:
    """A cycle dated outside its pack's effective period is refused, unless the activation itself lies
    outside that period (an editor who activates a pack from 2025-01-01 says it applies in 2025)."""
    period = pack.model.effective
    if period is None:
        return
    inside = period.from_ <= on and (period.to is None or on <= period.to)
    start = activation.effective_from
    activated_inside = period.from_ <= start and (period.to is None or start <= period.to)
    if not inside and activated_inside:
        until = period.to.isoformat() if period.to else "…"
        raise PreconditionFailed(
            f"region {region} on {on.isoformat()}: the active pack {pack.id} {pack.version} is in force "
            f"{period.from_.isoformat()} to {until} only; activate a pack for this period, or activate "
            f"{pack.id} from a date inside it to extend it explicitly", location=f"regions/{region}")

"""The service layer between the servicers and the engine + store: every operation of the API.

Each method checks the caller's regions, runs the engine where needed and writes through the store
in explicit transactions. Servicers only convert proto messages to the arguments here and back.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

import mujun
from mujun.engine.columns import GROUP_N, VETO
from mujun.engine.compile import CYCLE
from mujun.engine.explain import explain_row
from mujun.engine.prepare import prepare, take_in_data
from mujun.engine.result import input_sources
from mujun.errors import InputError, NotFound, PackError, PackNotFound
from mujun.packs.load import bundled_pack_files, bundled_parents
from mujun.server.auth import Principal
from mujun.server.export import Export, export_decisions
from mujun.server.metrics import Metrics
from mujun.store import Database, audit, cycles, groups, packs, reports
from mujun.store.errors import PermissionDenied, PreconditionFailed, RequestInvalid

__all__ = ["Core", "PackSpec", "CycleView", "DecisionView"]

_SYSTEM = "system"


@dataclass(frozen=True)
class PackSpec:
    """Which pack to use: a published id (latest or exact version) or the pack active for a region."""

    pack_id: str = ""
    version: str = ""
    region: str = ""
    as_of: dt.date | None = None
    parameters: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CycleView:
    cycle: Any
    version: Any | None
    notes: list[str] = field(default_factory=list)  # the report of the cycle's latest run
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DecisionView:
    decision: Any
    cycle: Any
    history: list[Any]
    trace: dict[str, Any] | None = None


def _ipc(frame: pl.DataFrame | None) -> bytes | None:
    if frame is None:
        return None
    table = frame.to_arrow()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _frame(data: bytes | None) -> pl.DataFrame | None:
    if data is None:
        return None
    frame = pl.from_arrow(pa.ipc.open_stream(pa.py_buffer(data)).read_all())
    assert isinstance(frame, pl.DataFrame)
    return frame


class Core:
    def __init__(self, db: Database, metrics: Metrics, *, cache_size: int = 32):
        self._db = db
        self._metrics = metrics
        self._cache: OrderedDict[str, mujun.Pack] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- startup ----------------------------------------------------------------------------------

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

    def recover(self) -> list[str]:
        with self._db.write() as session:
            return [f"{c.region}/{c.year}" for c in cycles.recover_interrupted(session)]

    # -- packs ------------------------------------------------------------------------------------

    def _parent(self, ref: str) -> tuple[str, str]:
        """``extends`` on the server: a bundled pack id, else a published one (its latest version).

        Never a path: pack text comes from callers, and a path would let them read server files.
        """
        if ref in bundled_pack_files():
            return bundled_parents(ref)
        with self._db.read() as session:
            try:
                row = packs.get(session, ref)
            except NotFound:
                raise PackNotFound(f"no bundled or published pack named {ref!r}; 'extends' names a pack id, "
                                   "never a file") from None
            return row.text, f"{row.pack_id}@{row.version}"

    def _load(self, text: str, name: str) -> mujun.Pack:
        return mujun.load_pack_text(text, name=name, parents=self._parent)

    def _compiled(self, row: Any) -> mujun.Pack:
        with self._lock:
            pack = self._cache.get(row.hash)
            if pack is not None:
                self._cache.move_to_end(row.hash)
        self._metrics.pack_cache.labels("hit" if pack is not None else "miss").inc()
        if pack is None:
            pack = self._load(row.text, f"{row.pack_id}@{row.version}")
            if pack.hash != row.hash:
                # A pack that `extends` a bundled one changes when that one does: refuse rather than
                # publish results under a hash nobody published.
                raise PreconditionFailed(f"pack {row.pack_id} {row.version} no longer compiles to its published hash "
                                         f"{row.hash[:12]} (got {pack.hash[:12]}): a pack it extends has changed; "
                                         "publish it again as a new version", location=f"packs/{row.pack_id}/{row.version}")
            with self._lock:
                self._cache[row.hash] = pack
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return pack

    def resolve_pack(self, principal: Principal, spec: PackSpec) -> mujun.Pack:
        with self._db.read() as session:
            if spec.region:
                principal.require_region(spec.region)
                _, row = packs.active_for(session, spec.region, spec.as_of or dt.date.today())
            else:
                row = packs.get(session, spec.pack_id, spec.version or None)
        pack = self._compiled(row)
        return pack.with_parameters(spec.parameters) if spec.parameters else pack

    def validate_pack(self, text: str) -> tuple[mujun.Pack | None, list[Any]]:
        try:
            return self._load(text, "<request>"), []
        except PackError as error:
            return None, error.issues

    def publish_pack(self, principal: Principal, text: str) -> Any:
        pack = self._load(text, "<request>")
        model = pack.model
        with self._db.write() as session:
            row, _ = packs.publish(session, pack_id=pack.id, version=pack.version, hash=pack.hash, title=pack.title,
                                   source=pack.source, regions=list(model.regions),
                                   effective_from=model.effective.from_ if model.effective else None, text=text,
                                   actor=principal.actor)
        return row

    def activate_pack(self, principal: Principal, region: str, pack_id: str, version: str,
                      effective_from: dt.date | None) -> tuple[Any, Any]:
        if not region:
            raise RequestInvalid("region is empty", [("region", "give a county code, or * for every region")])
        if region == "*":
            principal.require_all_regions("activating a pack for every region")
        else:
            principal.require_region(region)
        with self._db.write() as session:
            row = packs.get(session, pack_id, version or None)
            activation = packs.activate(session, region=region, version=row, effective_from=effective_from or dt.date.today(),
                                        actor=principal.actor)
        return activation, row

    def get_pack(self, pack_id: str, version: str) -> Any:
        with self._db.read() as session:
            return packs.get(session, pack_id, version or None)

    def list_packs(self, principal: Principal) -> tuple[list[Any], list[tuple[Any, Any]]]:
        visible = None if principal.regions is None else sorted(principal.regions)
        with self._db.read() as session:
            return packs.latest_versions(session), packs.activations(session, regions=visible)

    def pack_history(self, principal: Principal, pack_id: str, region: str) -> tuple[list[Any], list[tuple[Any, Any]]]:
        if region:
            principal.require_region(region)
        visible = None if principal.regions is None else sorted(principal.regions)
        with self._db.read() as session:
            return (packs.versions(session, pack_id or None),
                    packs.activations(session, region=region or None, regions=visible, pack_id=pack_id or None))

    # -- evaluation -------------------------------------------------------------------------------

    @staticmethod
    def _require_data_regions(principal: Principal, data: pl.DataFrame, *, with_region: bool = True) -> None:
        """Every region of the records is the caller's; ``with_region``: the records must carry one."""
        _check_region_column(data)
        if principal.regions is None or ("region" not in data.columns and not with_region):
            return
        if "region" not in data.columns:
            raise PermissionDenied("the records carry no region; a region-scoped token may only evaluate records "
                                   "of its own regions")
        for region in data["region"].cast(pl.String).drop_nulls().unique().sort().to_list():
            principal.require_region(region)

    def evaluate(self, principal: Principal, spec: PackSpec, data: pl.DataFrame | dict[str, pl.DataFrame],
                 prior: pl.DataFrame | None = None, history: pl.DataFrame | None = None, cycle: int | None = None,
                 prefer: tuple[str, ...] = ()) -> mujun.Result:
        """``data``: one table, or several bureaus' tables by name, joined as ``pack.evaluate`` does."""
        several = isinstance(data, dict)
        for table in data.values() if several else (data,):  # of several tables, one gives the region
            self._require_data_regions(principal, table, with_region=not several)
        pack = self.resolve_pack(principal, spec)
        result = pack.evaluate(data, prior=prior, history=history, cycle=cycle, prefer=prefer)
        if several and principal.regions is not None:  # a region under a bureau's own header
            self._require_data_regions(principal, result.explain_table().select(list(pack.plan.inputs)))
        self._metrics.enterprises.inc(result.table.height)
        self._metrics.batch_rows.observe(result.table.height)
        return result

    # -- cycles -----------------------------------------------------------------------------------

    def _cycle_view(self, session: Any, cycle: Any) -> CycleView:
        notes, warnings = reports.run_report(session, cycle)
        return CycleView(cycle, packs.by_id(session, cycle.pack_version_id) if cycle.pack_version_id else None,
                         notes, warnings)

    def run_cycle(self, principal: Principal, region: str, year: int, as_of: dt.date | None,
                  data: pl.DataFrame | dict[str, pl.DataFrame], prior: pl.DataFrame | None,
                  history: pl.DataFrame | None, *, prefer: tuple[str, ...] = ()) -> CycleView:
        """Score the region's firms and store them as the cycle's draft. ``data`` is one table or several
        bureaus' tables by name, joined on the enterprise id as ``pack.evaluate`` does (``prefer``: the
        sources whose values win, first first)."""
        principal.require_region(region)
        if not 1990 <= year <= 2100:
            raise RequestInvalid(f"year {year} is out of range", [("year", "give the evaluation year, e.g. 2024")])
        for name, table in (data if isinstance(data, dict) else {"data": data}).items():
            _check_region_column(table, name)
            _require_one_region(table, region, name)
        on = as_of or dt.date(year, 12, 31)
        with self._db.read() as session:
            activation, version = packs.active_for(session, region, on)
        pack = self._compiled(version)
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
        self._metrics.enterprises.inc(scored.height)
        self._metrics.batch_rows.observe(scored.height)
        with self._db.write() as session:
            cycle = cycles.complete_run(session, cycle_id, pack_version_id=version.id, decisions=decisions,
                                        tiers=tiers, results_hash=results_hash, data_arrow=_ipc(scored) or b"",
                                        prior_arrow=_ipc(prior), history_arrow=_ipc(history), actor=principal.actor,
                                        owner=self._db.owner)
            groups.record_ranked(session, cycle, _ranked_per_group(result.table))
            reports.record_report(session, cycle, notes, warnings)
            return CycleView(cycle, version, notes, warnings)

    def get_cycle(self, principal: Principal, region: str, year: int) -> CycleView:
        principal.require_region(region)
        with self._db.read() as session:
            return self._cycle_view(session, cycles.get(session, region, year))

    def freeze_cycle(self, principal: Principal, region: str, year: int) -> CycleView:
        principal.require_region(region)
        with self._db.write() as session:
            return self._cycle_view(session, cycles.freeze(session, region, year, principal.actor))

    def publish_cycle(self, principal: Principal, region: str, year: int) -> CycleView:
        principal.require_region(region)
        with self._db.write() as session:
            return self._cycle_view(session, cycles.publish(session, region, year, principal.actor))

    def appeal(self, principal: Principal, region: str, year: int, enterprise_id: str, correction: dict[str, Any],
               reason: str) -> DecisionView:
        """Re-score one enterprise with corrected input against its cycle's cohort and pinned pack."""
        principal.require_region(region)
        violations = []
        if not reason.strip():
            violations.append(("reason", "say why the decision changes (the appeal's grounds)"))
        if not correction:
            violations.append(("correction", "set at least one corrected field"))
        for name in ("enterprise_id", "region"):
            if name in correction and correction[name] != (enterprise_id if name == "enterprise_id" else region):
                violations.append((f"correction.{name}", "cannot be changed by an appeal"))
        if violations:
            raise RequestInvalid(f"appeal is incomplete: {violations[0][0]} {violations[0][1]}", violations)
        with self._db.read() as session:
            cycle = cycles.get(session, region, year)
            if cycle.state not in ("frozen", "published"):
                raise PreconditionFailed(f"cycle {region}/{year} is {cycle.state}: appeals apply to frozen or published "
                                         "cycles; correct the data of a draft and run it again")
            current = cycles.current_decision(session, cycle, enterprise_id)
        record = {**json.loads(current.input_json), **correction}
        result, position = self._rescore(cycle, enterprise_id, record)
        row = result.table.row(position, named=True)
        decision = {"status": row["status"], "tier": row.get("tier"), "score": row.get("score"),
                    "group_key": None if row.get("group") is None else str(row["group"]),
                    "result_json": json.dumps(row, ensure_ascii=False, default=str),
                    "input_json": json.dumps(record, ensure_ascii=False, default=str)}
        with self._db.write() as session:
            cycle = cycles.get(session, region, year)
            added = cycles.add_version(session, cycle, enterprise_id, decision=decision, reason=reason,
                                       actor=principal.actor)
            return DecisionView(added, cycle, [])

    def _rescore(self, cycle: Any, enterprise_id: str, record: dict[str, Any]) -> tuple[mujun.Result, int]:
        """The cycle's cohort, with this enterprise's row replaced by ``record``, scored by the pinned pack."""
        with self._db.read() as session:
            version = packs.by_id(session, cycle.pack_version_id)
        data, prior, history = _frame(cycle.data_arrow), _frame(cycle.prior_arrow), _frame(cycle.history_arrow)
        assert data is not None
        matches = data.with_row_index("__n").filter(pl.col("enterprise_id") == enterprise_id)["__n"]
        if matches.len() != 1:
            raise PreconditionFailed(f"decision {enterprise_id} has no row of its own in the cycle's data (a repeated "
                                     "or missing enterprise id); correct the data and run a new cycle",
                                     location=f"cycles/{cycle.region}/{cycle.year}/decisions/{enterprise_id}")
        position = matches[0]
        replacement = pl.from_dicts([record], schema=data.schema, strict=False)
        data = pl.concat([data.slice(0, position), replacement, data.slice(position + 1)])
        result = self._compiled(version).evaluate(data, prior=prior, history=history, cycle=cycle.year)
        return result, position

    def get_decision(self, principal: Principal, region: str, year: int, enterprise_id: str,
                     with_history: bool, with_trace: bool = False) -> DecisionView:
        principal.require_region(region)
        with self._db.read() as session:
            cycle = cycles.get(session, region, year)
            current = cycles.current_decision(session, cycle, enterprise_id)
            history = cycles.decision_history(session, cycle, enterprise_id)[:-1] if with_history else []
        trace = None
        if with_trace:
            trace = self._recorded_trace(cycle, current)
            if trace is None:  # an appeal's version, or a run from before runs recorded their groups
                result, _ = self._rescore(cycle, enterprise_id, json.loads(current.input_json))
                trace = result.explain(enterprise_id)
        return DecisionView(current, cycle, history, trace)

    def _recorded_trace(self, cycle: Any, decision: Any) -> dict[str, Any] | None:
        """A run's decision traced from what the run recorded, without scoring the cohort again.

        The stored result row holds every value the trace shows (indicators, benchmarks, items,
        score, tier, rank, measures, checks) and, under ``FACTS``, what the stages recorded (cohort
        statistics before their factor, item ratios and the rules applied, vetoes, tier streaks); the
        stored input row, prepared alone, gives the typed inputs; the run recorded how many firms each
        group ranked (the quota's n). None when the decision is an appeal's (scored against a changed
        cohort) or its run recorded no groups.
        """
        if decision.version != 1:
            return None
        with self._db.read() as session:
            ranked = groups.ranked_per_group(session, cycle)
            if ranked is None:
                return None
            pack = self._compiled(packs.by_id(session, cycle.pack_version_id))
        row = json.loads(decision.result_json)
        recorded = row.pop(FACTS, None) or {}
        group_size = ranked.get(_group_label(row.get("group"))) if row.get("rank") else None
        record = take_in_data(pl.from_dicts([json.loads(decision.input_json)], infer_schema_length=None), pack.plan)
        inputs = prepare(record, pack.plan, tier_names=pack.plan.tier_names, messages=False).collect()
        vetoed = row.get("status") == "ok" and row.get("tier") is not None and row.get("rank") is None
        facts = {**inputs.select(list(pack.plan.inputs)).row(0, named=True), **row, GROUP_N: group_size,
                 VETO: row.get("tier") if vetoed else None, "tier_streak": None,
                 CYCLE: float(cycle.year), **recorded}
        return explain_row(pack.plan, facts, sources=input_sources(pack.plan, record, 0))

    def list_decisions(self, principal: Principal, region: str, year: int, *, tier: str, group: str, page_size: int,
                       page_token: str) -> tuple[list[DecisionView], str]:
        principal.require_region(region)
        size = min(max(page_size or 100, 1), 1000)
        after = _decode_token(page_token)
        with self._db.read() as session:
            cycle = cycles.get(session, region, year)
            rows = cycles.list_current(session, cycle, tier=tier, group=group, after=after, limit=size + 1)
        more = len(rows) > size
        rows = rows[:size]
        token = base64.urlsafe_b64encode(rows[-1].enterprise_id.encode()).decode() if more else ""
        return [DecisionView(r, cycle, []) for r in rows], token

    def export_decisions(self, principal: Principal, region: str, year: int, columns: list[str]) -> Export:
        """The cycle's current decisions as Arrow pages (:mod:`mujun.server.export`)."""
        return export_decisions(self._db, self._compiled, principal, region, year, columns)

    def audit_log(self, principal: Principal, region: str, page_size: int, page_token: str) -> tuple[list[Any], str]:
        regions, size, after_id = _id_page(principal, region, page_size, page_token)
        with self._db.read() as session:
            rows = audit.entries(session, regions=regions, after_id=after_id, limit=size + 1)
        return rows[:size], _id_token(rows, size)

    def list_cycles(self, principal: Principal, region: str, year: int, page_size: int,
                    page_token: str) -> tuple[list[CycleView], str]:
        """The cycles of ``region`` (empty: every region the caller may see), optionally of one year."""
        regions, size, after_id = _id_page(principal, region, page_size, page_token)
        with self._db.read() as session:
            rows = cycles.listing(session, regions=regions, year=year, after_id=after_id, limit=size + 1)
            return [self._cycle_view(session, row) for row in rows[:size]], _id_token(rows, size)


def _id_page(principal: Principal, region: str, page_size: int, page_token: str) -> tuple[list[str] | None, int, int]:
    """(regions to read, page size, id after which the page starts) for a listing paged by row id."""
    if region:
        principal.require_region(region)
    regions = [region] if region else (None if principal.regions is None else sorted(principal.regions))
    size = min(max(page_size or 100, 1), 1000)
    position = _decode_token(page_token) or "0"
    if not (position.isascii() and position.isdigit() and len(position) <= 18):  # a row id
        raise RequestInvalid("page_token is not one this server issued",
                             [("page_token", "pass next_page_token back unchanged")])
    return regions, size, int(position)


def _id_token(rows: list[Any], size: int) -> str:
    """The next page's token when ``rows`` (read with ``size + 1``) holds more than a page."""
    return base64.urlsafe_b64encode(str(rows[size - 1].id).encode()).decode() if len(rows) > size else ""


def _check_region_column(data: pl.DataFrame, what: str = "data") -> None:
    """A region is one county code per record; a list or struct there cannot be scoped or grouped."""
    kind = data.schema.get("region")
    if kind is not None and kind.is_nested():
        raise InputError(f"the region column holds {kind} values; give one county code (text) per record",
                         location=f"{what}.region")


def _require_one_region(data: pl.DataFrame, region: str, what: str = "data") -> None:
    if "region" not in data.columns:
        return
    foreign = data.filter(pl.col("region").is_not_null() & (pl.col("region").cast(pl.String) != region))
    if foreign.height:
        raise RequestInvalid(f"{foreign.height} record(s) belong to other regions than {region} "
                             f"(e.g. {foreign['region'][0]}); a cycle scores one region",
                             [(f"{what}.region", f"must be {region}")])


def _group_label(group: Any) -> str:
    return "" if group is None else str(group)


def _ranked_per_group(table: pl.DataFrame) -> dict[str, int]:
    """Firms ranked per group (a result's ranks run 1..n in each group): recorded for traces."""
    counts = table.filter(pl.col("rank").is_not_null()).group_by("group").len()
    return {_group_label(group): int(n) for group, n in counts.iter_rows()}


def _decode_token(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()  # validate: no junk skipped
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestInvalid("page_token is not one this server issued", [("page_token", "pass next_page_token back unchanged")]) from exc


#: Key of a stored decision's recorded facts (the stages' internal columns): read by traces, never sent.
FACTS = "__facts"


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


def _require_in_force(pack: mujun.Pack, activation: Any, region: str, on: dt.date) -> None:
    """A cycle dated outside its pack's effective period is refused, unless the activation itself lies
    outside that period (an editor who activates a pack from 2025-01-01 says it applies in 2025)."""
    period = pack.model.effective
    if period is None:
        return
    inside = period.from_ <= on and (period.to is None or on <= period.to)
    activated_inside = period.from_ <= activation.effective_from and (period.to is None or activation.effective_from <= period.to)
    if not inside and activated_inside:
        until = period.to.isoformat() if period.to else "…"
        raise PreconditionFailed(
            f"region {region} on {on.isoformat()}: the active pack {pack.id} {pack.version} is in force "
            f"{period.from_.isoformat()} to {until} only; activate a pack for this period, or activate "
            f"{pack.id} from a date inside it to extend it explicitly", location=f"regions/{region}")

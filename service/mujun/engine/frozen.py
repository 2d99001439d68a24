"""A frozen cycle's context: what scoring one firm needs later, without its county.

Freezing a cycle fixes its cohort. What a firm's decision read of that cohort is kept here: the pack
hash, every cohort benchmark (基准值) per group with its cohort size, and for quota tiers the cut lines
per group (the ordering key of the last firm of each tier, and of the first firm after it). A firm is
then scored against the context: its own inputs through the same stages, the benchmarks read from the
context instead of the records, and its tier the one whose range holds its ordering key
(:meth:`FrozenContext.quota_position`). Thresholds and input tiers need no cohort and none is kept.

The context is data (pydantic, JSON round trip), so the store keeps it beside the cycle and another
stage (event rules re-tiering a firm) can read it without this module's Polars side:

>>> context = FrozenContext.from_json(text)                        # doctest: +SKIP
>>> context.statistic("tax_per_mu_bm", ("320803",)).stat           # doctest: +SKIP
>>> context.quota_position("320803", (88.5, 12.0, 3000.0), "E42")  # doctest: +SKIP

What the context cannot stand in for is listed in :attr:`FrozenContext.unsupported` (a min–max item
or a missing-as-cohort-mean item reads the cohort's spread, an allocated budget is shared over the
whole group): scoring against it then raises :class:`FrozenContextError`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, PrivateAttr

from mujun.engine.benchmarks import BASIS, cohort_n_col, stat_col
from mujun.engine.columns import (GROUP_N, OK, REASON, STATUS, STATUS_TYPE, UNRATED, VETO, benchmark_col, column_of,
                                  compile_expr)
from mujun.engine.compile import Plan
from mujun.engine.evaluate import STAGES, Stage, run_plan
from mujun.engine.result import Result
from mujun.engine.tiers import (FROZEN_BASIS, FROZEN_CUTS, GROUP, RANK, TIER, assign_tiers, cumulative_cuts,
                                minimum_counts, score_bounds)
from mujun.errors import PreconditionFailed
from mujun.packs.fields import ID_FIELD

__all__ = ["FrozenContext", "FrozenContextError", "CohortStatistic", "OrderKey", "CutLine", "QuotaGroup",
           "frozen_stages", "score_frozen", "require_usable", "precedes", "basis_fields", "place_tier",
           "no_group_reason", "describe_cuts", "unsupported", "FROZEN_BASIS", "FROZEN_CUTS", "FORMAT"]

#: Version of the stored JSON; a context of another format is rebuilt, never misread.
FORMAT = 1

Value = float | str | None


class FrozenContextError(PreconditionFailed):
    """The pack reads more of its cohort than a frozen context keeps (see ``unsupported``), or the context
    is of another pack: a precondition of scoring against it (FAILED_PRECONDITION on the API)."""

    code = "FROZEN_CONTEXT_UNSUPPORTED"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CohortStatistic(_Model):
    """One cohort benchmark of one group: the statistic before the pack's factor, over ``n`` firms."""

    group: tuple[str | None, ...]  # the values of the benchmark's group_by fields, in their order
    stat: float | None
    n: int | None


class OrderKey(_Model):
    """A ranked firm's place in ``order_by`` order; the enterprise id breaks every tie (ascending)."""

    values: tuple[Value, ...]
    enterprise_id: str


class CutLine(_Model):
    """The end of one quota tier in a group: ranks 1..``last_rank`` hold this tier and those above."""

    tier: str
    last_rank: int
    last: OrderKey | None  # the firm at last_rank; None when no firm is placed up to here
    next: OrderKey | None  # the firm at last_rank + 1; None when the group ends here


class QuotaGroup(_Model):
    group: str  # the tier group's label as in the result's ``group`` column ("" for none)
    n: int  # firms ranked in the frozen cycle: quotas are not recomputed for a firm scored later
    cuts: tuple[CutLine, ...]  # one per quota tier, in the pack's order
    ranks: dict[str, int]  # each ranked firm's rank: a firm scored again is compared with the others


class BasisEntry(_Model):
    group: tuple[str | None, ...]
    text: str


class FrozenContext(_Model):
    """Everything a frozen cycle's firm is scored against; build with :meth:`build`, store as JSON."""

    format: int = FORMAT
    pack_id: str
    pack_version: str
    pack_hash: str
    region: str | None = None
    year: int | None = None
    benchmarks: dict[str, tuple[CohortStatistic, ...]] = {}
    basis_fields: tuple[str, ...] = ()
    basis: tuple[BasisEntry, ...] = ()
    tier_method: str | None = None
    order_by: tuple[tuple[str, bool], ...] = ()  # (pack name, descending), missing values last
    tie_break: str = "enterprise_id ascending"  # after order_by: equal firms always rank the same way
    quota_groups: dict[str, QuotaGroup] = {}
    unsupported: tuple[str, ...] = ()

    _statistics: dict[tuple[str, tuple[str | None, ...]], CohortStatistic] = PrivateAttr(default_factory=dict)
    _basis: dict[tuple[str | None, ...], str] = PrivateAttr(default_factory=dict)
    _described: dict[str, str] = PrivateAttr(default_factory=dict)
    _label: str = PrivateAttr(default="")

    def model_post_init(self, _context: Any) -> None:
        self._statistics.update({(name, s.group): s for name, stats in self.benchmarks.items() for s in stats})
        self._basis.update({b.group: b.text for b in self.basis})
        where = f"cycle {self.region}/{self.year}" if self.region is not None else "a frozen cycle"
        self._label = f"{where}, pack {self.pack_id} {self.pack_version} ({self.pack_hash[:12]})"

    # -- JSON
    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> FrozenContext:
        return cls.model_validate_json(text)

    @property
    def label(self) -> str:
        """What a result scored against this context says it was scored against."""
        return self._label

    # -- reading
    def statistic(self, benchmark: str, group: tuple[str | None, ...]) -> CohortStatistic | None:
        """The frozen cohort statistic of ``benchmark`` for a group (None: the cycle had no such group)."""
        return self._statistics.get((benchmark, tuple(group)))

    def basis_of(self, group: tuple[str | None, ...]) -> str | None:
        return self._basis.get(tuple(group))

    def quota_position(self, group: str, values: tuple[Value, ...], enterprise_id: str) -> tuple[int, QuotaGroup] | None:
        """(index of the quota tier whose range holds the key, the group), or None for a group the cycle
        did not rank. A firm the cycle ranked is compared with the *other* firms: for a tier it was
        inside, with the first firm after the tier (it would otherwise meet its own old key)."""
        found = self.quota_groups.get(group)
        if found is None:
            return None
        own = found.ranks.get(enterprise_id)
        position = 0
        for cut in found.cuts[:-1]:
            inside = own is not None and own <= cut.last_rank
            other = cut.next if inside else cut.last
            if other is None:  # inside: nobody after the tier; outside: nobody up to it
                past = not inside
            else:
                past = not precedes(values, enterprise_id, other, self.order_by)
            position += past
        return position, found

    # -- building
    @classmethod
    def build(cls, plan: Plan, result: Result, *, region: str | None = None, year: int | None = None) -> FrozenContext:
        """The context of a cycle's result (the run that was frozen)."""
        frame = result.explain_table()
        pack = plan.pack
        tiers = pack.tiers
        benchmarks: dict[str, tuple[CohortStatistic, ...]] = {}
        for name, bm in pack.benchmarks.items():
            if bm.value is not None:
                continue
            fields = list(bm.group_by)
            stats = frame.select(*fields, stat_col(name), cohort_n_col(name))
            if fields:
                stats = stats.filter(pl.all_horizontal(pl.col(f).is_not_null() for f in fields))
            stats = stats.unique(subset=fields or None, keep="first", maintain_order=True)
            benchmarks[name] = tuple(
                CohortStatistic(group=tuple(row[:-2]), stat=_number(row[-2]), n=None if row[-1] is None else int(row[-1]))
                for row in (stats.rows() if fields else stats.head(1).rows()))
        fields = basis_fields(plan)
        basis: tuple[BasisEntry, ...] = ()
        if BASIS in frame.columns:
            rows = (frame.filter(pl.col(BASIS).is_not_null()).select(*fields, BASIS)
                    .unique(subset=fields or None, keep="first", maintain_order=True).rows())
            basis = tuple(BasisEntry(group=tuple(r[:-1]), text=r[-1]) for r in rows)
        groups: dict[str, QuotaGroup] = {}
        if tiers is not None and tiers.method == "quota":
            groups = _quota_groups(plan, frame)
        return cls(pack_id=pack.id, pack_version=pack.version, pack_hash=plan.pack_hash, region=region, year=year,
                   benchmarks=benchmarks, basis_fields=tuple(fields), basis=basis,
                   tier_method=tiers.method if tiers else None, order_by=tuple(plan.order_by), quota_groups=groups,
                   unsupported=tuple(unsupported(plan)))

    def require_supported(self) -> None:
        if self.unsupported:
            raise FrozenContextError(
                f"pack {self.pack_id} reads more of its cohort than a frozen cycle keeps ({'; '.join(self.unsupported)}): "
                "score the firm with its county (a full run)", location="cycle")


def precedes(values: tuple[Value, ...], enterprise_id: str, other: OrderKey,
             order_by: tuple[tuple[str, bool], ...]) -> bool:
    """Whether a firm with ``values`` and ``enterprise_id`` ranks before ``other`` (missing values last).

    >>> precedes((90.0,), "b", OrderKey(values=(90.0,), enterprise_id="c"), (("score", True),))
    True
    >>> precedes((None,), "a", OrderKey(values=(10.0,), enterprise_id="c"), (("score", True),))
    False
    """
    for mine, theirs, (_, descending) in zip(values, other.values, order_by):
        if mine == theirs:
            continue
        if mine is None:
            return False
        if theirs is None:
            return True
        return mine > theirs if descending else mine < theirs  # type: ignore[operator]
    return enterprise_id < other.enterprise_id


def unsupported(plan: Plan) -> list[str]:
    """What of a pack reads its cohort beyond benchmarks and cut lines (a frozen context lacks it)."""
    found = []
    for name, item in plan.pack.items.items():
        if item.method == "minmax":
            found.append(f"items.{name}: min–max over its cohort")
        if item.missing == "cohort_mean":
            found.append(f"items.{name}: missing scored as the cohort's mean")
    found += [f"measures.{name}: a budget allocated over its group" for name, m in plan.pack.measures.items()
              if m.allocate is not None]
    return found


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def basis_fields(plan: Plan) -> list[str]:
    """The fields that decide a record's benchmark basis: those the prior-year benchmarks group by."""
    fields: dict[str, None] = {}
    for bm in plan.pack.benchmarks.values():
        if bm.value is None and bm.source != "current":
            fields.update(dict.fromkeys(bm.group_by))
    return list(fields)


def _key_columns(plan: Plan) -> list[str]:
    return [column_of(plan, name) or name for name, _ in plan.order_by]


def _key_values(row: dict[str, Any], columns: list[str]) -> tuple[Value, ...]:
    return tuple(_number(row[c]) if isinstance(row[c], (int, float)) else row[c] for c in columns)


def _quota_groups(plan: Plan, frame: pl.DataFrame) -> dict[str, QuotaGroup]:
    tiers = plan.pack.tiers
    assert tiers is not None
    columns = _key_columns(plan)
    ranked = (frame.filter(pl.col(RANK).is_not_null())
              .select(pl.col(GROUP).cast(pl.String).fill_null(""), RANK, pl.col(ID_FIELD).cast(pl.String),
                      *dict.fromkeys(columns)).sort(GROUP, RANK))
    groups = {}
    for (label,), rows in ranked.partition_by(GROUP, as_dict=True, maintain_order=True).items():
        firms = rows.to_dicts()
        n = len(firms)
        cuts = cumulative_cuts([q.percent for q in tiers.quotas], tiers.rounding, n)
        if any(q.min_count for q in tiers.quotas):
            cuts = minimum_counts(cuts, [q.min_count for q in tiers.quotas], n)
        groups[label] = QuotaGroup(
            group=label, n=n, ranks={f[ID_FIELD]: int(f[RANK]) for f in firms},
            cuts=tuple(CutLine(tier=q.tier, last_rank=int(c), last=_key_at(firms, int(c), columns),
                               next=_key_at(firms, int(c) + 1, columns)) for q, c in zip(tiers.quotas, cuts)))
    return groups


def _key_at(firms: list[dict[str, Any]], rank: int, columns: list[str]) -> OrderKey | None:
    """The ordering key of the firm at ``rank`` (1-based) of a group's firms in rank order; None off the list."""
    if not 1 <= rank <= len(firms):
        return None
    firm = firms[rank - 1]
    return OrderKey(values=_key_values(firm, columns), enterprise_id=firm[ID_FIELD])


# ---------------------------------------------------------------- the vectorized stages against a context


def describe_cuts(context: FrozenContext, group: QuotaGroup) -> str:
    """The cut lines of a group as the explanation shows them: each tier's last ordering key."""
    known = context._described.get(group.group)
    if known is None:
        known = context._described[group.group] = _describe_cuts(context, group)
    return known


def _describe_cuts(context: FrozenContext, group: QuotaGroup) -> str:
    names = [name for name, _ in context.order_by]
    parts = []
    for cut in group.cuts:
        if cut.last is None:
            parts.append(f"{cut.tier}: none")
            continue
        values = ", ".join(f"{n} {_shown(v)}" for n, v in zip(names, cut.last.values))
        parts.append(f"{cut.tier} to rank {cut.last_rank} ({values}, id {cut.last.enterprise_id})")
    return "; ".join(parts)


def _shown(value: Value) -> str:
    return "missing" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def place_tier(plan: Plan, context: FrozenContext, row: dict[str, Any]) -> tuple[str | None, int | None, str | None]:
    """(tier, frozen group size, the cut lines it was placed against) of an eligible record's row,
    which holds its group label, score and ordering values; tier None: the cycle ranked no such group."""
    tiers = plan.pack.tiers
    assert tiers is not None and tiers.method == "quota"
    label = "" if row[GROUP] is None else str(row[GROUP])
    placed = context.quota_position(label, _key_values(row, _key_columns(plan)), str(row[ID_FIELD]))
    if placed is None:
        return None, None, None
    position, group = placed
    if any(q.min_score is not None or q.max_score is not None for q in tiers.quotas):
        score = row.get("score")
        position = int(score_bounds(np.array([position]), np.array([np.nan if score is None else score]),
                                    tiers.quotas)[0])
    return tiers.quotas[position].tier, group.n, describe_cuts(context, group)


def no_group_reason(context: FrozenContext, label: str) -> str:
    return (f"tier group {label or '(none)'} has no ranked firms in {context.label}: no cut lines to place "
            "the firm against")


def _benchmarks_stage(context: FrozenContext) -> Stage:
    def stage(f: pl.LazyFrame, plan: Plan, inputs: Any) -> pl.LazyFrame:
        frame = inputs.collect(f)
        columns: list[Any] = [compile_expr(plan, f"benchmarks.{n}.value").alias(benchmark_col(n))
                              for n, bm in plan.pack.benchmarks.items() if bm.value is not None]
        for name, bm in plan.pack.benchmarks.items():
            if bm.value is not None:
                continue
            keys = frame.select(bm.group_by).rows() if bm.group_by else [()] * frame.height
            found = [context.statistic(name, k) for k in keys]
            factor = pl.select(compile_expr(plan, f"benchmarks.{name}.factor")).item()
            stats = [None if s is None else s.stat for s in found]
            columns += [pl.Series(benchmark_col(name), [None if s is None else s * factor for s in stats], dtype=pl.Float64),
                        pl.Series(stat_col(name), stats, dtype=pl.Float64),
                        pl.Series(cohort_n_col(name), [None if s is None else s.n for s in found], dtype=pl.UInt32)]
        if basis_fields(plan):
            keys = frame.select(list(context.basis_fields)).rows() if context.basis_fields else [()] * frame.height
            columns.append(pl.Series(BASIS, [context.basis_of(k) for k in keys], dtype=pl.String))
        return frame.lazy().with_columns(columns)
    return stage


def _tiers_stage(context: FrozenContext) -> Stage:
    def stage(f: pl.LazyFrame, plan: Plan, inputs: Any) -> pl.LazyFrame:
        frame = assign_tiers(inputs.collect(f), plan, inputs.groups_of).collect()
        height = frame.height
        tier, size, cuts = frame[TIER].to_list(), [None] * height, [None] * height
        status, reason = frame[STATUS].cast(pl.String).to_list(), frame[REASON].to_list()
        if plan.pack.tiers is not None and plan.pack.tiers.method == "quota":
            for i, row in enumerate(frame.iter_rows(named=True)):
                if row[STATUS] != OK or row[VETO] is not None:
                    continue
                tier[i], size[i], cuts[i] = place_tier(plan, context, row)
                if tier[i] is None:
                    status[i], reason[i] = UNRATED, no_group_reason(context, row[GROUP] or "")
        return frame.lazy().with_columns(
            pl.Series(TIER, tier, dtype=pl.String), pl.lit(None, dtype=pl.UInt32).alias(RANK),
            pl.Series(GROUP_N, size, dtype=pl.UInt32), pl.Series(STATUS, status, dtype=pl.String).cast(STATUS_TYPE),
            pl.Series(REASON, reason, dtype=pl.String), pl.lit(context.label).alias(FROZEN_BASIS),
            pl.Series(FROZEN_CUTS, cuts, dtype=pl.String))
    return stage


def frozen_stages(context: FrozenContext) -> tuple[tuple[str, Stage], ...]:
    """:data:`~mujun.engine.evaluate.STAGES` with benchmarks and tiers read from the context."""
    replaced = {"benchmarks": _benchmarks_stage(context), "tiers": _tiers_stage(context)}
    return tuple((name, replaced.get(name, stage)) for name, stage in STAGES)


def require_usable(plan: Plan, context: FrozenContext) -> None:
    """The context is of this plan's pack, and the pack reads nothing of its cohort the context lacks."""
    if context.pack_hash != plan.pack_hash:
        raise FrozenContextError(f"the frozen context is of pack hash {context.pack_hash[:12]}, not "
                                 f"{plan.pack_hash[:12]}: score with the cycle's own pack", location="cycle")
    context.require_supported()


def score_frozen(plan: Plan, context: FrozenContext, data: Any, *, prior: Any = None, history: Any = None) -> Result:
    """Score ``data`` (a few records) against a frozen cycle: the vectorized stages, benchmarks and tiers
    from ``context``. ``prior`` is read only for ``past()`` (the firms' own earlier values)."""
    require_usable(plan, context)
    return Result(plan, run_plan(plan, data, prior=prior, history=history, cycle=context.year,
                                 stages=frozen_stages(context)))

"""The pack language as data: frozen pydantic models that a YAML rule pack must fit.

Every model forbids unknown keys, so a typo such as ``wieght`` is reported with its YAML path
instead of being ignored. Expressions stay strings here; :mod:`mujun.engine.compile` parses and
checks them against the names the pack defines.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mujun.errors import PackIssue

__all__ = [
    "Pack", "InputSpec", "Parameter", "DerivedGroup", "ScopeRule", "Indicator", "Benchmark", "Step", "Item",
    "Adjustment", "Threshold", "Quota", "Tiers", "Measure", "Allocation", "Check", "Decision", "Effective", "Leading", "Parks",
    "Expression", "Events", "EventType", "EventField", "EventRule", "EventEffect", "EventCount",
    "EventAbsence", "FieldTest",
]

Expression = str | float
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Model(BaseModel):
    # allow_inf_nan=False: a NaN or infinite number (YAML .nan, .inf) is an error with its path, never a score
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Effective(_Model):
    """The period a policy is in force; ``to`` empty means until replaced."""

    from_: dt.date = Field(alias="from")
    to: dt.date | None = None


class InputSpec(_Model):
    """How an input field is checked before any rule sees it.

    ``present``: required, any number; ``positive``: required and > 0 (land); ``non_negative``;
    ``optional``: may be missing, and the items that use it apply their ``missing`` policy.
    ``value_aliases`` maps written forms to allowed values (``{规上: above}``), beside the built-in ones.
    """

    type: Literal["number", "string", "flags"] = "number"
    require: Literal["present", "positive", "non_negative", "optional"] = "present"
    allowed: list[str] | None = None
    aliases: list[str] = []
    value_aliases: dict[str, str] = {}
    unit: str | None = None
    label: str | None = None


class Parameter(_Model):
    """A named number (or a table of numbers keyed by tier or code) that an editor may change."""

    value: float | dict[str, float] | dict[str, str]  # a number, a table of numbers, or of words (groups)
    unit: str | None = None
    label: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"value": data}
        if isinstance(data, dict) and "value" not in data:
            return {"value": data}
        return data


class DerivedGroup(_Model):
    """A text field derived from another through a table of words, e.g. the industry group of an
    industry code (GB/T 4754 大类: its first ``prefix`` characters). It can be grouped by, compared
    and used as a lookup key; a code the table lacks makes the record an error naming code and table."""

    table: str
    key: str
    prefix: int | None = Field(default=None, ge=1, le=10)
    label: str | None = None


class ScopeRule(_Model):
    """Who is not rated: firms matching ``when`` get status ``unrated`` with ``reason``.

    ``tier`` optionally manages them as a tier anyway (Anhui: ungraded firms are handled as B).
    """

    when: Expression
    reason: str
    tier: str | None = None


class Indicator(_Model):
    """A named expression. ``zero_denominator`` (the expression must then be ``a / b``) says what a
    zero ``b`` with a positive ``a`` means: ``full`` — the best result, full capped points in every
    item that scores it (no emissions: the cleanest firm); ``missing`` — undefined, the item's
    ``missing`` policy applies; ``error`` — a record error. Unset, ``x / 0`` is missing, unannounced.
    """

    expr: Expression
    unit: str | None = None
    label: str | None = None
    zero_denominator: Literal["full", "missing", "error"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"expr": data} if isinstance(data, (str, int, float)) else data


class Benchmark(_Model):
    """A cohort statistic of an indicator × factor, or a fixed ``value``.

    The cohort is the rated firms (optionally those matching ``where``) sharing the ``group_by``
    fields, taken from the current data, the prior-year data, or prior falling back to current.
    """

    value: Expression | None = None
    stat: Literal["mean", "median", "percentile", "min", "max"] | None = None
    of: str | None = None
    percentile: float | None = Field(default=None, ge=0, le=100)
    factor: Expression = 1.0
    group_by: list[str] = []
    where: Expression | None = None
    source: Literal["current", "prior", "prior_or_current"] = "current"
    #: a mean read as the mean of the firms' ratios, or as the cohort's ratio of sums
    #: (Σ税收 ÷ Σ用地: how a region's 亩均税收 is reported); the indicator must then be ``a / b``
    reading: Literal["mean_of_ratios", "ratio_of_sums"] | None = None
    unit: str | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Benchmark:
        if (self.value is None) == (self.stat is None):
            raise ValueError("give either 'value' (a fixed number) or 'stat' with 'of' (a cohort statistic)")
        if self.stat is not None and not self.of:
            raise ValueError("a cohort benchmark needs 'of': the indicator it summarises")
        if self.stat == "percentile" and self.percentile is None:
            raise ValueError("stat 'percentile' needs 'percentile' (0-100)")
        if self.reading is not None and self.stat != "mean":
            raise ValueError("'reading' says how a mean is read: it needs stat 'mean'")
        return self


class Step(_Model):
    """One step of a step table: ``points`` when the indicator is ≥ ``min`` (no ``min``: otherwise)."""

    min: float | None = None
    points: Expression


class Item(_Model):
    """One scored item.

    ``ratio``: weight × indicator / benchmark, the ratio capped at ``cap_ratio``;
    ``minmax``: weight × (20 + 80 × (x − min)/(max − min)) / 100 within the ``cohort`` group;
    ``steps``: the first step whose ``min`` the indicator reaches; ``expr``: points from ``expr``.
    Then ``negative`` (indicator < 0) and ``missing`` policies, then ``floor`` and ``cap`` in points.
    """

    label: str | None = None
    method: Literal["ratio", "minmax", "steps", "expr"] = "ratio"
    indicator: str | None = None
    weight: Expression = 0.0
    benchmark: Expression | None = None
    cap_ratio: float | None = Field(default=None, gt=0)
    cap: Expression | None = None
    floor: Expression | None = None
    steps: list[Step] = []
    expr: Expression | None = None
    when: Expression | None = None
    cohort: list[str] = []
    missing: Literal["zero", "cohort_mean", "unrated", "error"] = "zero"
    negative: Literal["keep", "zero", "unrated", "error"] = "keep"

    @model_validator(mode="after")
    def _method_fields(self) -> Item:
        needs = {
            "ratio": ("indicator", "benchmark"),
            "minmax": ("indicator",),
            "steps": ("indicator", "steps"),
            "expr": ("expr",),
        }[self.method]
        missing = [name for name in needs if not getattr(self, name)]
        if missing:
            raise ValueError(f"method '{self.method}' needs {', '.join(missing)}")
        return self


class Adjustment(_Model):
    """A bonus (points > 0), a deduction (points < 0) or a veto that forces a tier, when ``when`` holds."""

    name: Identifier
    label: str | None = None
    when: Expression
    points: Expression = 0.0
    veto: str | None = None


class Threshold(_Model):
    tier: str
    min: float | None = None


class Quota(_Model):
    """A tier's share of the ranked group; optionally a score it needs (``min_score``: A = top 20 % and
    score ≥ 80, else the next tier down), a score it may not pass (``max_score``: else the next tier up)
    and a least number of firms (``min_count``: "D 类不少于 1 家", taken from the tail of the tier above;
    for the first tier, from the head of the one below)."""

    tier: str
    percent: float = Field(ge=0, le=100)
    min_score: float | None = None
    max_score: float | None = None
    min_count: int | None = Field(default=None, ge=1)


class Tiers(_Model):
    """How scores become tiers.

    ``thresholds``: the first tier whose ``min`` the score reaches. ``quota``: shares of each
    ``group_by`` group in ``order_by`` order; the cumulative count of each tier is rounded by
    ``rounding`` (exact integer arithmetic). ``input``: the tier comes from the input column ``tier``.
    """

    method: Literal["thresholds", "quota", "input"]
    names: list[str] = []
    group_by: list[str] = []
    order_by: list[str] = ["score desc"]
    thresholds: list[Threshold] = []
    quotas: list[Quota] = []
    rounding: Literal["half_up", "floor", "ceil"] = "half_up"
    score_round: int | None = Field(default=None, ge=0, le=10)

    @model_validator(mode="after")
    def _method_fields(self) -> Tiers:
        if self.method == "thresholds" and not self.thresholds:
            raise ValueError("method 'thresholds' needs a 'thresholds' list")
        if self.method == "quota":
            if not self.quotas:
                raise ValueError("method 'quota' needs a 'quotas' list")
            total = sum(q.percent for q in self.quotas)
            if abs(total - 100) > 1e-9:
                raise ValueError(f"quota percents must add up to 100, they add up to {total:g}")
        if self.method == "input" and not self.names:
            raise ValueError("method 'input' needs 'names': the tiers an input column may hold")
        return self

    def tier_names(self) -> list[str]:
        if self.method == "thresholds":
            return [t.tier for t in self.thresholds]
        if self.method == "quota":
            return [q.tier for q in self.quotas]
        return list(self.names)


class Allocation(_Model):
    """A fixed budget shared out within each ``group_by`` group in proportion to ``weight``.

    Energy quota (用能指标) comes from a county budget: the tiers change each firm's share, and the
    shares must add up to the budget, never more. Each share is floored to a whole number of
    ``unit``; the units left over go one each to the largest fractional remainders (ties: the larger
    weight, then the enterprise id), so a group's allocations add up to ``floor(budget / unit) × unit``.
    ``budget`` may read only parameters and the ``group_by`` fields, so it is one number per group.
    Firms without a tier, or with a missing or non-positive weight, get 0.
    """

    budget: Expression
    weight: Expression
    group_by: list[str] = []
    unit: float = Field(default=1.0, gt=0)


class Measure(_Model):
    """A per-tier output: ``by_tier`` (a mapping, or the name of a table parameter), ``expr``, or ``allocate``.

    ``type: text`` makes a measure a word instead of a number (which rule a rate comes from, a
    Nantong class such as 关闭退出); its expressions must then give text, and ``default`` is empty.
    """

    label: str | None = None
    unit: str | None = None
    type: Literal["number", "text"] = "number"
    by_tier: dict[str, Expression] | str | None = None
    default: Expression | None = 0.0
    expr: Expression | None = None
    allocate: Allocation | None = None

    @model_validator(mode="before")
    @classmethod
    def _text_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type") == "text" and "default" not in data:
            return {**data, "default": None}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Measure:
        if sum(x is not None for x in (self.by_tier, self.expr, self.allocate)) != 1:
            raise ValueError("give exactly one of 'by_tier', 'expr' or 'allocate'")
        if self.allocate is not None and self.type == "text":
            raise ValueError("an allocation is a number: drop 'type: text'")
        return self


class Check(_Model):
    """One condition of a checks pack: ``value`` must reach ``min`` or stay within ``max``.

    Value and threshold are compared unrounded ("不低于 15": 14.9958 fails), unless the pack declares
    the reporting ``precision`` (decimals) the source compares at; ``strict`` makes the bound
    exclusive ("超过 50 %": 50 % fails). A failed check is reported from ``message`` (placeholders
    {label} {value} {threshold} {unit}) or a default sentence, numbers at ``digits`` decimals — more
    where fewer would make a failing value read as meeting the bound. A check whose ``when`` does
    not hold is not applicable; a missing value or threshold fails the check.
    """

    name: Identifier
    label: str | None = None
    value: Expression
    min: Expression | None = None
    max: Expression | None = None
    unit: str | None = None
    when: Expression | None = None
    digits: int = Field(default=2, ge=0, le=6)
    precision: int | None = Field(default=None, ge=0, le=10)
    strict: bool = False
    message: str | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Check:
        if (self.min is None) == (self.max is None):
            raise ValueError("give either 'min' (value must be ≥ it) or 'max' (value must be ≤ it)")
        return self


class Decision(_Model):
    """The words a checks pack writes into ``decision`` (e.g. 准入 / 不予准入)."""

    pass_: str = Field(default="pass", alias="pass")
    fail: str = "fail"


class Leading(_Model):
    """Which industries of a park count as its leading ones (主导产业): those holding at least
    ``min_share`` % of the park's sum of ``by``; the top industry is the largest by ``by``."""

    by: str
    min_share: Expression = 0.0  # %, a number or a number parameter


class Parks(_Model):
    """Park-level evaluation from firm records (园区): the rated firms of each ``by`` value are summed
    (``sums``), split by ``industry``, set against the city (every rated firm matching ``city_where``,
    from the same records), then described by ``indicators`` and judged by ``checks``; one row per park."""

    by: str
    industry: str | None = None
    sums: list[str] = []
    leading: Leading | None = None
    city_where: Expression | None = None
    indicators: dict[Identifier, Indicator] = {}
    checks: list[Check] = []
    decision: Decision = Decision()

    @model_validator(mode="after")
    def _leading_needs_industry(self) -> Parks:
        if self.leading is not None and self.industry is None:
            raise ValueError("'leading' reads industry shares: name the firms' 'industry' field")
        return self

    def figures(self) -> list[str]:
        """The park figures its indicators and checks read (besides number parameters); shares in %."""
        names = ["firms", "city_firms", "prior_firms", *(f"{kind}_{x}" for kind in ("sum", "city", "prior_sum") for x in self.sums)]
        if self.industry is not None:
            names.append("industries")
        if self.leading is not None:
            names += ["leading_industries", "top_share_firms", *(f"top_share_{x}" for x in self.sums)]
        return names


# --- events: in-year events (penalties, accidents, certifications) and the rules they trigger -------------


class EventField(_Model):
    """A typed field of an event: a ``number`` (with a unit) or a ``text`` word from ``allowed``."""

    type: Literal["number", "text"] = "text"
    allowed: list[str] | None = None
    required: bool = True
    unit: str | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _allowed_is_for_text(self) -> EventField:
        if self.allowed is not None and self.type != "text":
            raise ValueError("'allowed' lists words: only a text field has it")
        return self


class EventType(_Model):
    """A kind of event a bureau reports (环境行政处罚, 安全生产事故 …) and its fields."""

    label: str | None = None
    fields: dict[Identifier, EventField] = {}

    @field_validator("fields")
    @classmethod
    def _not_an_event_key(cls, fields: dict[str, EventField]) -> dict[str, EventField]:
        if taken := sorted(set(fields) & {"event_id", "enterprise_id", "type", "date", "fields"}):
            raise ValueError(f"{', '.join(taken)}: the event's own keys, not names for its fields")
        return fields


class FieldTest(_Model):
    """A condition on one field of one event: equal to ``is``, one of ``in``, or within ``min``/``max``."""

    is_: str | float | None = Field(default=None, alias="is")
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"is": data} if isinstance(data, (str, int, float)) and not isinstance(data, bool) else data

    @model_validator(mode="after")
    def _one_kind(self) -> FieldTest:
        if sum(x is not None for x in (self.is_, self.in_)) + (self.min is not None or self.max is not None) != 1:
            raise ValueError("a field condition is one of: a value (or 'is'), 'in' (a list), or 'min'/'max'")
        return self


class EventCount(_Model):
    """Fires at the event that makes ``at_least`` matching events within ``within_days`` (both days counted)."""

    at_least: int = Field(ge=2, le=5)
    within_days: int = Field(ge=1, le=3660)


class EventAbsence(_Model):
    """Fires ``within_days`` after the event when no ``type`` event (matching ``where``) came in that time."""

    type: str
    where: dict[Identifier, FieldTest] = {}
    within_days: int = Field(ge=1, le=3660)


class EventEffect(_Model):
    """What a firing does from its date on: force a tier, add points (negative: deduct), override measures,
    or lift the effects of earlier rules; ``for_days`` bounds it (unset: until the cycle ends)."""

    tier: str | None = None
    points: float | None = None
    measures: dict[Identifier, float] = {}
    lift: list[Identifier] = []
    for_days: int | None = Field(default=None, ge=1, le=3660)

    @model_validator(mode="after")
    def _something(self) -> EventEffect:
        acts = self.tier is not None or self.points is not None or bool(self.measures)
        if acts == bool(self.lift):
            raise ValueError("an effect either acts (tier, points, measures) or lifts earlier rules ('lift'), "
                             "and does one of them")
        if self.lift and self.for_days is not None:
            raise ValueError("a lift is final: 'for_days' is only for an effect that acts")
        return self


class EventRule(_Model):
    """On an ``event`` of a type (matching ``where``), optionally counted in a window or followed by an
    absence, ``effect`` applies. Rules are matched by :mod:`mujun.events` (durable_rules and a reference)."""

    name: Identifier
    label: str | None = None
    event: str
    where: dict[Identifier, FieldTest] = {}
    count: EventCount | None = None
    absent: EventAbsence | None = None
    effect: EventEffect

    @model_validator(mode="after")
    def _count_or_absence(self) -> EventRule:
        if self.count is not None and self.absent is not None:
            raise ValueError("a rule counts events ('count') or waits for an absence ('absent'), not both")
        return self


class Events(_Model):
    """The ``events`` section: event types and the rules that turn events into in-year effects."""

    types: dict[Identifier, EventType]
    rules: list[EventRule] = []

    def issues(self, tier_names: list[str], measure_names: list[str]) -> list[PackIssue]:
        """Every reference of the rules that points nowhere (types, fields, words, tiers, measures, lifts)."""
        found: list[PackIssue] = []
        names = [r.name for r in self.rules]
        for i, rule in enumerate(self.rules):
            at = f"events.rules.{i}"
            if names.count(rule.name) > 1:
                found.append(PackIssue(f"{at}.name", f"rule name {rule.name!r} is used twice: names must be unique"))
            found += self._where_issues(rule.event, rule.where, f"{at}.event", f"{at}.where")
            if rule.absent is not None:
                found += self._where_issues(rule.absent.type, rule.absent.where, f"{at}.absent.type", f"{at}.absent.where")
            effect = rule.effect
            if effect.tier is not None and effect.tier not in tier_names:
                found.append(PackIssue(f"{at}.effect.tier", f"unknown tier {effect.tier!r}; tiers: "
                                       f"{', '.join(tier_names) or '(the pack has no tiers)'}"))
            if effect.points is not None and not tier_names:
                found.append(PackIssue(f"{at}.effect.points", "points re-tier the firm: the pack needs 'tiers'"))
            found += [PackIssue(f"{at}.effect.measures.{m}", f"unknown measure; measures: {', '.join(measure_names)}")
                      for m in effect.measures if m not in measure_names]
            found += [PackIssue(f"{at}.effect.lift", f"unknown rule {t!r}; rules: {', '.join(names)}")
                      for t in effect.lift if t not in names]
        return found

    def _where_issues(self, type_: str, where: dict[str, FieldTest], type_at: str, where_at: str) -> list[PackIssue]:
        spec = self.types.get(type_)
        if spec is None:
            return [PackIssue(type_at, f"unknown event type {type_!r}; types: {', '.join(self.types)}")]
        found = []
        for name, test in where.items():
            field = spec.fields.get(name)
            if field is None:
                found.append(PackIssue(f"{where_at}.{name}", f"{type_} has no field {name!r}; fields: "
                                       f"{', '.join(spec.fields) or '(none)'}"))
                continue
            words = [test.is_] if isinstance(test.is_, str) else test.in_ or []
            numeric = test.min is not None or test.max is not None or isinstance(test.is_, float)
            if field.type == "text" and numeric:
                found.append(PackIssue(f"{where_at}.{name}", "a text field is compared with words, not numbers"))
            elif field.type == "number" and words:
                found.append(PackIssue(f"{where_at}.{name}", "a number field is compared with 'min'/'max' or a number"))
            elif field.allowed is not None:
                found += [PackIssue(f"{where_at}.{name}", f"{w!r} is not an allowed word; allowed: "
                                    f"{', '.join(field.allowed)}") for w in words if w not in field.allowed]
        return found


class Pack(_Model):
    """A whole rule pack, after ``extends`` has been resolved."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    version: str
    title: str
    source: str
    leaves_out: str | None = None
    effective: Effective | None = None
    regions: list[str] = []
    inputs: dict[Identifier, InputSpec] = {}
    parameters: dict[Identifier, Parameter] = {}
    groups: dict[Identifier, DerivedGroup] = {}
    scope: list[ScopeRule] = []
    indicators: dict[Identifier, Indicator] = {}
    benchmarks: dict[Identifier, Benchmark] = {}
    items: dict[Identifier, Item] = {}
    adjustments: list[Adjustment] = []
    tiers: Tiers | None = None
    measures: dict[Identifier, Measure] = {}
    checks: list[Check] = []
    decision: Decision = Decision()
    parks: Parks | None = None
    events: Events | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value

"""The impact of a pack change as data: the pydantic models that ``report.json`` is written from.

The shape is a contract with the HTML report and the gRPC ``Packs.Simulate`` answer: sections are
added, never renamed. Headline first, then the detail an editor drills into. A *state* is a firm's
tier when it was rated (``status`` ok), else its status (``unrated``, ``error``), so a firm that a
new scope rule takes out of the rating is a transition too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION", "PackRef", "DataRef", "MeasureKind", "MeasureTotals", "TierAmount", "HeadlineMeasure",
    "Headline", "TransitionMatrix", "Transitions", "ItemMove", "FirmMove", "Crossing", "Histogram",
    "Distributions", "ParameterSensitivity", "MarginFirm", "CutLine", "Sensitivity", "SweepPoint", "Sweep",
    "Impact",
]

SCHEMA_VERSION = 1

#: What a measure is for the headline (see :mod:`mujun.simulate.measures` for how a kind is recognised).
MeasureKind = Literal["electricity_surcharge", "surcharge", "tax_relief", "energy_quota", "subsidy", "other"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PackRef(_Model):
    """Which pack a side was computed with: its identity, content hash and the ``--set`` overlays applied."""

    id: str
    version: str
    title: str
    hash: str
    overrides: dict[str, Any] = {}


class DataRef(_Model):
    """What the impact was computed from: a hash of the data (current, prior year, history, cycle) and its size.

    ``hash`` is a SHA-256 over each table's column names, types and row hashes (columns in name order);
    ``files`` names the input files and their SHA-256 when the data came from files (the CLI)."""

    hash: str
    records: int
    prior_records: int | None = None
    history_records: int | None = None
    cycle: int | None = None
    files: dict[str, str] = {}


class TierAmount(_Model):
    """One tier's figure of a measure: firms in the tier, firms with a non-zero value, their sum and mean."""

    tier: str
    firms: int
    nonzero: int
    total: float
    mean: float | None = None


class MeasureTotals(_Model):
    """A numeric measure's figures by tier before (OLD) and after (NEW). ``summable`` is false for a rate or a
    share (unit with ``/`` or ``%``): its ``total`` is then not an amount and the headline reads ``nonzero``."""

    name: str
    label: str | None = None
    unit: str | None = None
    kind: MeasureKind = "other"
    summable: bool = True
    in_baseline: bool = True
    in_candidate: bool = True
    before: list[TierAmount] = []
    after: list[TierAmount] = []
    total_before: float = 0.0
    total_after: float = 0.0
    change: float = 0.0


class HeadlineMeasure(_Model):
    """A headline figure of one measure kind: the amount when the measure is summable (元, tce), else the
    number of firms that receive it (a relief of some %)."""

    kind: MeasureKind
    measure: str
    label: str | None = None
    unit: str | None = None
    reads: Literal["total", "firms"] = "total"
    before: float
    after: float
    change: float
    by_tier_before: dict[str, float] = Field(default={}, description="the figure per tier (or state) under OLD")
    by_tier_after: dict[str, float] = Field(default={}, description="the figure per tier (or state) under NEW")
    mean_by_tier_before: dict[str, float | None] = Field(default={}, description="mean value per tier under OLD "
                                                                                "(a rate: 50 % → 60 %)")
    mean_by_tier_after: dict[str, float | None] = {}


class Headline(_Model):
    """The numbers an editor reads first."""

    records: int
    rated_before: int
    rated_after: int
    tier_changes: int = Field(description="firms whose state (tier, or unrated/error) differs")
    up: int
    down: int
    other_changes: int = Field(description="state changes that are not a move between two tiers of the order")
    worst_tier: str | None = None
    worst_before: int = 0
    worst_after: int = 0
    worst_change: int = 0
    tier_counts_before: dict[str, int] = {}
    tier_counts_after: dict[str, int] = {}
    electricity_surcharge_before_yuan: float | None = None
    electricity_surcharge_after_yuan: float | None = None
    electricity_surcharge_change_yuan: float | None = None
    measures: list[HeadlineMeasure] = []
    groups_changed: list[str] = Field(default=[], description="groups (counties) with at least one tier change")


class TransitionMatrix(_Model):
    """``counts[i][j]``: firms in state ``states[i]`` under OLD and ``states[j]`` under NEW."""

    group: str | None = None
    firms: int
    changes: int
    counts: list[list[int]]


class Transitions(_Model):
    states: list[str]
    overall: TransitionMatrix
    by_group: list[TransitionMatrix] = []


class ItemMove(_Model):
    item: str
    label: str | None = None
    before: float | None = None
    after: float | None = None
    change: float


class FirmMove(_Model):
    enterprise_id: str | None
    group: str | None
    before: str
    after: str
    score_before: float | None = None
    score_after: float | None = None
    rank_before: int | None = None
    rank_after: int | None = None
    top_item: ItemMove | None = None


class Crossing(_Model):
    """The firms that moved from one state to another (e.g. B → C): how many, and the first ``limit`` of them
    by the size of their score change."""

    before: str
    after: str
    direction: Literal["up", "down", "other"]
    count: int
    firms: list[FirmMove] = []
    truncated: bool = False


class Histogram(_Model):
    """Score counts in ``len(edges) - 1`` bins (``edges`` ascending; the last bin includes its right edge)."""

    edges: list[float]
    before: list[int]
    after: list[int]


class Distributions(_Model):
    score: Histogram
    score_mean_before: float | None = None
    score_mean_after: float | None = None


class ParameterSensitivity(_Model):
    """Tier changes (against NEW) when one parameter of NEW is moved by ``-step`` and ``+step`` (a table of
    numbers moves as a whole); ``d_change_*`` and ``surcharge_change_*`` likewise."""

    parameter: str
    label: str | None = None
    unit: str | None = None
    value: float | dict[str, float]
    low: float | dict[str, float]
    high: float | dict[str, float]
    changes_low: int
    changes_high: int
    worst_change_low: int = 0
    worst_change_high: int = 0
    surcharge_change_low_yuan: float | None = None
    surcharge_change_high_yuan: float | None = None


class MarginFirm(_Model):
    enterprise_id: str | None
    tier: str
    score: float
    margin: float = Field(description="score minus the line's score on the other side (negative: below it)")


class CutLine(_Model):
    """One line between two adjacent tiers within a group, under NEW: the lowest score above it, the highest
    below it (or the threshold) and the firms nearest it with their margins."""

    group: str | None
    upper: str
    lower: str
    upper_min: float | None = None
    lower_max: float | None = None
    threshold: float | None = None
    firms: list[MarginFirm] = []


class Sensitivity(_Model):
    """``parameters`` (the tornado) only when ``parameters_moved`` (each takes two evaluations); the
    margins at the cut lines always."""

    step: float = 0.1
    parameters_moved: bool = True
    parameters: list[ParameterSensitivity] = []
    skipped: list[str] = Field(default=[], description="parameters not moved, with why (zero, text)")
    lines: list[CutLine] = []


class SweepPoint(_Model):
    value: float
    pack_hash: str
    headline: Headline


class Sweep(_Model):
    """One parameter of NEW run at several values, each against the same baseline evaluation."""

    parameter: str
    label: str | None = None
    unit: str | None = None
    points: list[SweepPoint] = []
    seconds: float | None = None
    workers: int = 1


class Impact(_Model):
    """Everything ``report.json`` holds, headline first."""

    schema_version: int = SCHEMA_VERSION
    baseline: PackRef
    candidate: PackRef
    data: DataRef
    headline: Headline
    measures: list[MeasureTotals] = []
    transitions: Transitions
    crossings: list[Crossing] = []
    distributions: Distributions
    sensitivity: Sensitivity | None = None
    sweep: Sweep | None = None
    notes: list[str] = []
    timings: dict[str, float] = {}

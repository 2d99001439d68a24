"""Typed plan nodes: each indicator and item of a compiled pack, with its expressions checked and lowered.

A stage takes its node and reads the fields its method has (a ratio item its benchmark, a steps item
its steps): no YAML-path keys between the compiler and the stages. The YAML path stays only as
``source_path``, for messages. Nodes are frozen: built once per pack hash, by :func:`build_nodes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from mujun import lang
from mujun.packs.model import Item

if TYPE_CHECKING:
    from mujun.engine.compile import Plan

__all__ = ["Expr", "IndicatorNode", "Step", "RatioItem", "MinmaxItem", "StepsItem", "ExprItem", "ItemNode",
           "build_nodes"]


@dataclass(frozen=True, eq=False)
class Expr:
    """One checked pack expression: its typed AST and its Polars expression, lowered once."""

    node: lang.Node
    polars: pl.Expr
    source_path: str


@dataclass(frozen=True, eq=False)
class IndicatorNode:
    name: str
    expr: Expr
    label: str | None
    zero_denominator: str | None
    #: The quotient's two sides, lowered: set when a zero-denominator policy is declared.
    numerator: pl.Expr | None = None
    denominator: pl.Expr | None = None

    @property
    def source_path(self) -> str:
        return self.expr.source_path


@dataclass(frozen=True, eq=False)
class Step:
    min: float | None
    points: Expr


@dataclass(frozen=True, eq=False)
class _ItemNode:
    name: str
    source_path: str
    indicator: str | None
    weight: Expr
    cap: Expr | None
    floor: Expr | None
    when: Expr | None
    cohort: tuple[str, ...]
    missing: str  # zero, cohort_mean, unrated, error
    negative: str  # keep, zero, unrated, error
    #: The indicator's zero denominator means the best result: full capped points.
    zero_full: bool


@dataclass(frozen=True, eq=False)
class RatioItem(_ItemNode):
    benchmark: Expr
    cap_ratio: float | None


@dataclass(frozen=True, eq=False)
class MinmaxItem(_ItemNode):
    pass


@dataclass(frozen=True, eq=False)
class StepsItem(_ItemNode):
    steps: tuple[Step, ...]


@dataclass(frozen=True, eq=False)
class ExprItem(_ItemNode):
    expr: Expr


ItemNode = RatioItem | MinmaxItem | StepsItem | ExprItem


def build_nodes(plan: Plan) -> tuple[tuple[IndicatorNode, ...], tuple[ItemNode, ...]]:
    """The typed nodes of a checked, lowered plan (the compiler's last step)."""
    return (tuple(_indicator(plan, name) for name in plan.pack.indicators),
            tuple(_item(plan, name, item) for name, item in plan.pack.items.items()))


def _expr(plan: Plan, path: str) -> Expr:
    return Expr(plan.exprs[path], plan.lowered[path], path)


def _optional(plan: Plan, path: str) -> Expr | None:
    return _expr(plan, path) if path in plan.exprs else None


def _indicator(plan: Plan, name: str) -> IndicatorNode:
    spec, expr = plan.pack.indicators[name], _expr(plan, f"indicators.{name}")
    sides = {}
    if spec.zero_denominator is not None and isinstance(expr.node, lang.Binary):  # the compiler allows only a / b
        sides = {"numerator": plan.parts[expr.node.left], "denominator": plan.parts[expr.node.right]}
    return IndicatorNode(name, expr, spec.label, spec.zero_denominator, **sides)


def _item(plan: Plan, name: str, item: Item) -> ItemNode:
    path = f"items.{name}"
    indicator = plan.pack.indicators.get(item.indicator or "")
    common = dict(name=name, source_path=path, indicator=item.indicator, weight=_expr(plan, f"{path}.weight"),
                  cap=_optional(plan, f"{path}.cap"), floor=_optional(plan, f"{path}.floor"),
                  when=_optional(plan, f"{path}.when"), cohort=tuple(item.cohort), missing=item.missing,
                  negative=item.negative,
                  zero_full=indicator is not None and indicator.zero_denominator == "full")
    if item.method == "ratio":
        return RatioItem(**common, benchmark=_expr(plan, f"{path}.benchmark"), cap_ratio=item.cap_ratio)
    if item.method == "minmax":
        return MinmaxItem(**common)
    if item.method == "steps":
        steps = tuple(Step(s.min, _expr(plan, f"{path}.steps.{i}.points")) for i, s in enumerate(item.steps))
        return StepsItem(**common, steps=steps)
    return ExprItem(**common, expr=_expr(plan, f"{path}.expr"))

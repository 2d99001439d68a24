"""Lowering: a checked expression tree → one Polars expression; the engine's only reader of the tree's calls.

The compiler lowers every expression of a pack once (:func:`lower_plan`), and the stages read the
result from the plan: Polars expressions are immutable, so one built at compile time serves every
evaluation. Each builtin is lowered by the function :data:`LOWERINGS` holds under the builtin's
``lowering`` name (the builtin table in ``mujun.lang.builtins`` names it); the null rules are those
of ``mujun.lang.row``, which the reference evaluator runs, and the differential tests hold them equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from mujun.engine.columns import column_of
from mujun.lang import (BUILTINS, LITERAL_KINDS, NUM, Binary, Call, Compare, InList, Logic, Name, Node, Num, Str,
                        Unary, earlier_column, floor_entries, literal_argument)

if TYPE_CHECKING:
    from mujun.engine.compile import Plan

__all__ = ["lower", "lower_plan", "Resolver", "TableResolver", "LOWERINGS", "Lowering", "number_key"]

Resolver = Callable[[str], pl.Expr]
TableResolver = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class Lowering:
    """What a builtin's lowering may read besides its arguments: names as columns, the call itself."""

    resolve: Resolver
    call: Call


Lower = Callable[[list[Any], Lowering], pl.Expr]


def lower(node: Node, resolve: Resolver, tables: TableResolver, memo: dict[Node, pl.Expr] | None = None) -> pl.Expr:
    """One Polars expression for ``node``; ``resolve`` maps a name to a column or a literal.

    ``memo``, when given, receives the expression of every part of the tree (the stages that read
    a part apart, such as a quotient's denominator, find it there instead of lowering it again).
    """
    if memo is not None and node in memo:  # the same part written twice is one expression
        return memo[node]
    expr = _lower(node, resolve, tables, memo)
    if memo is not None:
        memo[node] = expr
    return expr


def _lower(node: Node, resolve: Resolver, tables: TableResolver, memo: dict[Node, pl.Expr] | None) -> pl.Expr:
    def sub(child: Node) -> pl.Expr:
        return lower(child, resolve, tables, memo)

    if isinstance(node, Num):
        return pl.lit(node.value, dtype=pl.Float64)
    if isinstance(node, Str):
        return pl.lit(node.value, dtype=pl.String)
    if isinstance(node, Name):
        return resolve(node.name)
    if isinstance(node, Unary):
        inner = sub(node.operand)
        return -inner if node.op == "-" else ~inner
    if isinstance(node, Binary):
        left, right = sub(node.left), sub(node.right)
        if node.op == "/":
            quotient = left / right
            return pl.when((right != 0) & quotient.is_finite()).then(quotient).otherwise(None)
        return {"+": left + right, "-": left - right, "*": left * right}[node.op]
    if isinstance(node, Compare):
        left, right = sub(node.left), sub(node.right)
        return {
            "<": left < right, "<=": left <= right, ">": left > right,
            ">=": left >= right, "==": left == right, "!=": left != right,
        }[node.op]
    if isinstance(node, Logic):
        # one flat node, not a chain a & b & c ...: Polars' optimizer is slow on deep trees (Kleene logic either way)
        parts = [sub(n) for n in node.operands]
        return pl.all_horizontal(parts) if node.op == "and" else pl.any_horizontal(parts)
    if isinstance(node, InList):
        inner = sub(node.operand)
        member = pl.when(inner.is_null()).then(None).otherwise(inner.is_in(list(node.options)))
        return ~member if node.negate else member
    builtin = BUILTINS[node.func]
    args = [literal_argument(kind, arg, tables) if kind in LITERAL_KINDS else sub(arg)
            for kind, arg in zip(builtin.kinds(len(node.args)), node.args)]
    return LOWERINGS[builtin.lowering](args, Lowering(resolve, node))


def number_key(key: pl.Expr) -> pl.Expr:
    """A number as the table key ``lookup`` reads (``mujun.lang.table_key``): a whole number as its
    digits (1.0 → "1"), any other as written, which no whole-number key matches."""
    whole = (key == key.floor()) & (key.abs() < 1e15)
    return pl.when(whole).then(key.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(key.cast(pl.String))


def _lookup(args: list[Any], at: Lowering) -> pl.Expr:
    table, key = args
    if at.call.args[1].type == NUM:
        key = number_key(key)
    words = all(isinstance(v, str) for v in table.values())  # a table of words (industry groups)
    return key.replace_strict(list(table), list(table.values()), default=None,
                              return_dtype=pl.String if words else pl.Float64)


def _lookup_floor(args: list[Any], at: Lowering) -> pl.Expr:
    table, x = args
    chain: Any = pl
    for bound, value in sorted(floor_entries(table), reverse=True):
        chain = chain.when(x >= bound).then(pl.lit(value, dtype=pl.Float64))
    return chain.otherwise(pl.lit(None, dtype=pl.Float64)) if chain is not pl else pl.lit(None, dtype=pl.Float64)


def _min_max(horizontal: Callable[[list[pl.Expr]], pl.Expr]) -> Lower:
    def lowered(args: list[Any], at: Lowering) -> pl.Expr:
        any_missing = pl.any_horizontal([a.is_null() for a in args])
        return pl.when(any_missing).then(None).otherwise(horizontal(args))

    return lowered


#: Lowering name (``Builtin.lowering``) → how to build the Polars expression from the lowered arguments.
LOWERINGS: dict[str, Lower] = {
    "min": _min_max(pl.min_horizontal),
    "max": _min_max(pl.max_horizontal),
    "abs": lambda a, at: a[0].abs(),
    "clamp": lambda a, at: pl.when(pl.any_horizontal([x.is_null() for x in a])).then(None)
                             .otherwise(pl.min_horizontal(pl.max_horizontal(a[0], a[1]), a[2])),
    "when": lambda a, at: pl.when(a[0]).then(a[1]).otherwise(a[2]),
    "coalesce": lambda a, at: pl.coalesce(a),
    "is_missing": lambda a, at: a[0].is_null(),
    "has_flag": lambda a, at: at.resolve("flags").list.contains(pl.lit(a[0])).fill_null(False),
    "round": lambda a, at: a[0].round(a[1] if len(a) > 1 else 0, mode="half_away_from_zero"),
    "lookup": _lookup,
    "lookup_floor": _lookup_floor,
    "earlier": lambda a, at: at.resolve(earlier_column(at.call)),  # past / tier_count: columns joined on before
}


# ---------------------------------------------------------------- a whole plan, once, at compile time

#: Park indicators and checks read park figures (one row per park), not a firm's columns.
_PARK_PATHS = ("parks.indicators.", "parks.checks.")


def lower_plan(plan: Plan) -> None:
    """Lower every expression of ``plan`` into ``plan.lowered`` (and its parts into ``plan.parts``)."""
    tables = plan.tables.__getitem__
    firm, park = _firm_resolver(plan), _park_resolver(plan)
    for path, node in plan.exprs.items():
        if path.startswith(_PARK_PATHS):
            plan.lowered[path] = lower(node, park, tables)
        else:
            plan.lowered[path] = lower(node, firm, tables, plan.parts)


def _firm_resolver(plan: Plan) -> Resolver:
    def resolve(name: str) -> pl.Expr:
        column = column_of(plan, name)
        return pl.lit(plan.numbers[name], dtype=pl.Float64) if column is None else pl.col(column)

    return resolve


def _park_resolver(plan: Plan) -> Resolver:
    indicators = plan.pack.parks.indicators if plan.pack.parks is not None else {}

    def resolve(name: str) -> pl.Expr:
        if name in indicators:
            return pl.col(f"indicator.{name}")
        return pl.lit(plan.numbers[name], dtype=pl.Float64) if name in plan.numbers else pl.col(name)

    return resolve

"""The pack expression language: parsed, checked, then compiled to Polars or evaluated row by row.

Policy editors write formulas such as ``tax_wan / land_mu`` or ``when(size_class == 'above', 1, 0)``.
Python's own parser reads the text (``ast.parse``, never ``eval``) and only the node kinds listed
here are accepted, so no input can run code. The tree is then turned into our own small node types,
which have exactly two interpreters: :func:`to_polars` (the vectorized plan) and :func:`eval_row`
(the row-by-row reference evaluator). Both follow the same null rules:

- arithmetic and comparisons with a missing operand give missing; ``x / 0`` gives missing, and so
  does a quotient too large to be a number (``x / 1e-320``);
- ``and`` / ``or`` follow three-valued logic; a missing condition counts as false in ``when``;
- ``min`` / ``max`` give missing when any argument is missing; ``coalesce`` takes the first present;
- ``lookup(table, key)`` gives missing for a key the table lacks (engine.lookups records it); ``lookup_floor(table, x)`` takes the
  entry with the largest numeric key ≤ x (a rate in force "from 2021 on"), missing below the first key.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = [
    "Node", "Num", "Str", "Name", "Unary", "Binary", "Compare", "Logic", "Call", "InList",
    "ExpressionSyntaxError", "parse", "names", "to_polars", "eval_row", "floor_entries", "earlier_column", "FUNCTIONS",
    "MAX_CHARS", "MAX_DEPTH",
]

#: An expression is a formula an editor reads, not a program: these bounds keep every interpreter
#: (Python's parser, the checker, Polars) far from its recursion and memory limits.
MAX_CHARS = 2_000
MAX_DEPTH = 64


class ExpressionSyntaxError(ValueError):
    """An expression that cannot be parsed or uses something outside the language."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Name:
    """A field, parameter, indicator, benchmark, or a dotted reference such as ``item.tax``."""

    name: str


@dataclass(frozen=True)
class Unary:
    op: str  # "-" | "not"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    op: str  # < <= > >= == !=
    left: Node
    right: Node


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class InList:
    operand: Node
    options: tuple[str | float, ...]
    negate: bool


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Num | Str | Name | Unary | Binary | Compare | Logic | InList | Call

# name -> (min args, max args or None); the meaning lives in the two interpreters below.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (2, None),
    "max": (2, None),
    "abs": (1, 1),
    "when": (3, 3),
    "coalesce": (2, None),
    "is_missing": (1, 1),
    "has_flag": (1, 1),
    "round": (1, 2),
    "lookup": (2, 2),
    "lookup_floor": (2, 2),
    "past": (2, 2),  # past(tax_per_mu, 1): the same firm's value one cycle back
    "tier_count": (2, 2),  # tier_count('D', 3): cycles of the last 3 (this one included) in tier D
}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


def parse(text: str | float | int) -> Node:
    """Parse one expression; numbers in YAML are accepted as they are."""
    if isinstance(text, bool):
        raise ExpressionSyntaxError("expected a number or an expression, got true/false")
    if isinstance(text, (int, float)):
        return Num(_finite(text, repr(text)))
    if not isinstance(text, str) or not text.strip():
        raise ExpressionSyntaxError("expected an expression such as 'tax_wan / land_mu'")
    if len(text) > MAX_CHARS:
        raise ExpressionSyntaxError(f"expression of {len(text):,} characters; the limit is {MAX_CHARS:,}: "
                                    "split it into indicators that read one another")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionSyntaxError(f"cannot parse {_short(text)}: {exc.msg} at column {exc.offset}") from exc
    except (RecursionError, MemoryError, ValueError) as exc:  # nesting or a literal beyond the parser's limits
        raise ExpressionSyntaxError(f"cannot parse {_short(text)}: it nests too deeply or holds a number "
                                    "too long to read") from exc
    return _convert(tree.body, text)


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _finite(value: int | float, text: str) -> float:
    """A literal as a float: one beyond ±1.8e308, or NaN/inf, is an error rather than a silent inf."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ExpressionSyntaxError(f"{_short(text)}: numbers must be finite (|x| < 1.8e308, not NaN or inf)")
    return number


def _convert(node: ast.AST, text: str, depth: int = 0) -> Node:
    if depth > MAX_DEPTH:
        raise ExpressionSyntaxError(f"{_short(text)} nests more than {MAX_DEPTH} levels deep (a sum of that many "
                                    "terms counts as that deep): split it into indicators that read one another")
    depth += 1
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or node.value is None:
            raise ExpressionSyntaxError(f"{text!r}: constants true/false/None are not part of the language")
        if isinstance(node.value, (int, float)):
            return Num(_finite(node.value, text))
        if isinstance(node.value, str):
            return Str(node.value)
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted(node, text)
        if "__" in name:
            raise ExpressionSyntaxError(f"{text!r}: names with '__' are not allowed")
        return Name(name)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return Binary(_BINOPS[type(node.op)], _convert(node.left, text, depth), _convert(node.right, text, depth))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _convert(node.operand, text, depth)
        return Num(-operand.value) if isinstance(operand, Num) else Unary("-", operand)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return _convert(node.operand, text, depth)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Unary("not", _convert(node.operand, text, depth))
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return Logic(op, tuple(_convert(v, text, depth) for v in node.values))
    if isinstance(node, ast.Compare):
        return _convert_compare(node, text, depth)
    if isinstance(node, ast.IfExp):
        args = (_convert(node.test, text, depth), _convert(node.body, text, depth), _convert(node.orelse, text, depth))
        return Call("when", args)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        return _convert_call(node, text, depth)
    raise ExpressionSyntaxError(
        f"{text!r}: '{ast.unparse(node)}' is not allowed; use numbers, names, + - * /, comparisons, "
        f"and/or/not, 'a if cond else b' and the functions {', '.join(sorted(FUNCTIONS))}"
    )


def _dotted(node: ast.AST, text: str) -> str:
    parts = []
    while isinstance(node, ast.Attribute):  # a loop, not recursion: a.b.c... may be long
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise ExpressionSyntaxError(f"{text!r}: only names may be dotted, as in item.tax")
    return ".".join([node.id, *reversed(parts)])


def _convert_compare(node: ast.Compare, text: str, depth: int) -> Node:
    parts: list[Node] = []
    left = _convert(node.left, text, depth)
    for op, comparator in zip(node.ops, node.comparators):
        if isinstance(op, (ast.In, ast.NotIn)):
            parts.append(InList(left, _constant_list(comparator, text, depth), isinstance(op, ast.NotIn)))
            continue
        if type(op) not in _CMPOPS:
            raise ExpressionSyntaxError(f"{text!r}: comparison '{ast.unparse(node)}' is not allowed")
        right = _convert(comparator, text, depth)
        parts.append(Compare(_CMPOPS[type(op)], left, right))
        left = right
    return parts[0] if len(parts) == 1 else Logic("and", tuple(parts))


def _constant_list(node: ast.AST, text: str, depth: int) -> tuple[str | float, ...]:
    if not isinstance(node, (ast.Tuple, ast.List)):
        raise ExpressionSyntaxError(f"{text!r}: 'in' needs a list of constants, as in industry in ('44', '45')")
    values: list[str | float] = []
    for element in node.elts:
        converted = _convert(element, text, depth)
        if not isinstance(converted, (Num, Str)):
            raise ExpressionSyntaxError(f"{text!r}: 'in' lists may hold only numbers and strings")
        values.append(converted.value)
    return tuple(values)


def _convert_call(node: ast.Call, text: str, depth: int) -> Node:
    func = node.func.id  # type: ignore[attr-defined]
    if func not in FUNCTIONS:
        raise ExpressionSyntaxError(
            f"{text!r}: unknown function {func!r}; available: {', '.join(sorted(FUNCTIONS))}"
        )
    low, high = FUNCTIONS[func]
    count = len(node.args)
    if count < low or (high is not None and count > high):
        expected = str(low) if low == high else f"{low}+" if high is None else f"{low}-{high}"
        raise ExpressionSyntaxError(f"{text!r}: {func}() takes {expected} arguments, got {count}")
    args = tuple(_convert(a, text, depth) for a in node.args)
    if func in ("has_flag", "lookup", "lookup_floor") and not isinstance(args[0], (Str, Name)):
        raise ExpressionSyntaxError(f"{text!r}: {func}() needs a name or a quoted string as first argument")
    if func in ("past", "tier_count") and not (
        isinstance(args[0], Name if func == "past" else Str) and isinstance(args[1], Num)
        and args[1].value == int(args[1].value) and 1 <= args[1].value <= 10
    ):
        example = "past(tax_per_mu, 1)" if func == "past" else "tier_count('D', 3)"
        raise ExpressionSyntaxError(f"{text!r}: {func}() takes a {'name' if func == 'past' else 'quoted tier'} "
                                    f"and a whole number of cycles from 1 to 10, as in {example}")
    return Call(func, args)


def earlier_column(node: Call) -> str:
    """The column a ``past`` or ``tier_count`` call reads (filled from earlier cycles before it is read)."""
    what, cycles = node.args[0], int(node.args[1].value)  # type: ignore[union-attr]
    return f"past{cycles}.{what.name}" if node.func == "past" else f"tier_count.{what.value}.{cycles}"  # type: ignore[union-attr]


def names(node: Node) -> set[str]:
    """Every name an expression reads (a lookup table's name included)."""
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, (Unary,)):
        return names(node.operand)
    if isinstance(node, (Binary, Compare)):
        return names(node.left) | names(node.right)
    if isinstance(node, Logic):
        return set().union(*(names(n) for n in node.operands))
    if isinstance(node, InList):
        return names(node.operand)
    if isinstance(node, Call):
        found = set().union(*(names(n) for n in node.args)) if node.args else set()
        if node.func == "has_flag":
            found.add("flags")
        return found
    return set()


# ---------------------------------------------------------------- vectorized interpreter (Polars)

Resolver = Callable[[str], pl.Expr]
TableResolver = Callable[[str], Mapping[str, float]]


def to_polars(node: Node, resolve: Resolver, tables: TableResolver) -> pl.Expr:
    """Compile a node to one Polars expression; ``resolve`` maps a name to a column or literal."""
    if isinstance(node, Num):
        return pl.lit(node.value, dtype=pl.Float64)
    if isinstance(node, Str):
        return pl.lit(node.value, dtype=pl.String)
    if isinstance(node, Name):
        return resolve(node.name)
    if isinstance(node, Unary):
        inner = to_polars(node.operand, resolve, tables)
        return -inner if node.op == "-" else ~inner
    if isinstance(node, Binary):
        left, right = to_polars(node.left, resolve, tables), to_polars(node.right, resolve, tables)
        if node.op == "/":
            quotient = left / right
            return pl.when((right != 0) & quotient.is_finite()).then(quotient).otherwise(None)
        return {"+": left + right, "-": left - right, "*": left * right}[node.op]
    if isinstance(node, Compare):
        left, right = to_polars(node.left, resolve, tables), to_polars(node.right, resolve, tables)
        return {
            "<": left < right, "<=": left <= right, ">": left > right,
            ">=": left >= right, "==": left == right, "!=": left != right,
        }[node.op]
    if isinstance(node, Logic):
        # one flat node, not a chain a & b & c ...: Polars' optimizer is slow on deep trees (Kleene logic either way)
        parts = [to_polars(n, resolve, tables) for n in node.operands]
        return pl.all_horizontal(parts) if node.op == "and" else pl.any_horizontal(parts)
    if isinstance(node, InList):
        inner = to_polars(node.operand, resolve, tables)
        member = pl.when(inner.is_null()).then(None).otherwise(inner.is_in(list(node.options)))
        return ~member if node.negate else member
    return _call_polars(node, resolve, tables)


def _call_polars(node: Call, resolve: Resolver, tables: TableResolver) -> pl.Expr:
    func = node.func
    if func in ("past", "tier_count"):
        return resolve(earlier_column(node))
    if func == "has_flag":
        flag = _literal_name(node.args[0])
        return resolve("flags").list.contains(pl.lit(flag)).fill_null(False)
    if func == "lookup":
        table = tables(_literal_name(node.args[0]))
        key = to_polars(node.args[1], resolve, tables)
        words = all(isinstance(v, str) for v in table.values())  # a table of words (industry groups)
        return key.replace_strict(list(table), list(table.values()), default=None,
                                  return_dtype=pl.String if words else pl.Float64)
    if func == "lookup_floor":
        x = to_polars(node.args[1], resolve, tables)
        chain: Any = pl
        for bound, value in sorted(floor_entries(tables(_literal_name(node.args[0]))), reverse=True):
            chain = chain.when(x >= bound).then(pl.lit(value, dtype=pl.Float64))
        return chain.otherwise(pl.lit(None, dtype=pl.Float64)) if chain is not pl else pl.lit(None, dtype=pl.Float64)
    args = [to_polars(n, resolve, tables) for n in node.args]
    if func in ("min", "max"):
        any_missing = pl.any_horizontal([a.is_null() for a in args])
        combined = pl.min_horizontal(args) if func == "min" else pl.max_horizontal(args)
        return pl.when(any_missing).then(None).otherwise(combined)
    if func == "abs":
        return args[0].abs()
    if func == "when":
        return pl.when(args[0]).then(args[1]).otherwise(args[2])
    if func == "coalesce":
        return pl.coalesce(args)
    if func == "is_missing":
        return args[0].is_null()
    if func == "round":
        digits = int(node.args[1].value) if len(node.args) > 1 and isinstance(node.args[1], Num) else 0
        return args[0].round(digits, mode="half_away_from_zero")
    raise ExpressionSyntaxError(f"unknown function {func!r}")  # unreachable after parse()


def floor_entries(table: Mapping[str, float]) -> list[tuple[float, float]]:
    """A table's (numeric key, value) pairs for ``lookup_floor``; the compiler checks the keys are numbers."""
    return [(float(key), float(value)) for key, value in table.items()]


def _literal_name(node: Node) -> str:
    return node.value if isinstance(node, Str) else node.name  # type: ignore[union-attr]


# ---------------------------------------------------------------- row interpreter (reference)


def eval_row(node: Node, env: Mapping[str, Any], tables: TableResolver) -> Any:
    """Evaluate a node for one record; ``None`` is missing. The oracle for :func:`to_polars`."""
    if isinstance(node, (Num, Str)):
        return node.value
    if isinstance(node, Name):
        return env[node.name]
    if isinstance(node, Unary):
        value = eval_row(node.operand, env, tables)
        if value is None:
            return None
        return -value if node.op == "-" else not value
    if isinstance(node, Binary):
        left, right = eval_row(node.left, env, tables), eval_row(node.right, env, tables)
        if left is None or right is None:
            return None
        if node.op == "/":
            if right == 0:
                return None
            quotient = left / right
            return quotient if math.isfinite(quotient) else None
        return {"+": left + right, "-": left - right, "*": left * right}[node.op]
    if isinstance(node, Compare):
        left, right = eval_row(node.left, env, tables), eval_row(node.right, env, tables)
        if left is None or right is None:
            return None
        return {
            "<": left < right, "<=": left <= right, ">": left > right,
            ">=": left >= right, "==": left == right, "!=": left != right,
        }[node.op]
    if isinstance(node, Logic):
        return _kleene(node.op, [eval_row(n, env, tables) for n in node.operands])
    if isinstance(node, InList):
        value = eval_row(node.operand, env, tables)
        if value is None:
            return None
        return (value in node.options) != node.negate
    return _call_row(node, env, tables)


def round_half_away(value: float, digits: int) -> float:
    """Round half away from zero, as Polars does; a value too large to carry decimals stays as it is."""
    scaled = abs(value) * 10.0**digits
    if not math.isfinite(scaled) or scaled >= 2.0**52:
        return value
    return math.copysign(math.floor(scaled + 0.5), value) / 10.0**digits


def _kleene(op: str, values: list[Any]) -> Any:
    if op == "and":
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _call_row(node: Call, env: Mapping[str, Any], tables: TableResolver) -> Any:
    func = node.func
    if func in ("past", "tier_count"):
        return env.get(earlier_column(node))
    if func == "has_flag":
        return _literal_name(node.args[0]) in (env.get("flags") or ())
    if func == "lookup":
        key = eval_row(node.args[1], env, tables)
        return tables(_literal_name(node.args[0])).get(key)
    if func == "lookup_floor":
        x = eval_row(node.args[1], env, tables)
        below = [(bound, value) for bound, value in floor_entries(tables(_literal_name(node.args[0])))
                 if x is not None and bound <= x]
        return max(below)[1] if below else None
    args = [eval_row(n, env, tables) for n in node.args]
    if func in ("min", "max"):
        return None if any(a is None for a in args) else (min(args) if func == "min" else max(args))
    if func == "abs":
        return None if args[0] is None else abs(args[0])
    if func == "when":
        return args[1] if args[0] is True else args[2]
    if func == "coalesce":
        return next((a for a in args if a is not None), None)
    if func == "is_missing":
        return args[0] is None
    if func == "round":
        return None if args[0] is None else round_half_away(args[0], int(args[1]) if len(args) > 1 else 0)
    raise ExpressionSyntaxError(f"unknown function {func!r}")

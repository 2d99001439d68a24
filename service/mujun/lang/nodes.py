"""The typed syntax tree of the pack expression language, with source spans.

Every node says where it stands in the expression text (``span``: character offsets, so an issue can
point at the column) and, once checked by :mod:`mujun.lang.types`, what it gives (``type``). Neither
takes part in equality: two trees that read the same are equal wherever they were written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Span", "Num", "Str", "Name", "Unary", "Binary", "Compare", "Logic", "InList", "Call", "Node",
           "children", "walk", "names", "calls", "literal_name", "past_column", "tier_count_column", "earlier_column",
           "NUM", "STR", "BOOL", "FLAGS"]

#: The types of the language: every expression gives one of the first three; ``flags`` is a field's.
NUM, STR, BOOL, FLAGS = "number", "string", "bool", "flags"


@dataclass(frozen=True)
class Span:
    """Characters ``start`` (inclusive) to ``end`` (exclusive) of the expression text."""

    start: int
    end: int


def _span() -> Span | None:
    return field(default=None, compare=False, kw_only=True, repr=False)  # type: ignore[return-value]


def _type() -> str | None:
    return field(default=None, compare=False, kw_only=True, repr=False)  # type: ignore[return-value]


@dataclass(frozen=True)
class Num:
    value: float
    span: Span | None = _span()
    type: str | None = _type()


@dataclass(frozen=True)
class Str:
    value: str
    span: Span | None = _span()
    type: str | None = _type()


@dataclass(frozen=True)
class Name:
    """A field, parameter, indicator, benchmark, or a dotted reference such as ``item.tax``."""

    name: str
    span: Span | None = _span()
    type: str | None = _type()


@dataclass(frozen=True)
class Unary:
    op: str  # "-" | "not"
    operand: Node
    span: Span | None = _span()
    type: str | None = _type()


@dataclass(frozen=True)
class Binary:
    op: str  # + - * /
    left: Node
    right: Node
    span: Span | None = _span()
    type: str | None = _type()


@dataclass(frozen=True)
class Compare:
    op: str  # < <= > >= == !=
    left: Node
    right: Node
    span: Span | None = _span()
    type: str | None = _type()


@dataclass(frozen=True)
class Logic:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
    span: Span | None = _span()
    type: str | None = _type()


@dataclass(frozen=True)
class InList:
    operand: Node
    options: tuple[str | float, ...]
    negate: bool
    span: Span | None = _span()
    type: str | None = _type()


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]
    span: Span | None = _span()
    type: str | None = _type()


Node = Num | Str | Name | Unary | Binary | Compare | Logic | InList | Call


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Unary, InList)):
        return (node.operand,)
    if isinstance(node, (Binary, Compare)):
        return node.left, node.right
    if isinstance(node, Logic):
        return node.operands
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Node) -> Iterator[Node]:
    """The node and every node below it, parents first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def names(node: Node) -> set[str]:
    """Every name an expression reads (a lookup table's name included; ``has_flag`` reads ``flags``)."""
    found: set[str] = set()
    for part in walk(node):
        if isinstance(part, Name):
            found.add(part.name)
        elif isinstance(part, Call) and part.func == "has_flag":
            found.add("flags")
    return found


def calls(node: Node, func: str) -> list[Call]:
    """Every call of ``func`` inside an expression, outermost first."""
    return [part for part in walk(node) if isinstance(part, Call) and part.func == func]


def literal_name(node: Node) -> str:
    """The text of a name or quoted-string argument (a table, a flag, a tier)."""
    return node.value if isinstance(node, Str) else node.name  # type: ignore[union-attr]


def past_column(name: str, cycles: int) -> str:
    return f"past{cycles}.{name}"


def tier_count_column(tier: str, cycles: int) -> str:
    return f"tier_count.{tier}.{cycles}"


def earlier_column(node: Call) -> str:
    """The column a ``past`` or ``tier_count`` call reads (filled from earlier cycles before it is read)."""
    what, cycles = literal_name(node.args[0]), int(node.args[1].value)  # type: ignore[union-attr]
    return past_column(what, cycles) if node.func == "past" else tier_count_column(what, cycles)

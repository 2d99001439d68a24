"""Parsing: expression text → the syntax tree of :mod:`mujun.lang.nodes`, with spans.

Python's own parser reads the text (``ast.parse``, never ``eval``) and only the node kinds listed
here are accepted, so no input can run code. Which functions exist, and how many arguments each
takes, is read from the one builtin table (:mod:`mujun.lang.builtins`).
"""

from __future__ import annotations

import ast
import math

from mujun.lang.builtins import BUILTINS, LITERAL_KINDS, check_literal
from mujun.lang.errors import ExpressionSyntaxError
from mujun.lang.nodes import (Binary, Call, Compare, InList, Logic, Name, Node, Num, Span, Str, Unary)

__all__ = ["parse", "MAX_CHARS", "MAX_DEPTH"]

#: An expression is a formula an editor reads, not a program: these bounds keep every interpreter
#: (Python's parser, the checker, Polars) far from its recursion and memory limits.
MAX_CHARS = 2_000
MAX_DEPTH = 64

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
    body = text.strip()
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        where = None if exc.offset is None else Span(exc.offset - 1, exc.offset)
        raise ExpressionSyntaxError(f"cannot parse {_short(text)}: {exc.msg} at column {exc.offset}",
                                    _shift(where, text, body)) from exc
    except (RecursionError, MemoryError, ValueError) as exc:  # nesting or a literal beyond the parser's limits
        raise ExpressionSyntaxError(f"cannot parse {_short(text)}: it nests too deeply or holds a number "
                                    "too long to read") from exc
    return _Converter(text, body).convert(tree.body)


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _shift(span: Span | None, text: str, body: str) -> Span | None:
    lead = len(text) - len(text.lstrip())
    return None if span is None else Span(span.start + lead, span.end + lead)


def _finite(value: int | float, text: str) -> float:
    """A literal as a float: one beyond ±1.8e308, or NaN/inf, is an error rather than a silent inf."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ExpressionSyntaxError(f"{_short(text)}: numbers must be finite (|x| < 1.8e308, not NaN or inf)")
    return number


class _Converter:
    """Python's tree → ours; ``ast`` gives UTF-8 byte columns per line, spans are character offsets."""

    def __init__(self, text: str, body: str):
        self.text = text
        self.lead = len(text) - len(text.lstrip())
        self.lines = body.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def _offset(self, lineno: int, byte_col: int) -> int:
        line = self.lines[lineno - 1]
        return self.lead + self.starts[lineno - 1] + len(line.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))

    def span(self, node: ast.AST) -> Span | None:
        if getattr(node, "end_lineno", None) is None:
            return None
        return Span(self._offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                    self._offset(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def fail(self, message: str, node: ast.AST) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(message, self.span(node))

    def convert(self, node: ast.AST, depth: int = 0) -> Node:
        text = self.text
        if depth > MAX_DEPTH:
            raise self.fail(f"{_short(text)} nests more than {MAX_DEPTH} levels deep (a sum of that many "
                            "terms counts as that deep): split it into indicators that read one another", node)
        depth += 1
        span = self.span(node)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or node.value is None:
                raise self.fail(f"{text!r}: constants true/false/None are not part of the language", node)
            if isinstance(node.value, (int, float)):
                return Num(_finite(node.value, text), span=span)
            if isinstance(node.value, str):
                return Str(node.value, span=span)
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = self._dotted(node)
            if "__" in name:
                raise self.fail(f"{text!r}: names with '__' are not allowed", node)
            return Name(name, span=span)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return Binary(_BINOPS[type(node.op)], self.convert(node.left, depth), self.convert(node.right, depth),
                          span=span)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = self.convert(node.operand, depth)
            return Num(-operand.value, span=span) if isinstance(operand, Num) else Unary("-", operand, span=span)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self.convert(node.operand, depth)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Unary("not", self.convert(node.operand, depth), span=span)
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return Logic(op, tuple(self.convert(v, depth) for v in node.values), span=span)
        if isinstance(node, ast.Compare):
            return self._compare(node, depth)
        if isinstance(node, ast.IfExp):
            args = (self.convert(node.test, depth), self.convert(node.body, depth), self.convert(node.orelse, depth))
            return Call("when", args, span=span)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self._call(node, depth)
        raise self.fail(
            f"{text!r}: '{ast.unparse(node)}' is not allowed; use numbers, names, + - * /, comparisons, "
            f"and/or/not, 'a if cond else b' and the functions {', '.join(sorted(BUILTINS))}", node
        )

    def _dotted(self, node: ast.AST) -> str:
        parts = []
        top = node
        while isinstance(node, ast.Attribute):  # a loop, not recursion: a.b.c... may be long
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            raise self.fail(f"{self.text!r}: only names may be dotted, as in item.tax", top)
        return ".".join([node.id, *reversed(parts)])

    def _compare(self, node: ast.Compare, depth: int) -> Node:
        parts: list[Node] = []
        left = self.convert(node.left, depth)
        for op, comparator in zip(node.ops, node.comparators):
            span = Span(left.span.start, self.span(comparator).end) if left.span and self.span(comparator) else None
            if isinstance(op, (ast.In, ast.NotIn)):
                parts.append(InList(left, self._constant_list(comparator, depth), isinstance(op, ast.NotIn), span=span))
                continue
            if type(op) not in _CMPOPS:
                raise self.fail(f"{self.text!r}: comparison '{ast.unparse(node)}' is not allowed", node)
            right = self.convert(comparator, depth)
            parts.append(Compare(_CMPOPS[type(op)], left, right, span=span))
            left = right
        return parts[0] if len(parts) == 1 else Logic("and", tuple(parts), span=self.span(node))

    def _constant_list(self, node: ast.AST, depth: int) -> tuple[str | float, ...]:
        if not isinstance(node, (ast.Tuple, ast.List)):
            raise self.fail(f"{self.text!r}: 'in' needs a list of constants, as in industry in ('44', '45')", node)
        values: list[str | float] = []
        for element in node.elts:
            converted = self.convert(element, depth)
            if not isinstance(converted, (Num, Str)):
                raise self.fail(f"{self.text!r}: 'in' lists may hold only numbers and strings", element)
            values.append(converted.value)
        return tuple(values)

    def _call(self, node: ast.Call, depth: int) -> Node:
        func = node.func.id  # type: ignore[attr-defined]
        builtin = BUILTINS.get(func)
        if builtin is None:
            raise self.fail(f"{self.text!r}: unknown function {func!r}; available: {', '.join(sorted(BUILTINS))}",
                            node.func)
        count = len(node.args)
        if not builtin.takes(count):
            raise self.fail(f"{self.text!r}: {func}() takes {builtin.arity_text()} arguments, got {count}", node)
        args = tuple(self.convert(a, depth) for a in node.args)
        for kind, arg in zip(builtin.kinds(count), args):
            if kind in LITERAL_KINDS and (problem := check_literal(builtin, kind, arg)) is not None:
                raise ExpressionSyntaxError(f"{self.text!r}: {problem}", arg.span)
        return Call(func, args, span=self.span(node))

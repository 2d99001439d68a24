"""Type checking: a parsed expression and the names in scope → the same tree with every node typed.

Types are ``number``, ``string`` and ``bool`` (``flags`` only as a field's). Calls are checked
against their signature in the builtin table; a mismatch raises :class:`ExpressionTypeError` with
the span of the part at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mujun.lang.builtins import BUILTINS
from mujun.lang.errors import ExpressionTypeError
from mujun.lang.nodes import BOOL, NUM, STR, Binary, Call, Compare, InList, Logic, Name, Node, Num, Str, Unary

__all__ = ["check"]

Tables = Mapping[str, Mapping[str, Any]]
_WANT = {NUM: "a number", STR: "a string", BOOL: "a condition"}


def check(node: Node, scope: Mapping[str, str], tables: Tables) -> Node:
    """``node`` with its type and its parts' types set; every name must be in ``scope`` or ``tables``."""
    return _Checker(scope, tables).check(node)


class _Checker:
    def __init__(self, scope: Mapping[str, str], tables: Tables):
        self.scope, self.tables = scope, tables

    def fail(self, message: str, node: Node) -> ExpressionTypeError:
        return ExpressionTypeError(message, node.span)

    def check(self, node: Node) -> Node:
        if isinstance(node, Num):
            return replace(node, type=NUM)
        if isinstance(node, Str):
            return replace(node, type=STR)
        if isinstance(node, Name):
            if node.name in self.tables:
                raise self.fail(f"{node.name} is a table; read it with lookup({node.name}, key)", node)
            return replace(node, type=self.scope[node.name])
        if isinstance(node, Unary):
            inner = self.check(node.operand)
            want = NUM if node.op == "-" else BOOL
            if inner.type != want:
                raise self.fail(f"'{node.op}' needs a {want}, got a {inner.type}", node)
            return replace(node, operand=inner, type=want)
        if isinstance(node, Binary):
            left, right = self.check(node.left), self.check(node.right)
            for side in (left, right):
                if side.type != NUM:
                    raise self.fail(f"'{node.op}' needs numbers, got a {side.type}", side)
            return replace(node, left=left, right=right, type=NUM)
        if isinstance(node, Compare):
            left, right = self.check(node.left), self.check(node.right)
            if left.type != right.type or left.type not in (NUM, STR):
                raise self.fail(f"cannot compare a {left.type} with a {right.type}", node)
            return replace(node, left=left, right=right, type=BOOL)
        if isinstance(node, Logic):
            parts = tuple(self.check(part) for part in node.operands)
            for part in parts:
                if part.type != BOOL:
                    raise self.fail(f"'{node.op}' needs conditions, got a {part.type}", part)
            return replace(node, operands=parts, type=BOOL)
        if isinstance(node, InList):
            inner = self.check(node.operand)
            kinds = {NUM if isinstance(o, float) else STR for o in node.options}
            if kinds and kinds != {inner.type}:
                raise self.fail(f"'in' compares a {inner.type} with a list of {'/'.join(sorted(kinds))}", node)
            return replace(node, operand=inner, type=BOOL)
        return self._call(node)

    def _call(self, node: Call) -> Node:
        builtin = BUILTINS[node.func]
        args: list[Node] = []
        bound: str | None = None  # the type of T in this call
        for i, (kind, arg) in enumerate(zip(builtin.kinds(len(node.args)), node.args), start=1):
            typed = self._argument(builtin.name, kind, arg)
            if kind == "T":
                if bound is not None and typed.type != bound:
                    raise self.fail(f"{builtin.name}() arguments must have one type, got a {bound} and a {typed.type}",
                                    typed)
                bound = typed.type
            elif kind in _WANT and typed.type != kind:
                raise self.fail(f"{builtin.name}() needs {_WANT[kind]} as argument {i}, got a {typed.type}", typed)
            args.append(typed)
        if builtin.rule is not None and (problem := builtin.rule(tuple(args), self.tables)) is not None:
            raise self.fail(problem, node)
        return replace(node, args=tuple(args), type=self._result(builtin.result, bound, args))

    def _argument(self, func: str, kind: str, arg: Node) -> Node:
        if kind == "table":  # a table is named, not read as a value
            if not isinstance(arg, Name) or arg.name not in self.tables:
                raise self.fail(f"{func}() needs a table parameter first; tables: {', '.join(self.tables) or 'none'}",
                                arg)
            return arg
        typed = self.check(arg)
        if kind == "field" and typed.type != NUM:
            raise self.fail(f"{func}() reads a number field or indicator, got a {typed.type}", arg)
        return typed

    def _result(self, result: str, bound: str | None, args: list[Node]) -> str:
        if result == "T":
            return bound  # type: ignore[return-value]
        if result == "table":
            table = self.tables[args[0].name]  # type: ignore[union-attr]
            return STR if all(isinstance(v, str) for v in table.values()) else NUM
        return result

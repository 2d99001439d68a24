"""Row evaluation: one expression for one record, in plain Python — the reference's interpreter.

The null rules (also those of the vectorized lowering in ``engine.lower``, which must agree):

- arithmetic and comparisons with a missing operand give missing; ``x / 0`` gives missing, and so
  does a quotient too large to be a number (``x / 1e-320``);
- ``and`` / ``or`` follow three-valued logic; a missing condition counts as false in ``when``;
- each function's own rule is in its entry of the builtin table (:mod:`mujun.lang.builtins`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from mujun.lang.builtins import BUILTINS, LITERAL_KINDS, literal_argument
from mujun.lang.nodes import Binary, Call, Compare, InList, Logic, Name, Node, Num, Str, Unary

__all__ = ["eval_row", "TableResolver"]

TableResolver = Callable[[str], Mapping[str, Any]]


def eval_row(node: Node, env: Mapping[str, Any], tables: TableResolver) -> Any:
    """Evaluate a node for one record; ``None`` is missing."""
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
    return _call(node, env, tables)


def _kleene(op: str, values: list[Any]) -> Any:
    if op == "and":
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _call(node: Call, env: Mapping[str, Any], tables: TableResolver) -> Any:
    builtin = BUILTINS[node.func]
    args = [literal_argument(kind, arg, tables) if kind in LITERAL_KINDS else eval_row(arg, env, tables)
            for kind, arg in zip(builtin.kinds(len(node.args)), node.args)]
    return builtin.row(args, env)

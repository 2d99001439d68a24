"""Formulas as text: a pack expression written out, plain or with each name's value filled in.

The explanation reads "税收 −30 万元 ÷ 用地 60 亩" to the applicant; the same walk writes the bare
formula (``emissions_t``) into an error message. Only the parsed tree is read, never re-evaluated.
"""

from __future__ import annotations

from collections.abc import Callable

from mujun import lang as ex

__all__ = ["render"]

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}
_SHOWN = {"*": "×", "/": "÷", "-": "−", "<=": "≤", ">=": "≥", "!=": "≠"}


def render(node: ex.Node, word: Callable[[str], str] | None = None, symbols: bool = False) -> str:
    """The expression as text; ``word`` turns a name into what is printed (its label and value).

    >>> render(ex.parse("(a + b) / c"))
    '(a + b) / c'
    >>> render(ex.parse("a * b"), lambda n: n.upper(), symbols=True)
    'A × B'
    """
    text, _ = _walk(node, word or (lambda name: name), symbols)
    return text


def _op(op: str, symbols: bool) -> str:
    return _SHOWN.get(op, op) if symbols else op


def _wrap(part: tuple[str, int], floor: int) -> str:
    text, level = part
    return f"({text})" if level < floor else text


def _walk(node: ex.Node, word: Callable[[str], str], symbols: bool) -> tuple[str, int]:
    if isinstance(node, ex.Num):
        value = node.value
        return (str(int(value)) if float(value).is_integer() else repr(value)), 9
    if isinstance(node, ex.Str):
        return repr(node.value), 9
    if isinstance(node, ex.Name):
        return word(node.name), 9
    if isinstance(node, ex.Unary):
        if node.op == "-":
            return f"-{_wrap(_walk(node.operand, word, symbols), _PRECEDENCE['neg'])}", _PRECEDENCE["neg"]
        return f"not {_wrap(_walk(node.operand, word, symbols), _PRECEDENCE['not'])}", _PRECEDENCE["not"]
    if isinstance(node, ex.Binary):
        level = _PRECEDENCE[node.op]
        left = _wrap(_walk(node.left, word, symbols), level)
        right = _wrap(_walk(node.right, word, symbols), level + 1)  # a - (b - c) keeps its brackets
        return f"{left} {_op(node.op, symbols)} {right}", level
    if isinstance(node, ex.Compare):
        level = _PRECEDENCE["cmp"]
        left, right = (_wrap(_walk(n, word, symbols), level + 1) for n in (node.left, node.right))
        return f"{left} {_op(node.op, symbols)} {right}", level
    if isinstance(node, ex.Logic):
        level = _PRECEDENCE[node.op]
        return f" {node.op} ".join(_wrap(_walk(n, word, symbols), level + 1) for n in node.operands), level
    if isinstance(node, ex.InList):
        options = ", ".join(repr(o) for o in node.options)
        return f"{_wrap(_walk(node.operand, word, symbols), 5)} {'not in' if node.negate else 'in'} ({options})", 4
    args = ", ".join(_walk(a, word, symbols)[0] for a in node.args)
    return f"{node.func}({args})", 9

"""Errors of the expression language; each may say where in the expression text it is (``span``).

The compiler turns them into pack issues at the expression's YAML path (with line and column)."""

from __future__ import annotations

from mujun.lang.nodes import Span

__all__ = ["LanguageError", "ExpressionSyntaxError", "ExpressionTypeError"]


class LanguageError(ValueError):
    """An expression the language refuses; ``span`` locates the part at fault, when known."""

    def __init__(self, message: str, span: Span | None = None):
        super().__init__(message)
        self.span = span


class ExpressionSyntaxError(LanguageError):
    """An expression that cannot be parsed or uses something outside the language."""


class ExpressionTypeError(LanguageError):
    """An expression whose parts do not fit: a string added to a number, a table read as a value …"""

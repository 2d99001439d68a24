"""The pack expression language: parse → typed syntax tree with spans → type check; row evaluation.

Policy editors write formulas such as ``tax_wan / land_mu`` or ``when(size_class == 'above', 1, 0)``.
:func:`parse` reads them (never ``eval``), :func:`check` types them against the names in scope, and
:func:`eval_row` evaluates one record (the reference). Every builtin function is one entry of
:data:`BUILTINS`. The language knows nothing of Polars or of the engine: ``engine.lower`` turns a
checked tree into Polars expressions, by each builtin's lowering name.
"""

from mujun.lang.builtins import (BUILTINS, LITERAL_KINDS, MAX_ROUND_DIGITS, Builtin, floor_entries, integer_keyed,
                                 literal_argument, round_half_away, table_key)
from mujun.lang.errors import ExpressionSyntaxError, ExpressionTypeError, LanguageError
from mujun.lang.nodes import (BOOL, FLAGS, NUM, STR, Binary, Call, Compare, InList, Logic, Name, Node, Num, Span, Str,
                              Unary, calls, children, earlier_column, literal_name, names, past_column,
                              tier_count_column, walk)
from mujun.lang.parse import MAX_CHARS, MAX_DEPTH, parse
from mujun.lang.row import TableResolver, eval_row
from mujun.lang.types import check

__all__ = [
    "parse", "check", "eval_row", "names", "calls", "children", "walk", "literal_name", "earlier_column",
    "past_column", "tier_count_column", "literal_argument", "floor_entries", "round_half_away", "table_key", "integer_keyed",
    "LITERAL_KINDS", "Node", "Num", "Str", "Name", "Unary", "Binary", "Compare", "Logic", "Call", "InList", "Span",
    "NUM", "STR", "BOOL", "FLAGS", "Builtin", "BUILTINS", "MAX_ROUND_DIGITS", "MAX_CHARS", "MAX_DEPTH",
    "LanguageError", "ExpressionSyntaxError", "ExpressionTypeError", "TableResolver",
]

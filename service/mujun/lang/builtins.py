"""The builtin functions of the pack language: each declared once, in :data:`BUILTINS`.

An entry holds everything about one function: its name, its signature (argument kinds, how many
may be left out or repeated, the result type), the row-by-row implementation (the reference's),
the name of its vectorized lowering (``engine.lower`` implements each name), and the line the
language reference prints. The parser reads arities here, the type checker signatures, the row
evaluator ``row``; nothing else lists the functions.

Argument kinds: ``number`` / ``string`` / ``bool`` (a value of that type), ``T`` (any type, the
same for every ``T`` of the call; a result ``T`` has it too), ``any`` (a value of any type), and
*literals* written in the text itself: ``table`` (a table parameter's name), ``flag`` and ``tier``
(quoted words), ``field`` (a name), ``cycles`` (a whole number from 1 to 10), ``digits`` (0 to 15).
A row implementation receives values (``None`` is missing) and, for a literal, the literal itself
(a table as its mapping); ``env`` is the record.

Adding a builtin: one entry below, its Polars lowering under the entry's ``lowering`` name in
``engine.lower.LOWERINGS`` (the language does not import Polars), its line in docs/pack-language.md;
tests/test_expressions.py fails while any of the three is missing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mujun.lang.nodes import BOOL, NUM, Name, Node, Num, Str, literal_name, past_column, tier_count_column

__all__ = ["Builtin", "BUILTINS", "LITERAL_KINDS", "MAX_ROUND_DIGITS", "check_literal", "literal_argument", "table_key",
           "integer_keyed", "floor_entries", "round_half_away"]

#: A float64 carries about 15 significant digits: more decimals than that cannot be rounded to.
MAX_ROUND_DIGITS = 15
LITERAL_KINDS = frozenset({"table", "flag", "tier", "field", "cycles", "digits"})
Row = Callable[[list[Any], Mapping[str, Any]], Any]
#: A type rule beyond the signature: (the call's checked arguments, the tables) → a problem, or None.
Rule = Callable[[tuple[Node, ...], Mapping[str, Mapping[str, Any]]], str | None]


@dataclass(frozen=True)
class Builtin:
    name: str
    params: tuple[str, ...]
    result: str  # number | string | bool | T | table (the value type of the table argument)
    row: Row
    lowering: str  # the name engine.lower implements it under
    doc: str  # one line for the language reference
    example: str
    optional: int = 0  # how many trailing params may be left out
    rest: str | None = None  # the kind of any further arguments (min(a, b, c …))
    rule: Rule | None = None

    def takes(self, count: int) -> bool:
        low = len(self.params) - self.optional
        return count >= low and (self.rest is not None or count <= len(self.params))

    def arity_text(self) -> str:
        low, high = len(self.params) - self.optional, len(self.params)
        return f"{low}+" if self.rest is not None else str(low) if low == high else f"{low}-{high}"

    def kinds(self, count: int) -> tuple[str, ...]:
        """The kind of each of ``count`` arguments."""
        return self.params[:count] + (self.rest,) * max(0, count - len(self.params))  # type: ignore[operator]


def check_literal(builtin: Builtin, kind: str, arg: Node) -> str | None:
    """What is wrong with a literal argument as written, or None."""
    whole = isinstance(arg, Num) and arg.value == int(arg.value)
    ok = {"table": isinstance(arg, Name), "field": isinstance(arg, Name), "flag": isinstance(arg, Str),
          "tier": isinstance(arg, Str), "cycles": whole and 1 <= arg.value <= 10,  # type: ignore[union-attr]
          "digits": whole and 0 <= arg.value <= MAX_ROUND_DIGITS}[kind]  # type: ignore[union-attr]
    if ok:
        return None
    if kind == "digits":
        return f"round() takes a whole number of digits from 0 to {MAX_ROUND_DIGITS}, as in {builtin.example}"
    if kind == "table":
        return f"{builtin.name}() needs a table parameter first, as in {builtin.example}"
    if kind == "flag":
        return f"{builtin.name}() takes a quoted flag, as in {builtin.example}"
    what = "a name" if builtin.params[0] == "field" else "a quoted tier"
    return f"{builtin.name}() takes {what} and a whole number of cycles from 1 to 10, as in {builtin.example}"


def literal_argument(kind: str, arg: Node, tables: Callable[[str], Mapping[str, Any]]) -> Any:
    """What an implementation receives for a literal argument: a table's mapping, a whole number, a word."""
    if kind == "table":
        return tables(literal_name(arg))
    if kind in ("cycles", "digits"):
        return int(arg.value)  # type: ignore[union-attr]
    return literal_name(arg)


# ---------------------------------------------------------------- helpers the implementations share

#: A table read with a number key has whole-number keys as written text, at most 15 digits (exact in a float).
_INTEGER_KEY = re.compile(r"-?(0|[1-9][0-9]{0,14})")
_INTEGER_LIMIT = 1e15


def integer_keyed(table: Mapping[str, Any]) -> bool:
    return all(_INTEGER_KEY.fullmatch(key) for key in table)


def table_key(value: Any) -> str | None:
    """The key ``lookup`` reads for a value: text as it is; a whole number as its digits (1.0 → "1"),
    any other number as written (never a key of a whole-number table: missing, and recorded)."""
    if value is None or isinstance(value, str):
        return value
    if float(value).is_integer() and abs(value) < _INTEGER_LIMIT:
        return str(int(value))
    return str(float(value))


def floor_entries(table: Mapping[str, float]) -> list[tuple[float, float]]:
    """A table's (numeric key, value) pairs for ``lookup_floor``; the checker makes sure the keys are numbers."""
    return [(float(key), float(value)) for key, value in table.items()]


def round_half_away(value: float, digits: int) -> float:
    """Round half away from zero, as Polars does; a value too large to carry decimals stays as it is."""
    scaled = abs(value) * 10.0**digits
    if not math.isfinite(scaled) or scaled >= 2.0**52:
        return value
    return math.copysign(math.floor(scaled + 0.5), value) / 10.0**digits


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- row implementations


def _strict(fn: Callable[..., Any]) -> Row:
    """Missing in, missing out: the rule of every numeric function."""
    return lambda args, env: None if any(a is None for a in args) else fn(*args)


def _lookup(args: list[Any], env: Mapping[str, Any]) -> Any:
    table, key = args
    return table.get(table_key(key))


def _lookup_floor(args: list[Any], env: Mapping[str, Any]) -> Any:
    table, x = args
    below = [(bound, value) for bound, value in floor_entries(table) if x is not None and bound <= x]
    return max(below)[1] if below else None


# ---------------------------------------------------------------- type rules beyond the signature


def _lookup_rule(args: tuple[Node, ...], tables: Mapping[str, Mapping[str, Any]]) -> str | None:
    table, key = args[0].name, args[1]  # type: ignore[union-attr]
    if key.type == NUM and not integer_keyed(tables[table]):
        bad = next(k for k in tables[table] if not _INTEGER_KEY.fullmatch(k))
        return (f"lookup({table}, …) reads a number key, so every key of {table} must be a whole number such as "
                f"\"1\" or \"2024\"; {bad!r} is not: key the table by text and give a text key, or use lookup_floor")
    return None


def _lookup_floor_rule(args: tuple[Node, ...], tables: Mapping[str, Mapping[str, Any]]) -> str | None:
    table = args[0].name  # type: ignore[union-attr]
    if not all(_is_number(key) and not isinstance(v, str) for key, v in tables[table].items()):
        return f"lookup_floor() needs a table keyed by numbers (years, bounds); {table} is not"
    return None


BUILTINS: dict[str, Builtin] = {b.name: b for b in (
    Builtin("min", ("number", "number"), NUM, _strict(min), "min", "smallest argument; missing if any is missing",
            "min(a, b)", rest="number"),
    Builtin("max", ("number", "number"), NUM, _strict(max), "max", "largest argument; missing if any is missing",
            "max(a, b)", rest="number"),
    Builtin("abs", ("number",), NUM, _strict(abs), "abs", "absolute value", "abs(x)"),
    Builtin("clamp", ("number", "number", "number"), NUM, _strict(lambda x, lo, hi: min(max(x, lo), hi)), "clamp",
            "x held between lo and hi (hi wins when lo > hi); missing if any argument is missing", "clamp(x, 0, 100)"),
    Builtin("when", ("bool", "T", "T"), "T", lambda a, env: a[1] if a[0] is True else a[2], "when",
            "b if the condition holds, else c (a missing condition counts as false); also written 'b if cond else c'",
            "when(cond, b, c)"),
    Builtin("coalesce", ("T", "T"), "T", lambda a, env: next((v for v in a if v is not None), None), "coalesce",
            "first argument that is not missing", "coalesce(a, b)", rest="T"),
    Builtin("is_missing", ("any",), BOOL, lambda a, env: a[0] is None, "is_missing", "true when the value is missing",
            "is_missing(x)"),
    Builtin("has_flag", ("flag",), BOOL, lambda a, env: a[0] in (env.get("flags") or ()), "has_flag",
            "true when the record's flags hold the flag (never missing)", "has_flag('high_tech')"),
    Builtin("round", ("number", "digits"), NUM,
            lambda a, env: None if a[0] is None else round_half_away(a[0], a[1] if len(a) > 1 else 0), "round",
            "round half away from zero to 0-15 decimals (default 0)", "round(x, 2)", optional=1),
    Builtin("lookup", ("table", "any"), "table", _lookup, "lookup",
            "table entry for a key; missing for an unknown key, recorded as a fact; a number key reads a table "
            "keyed by whole numbers (1 → \"1\")", "lookup(rate, industry)", rule=_lookup_rule),
    Builtin("lookup_floor", ("table", "number"), NUM, _lookup_floor, "lookup_floor",
            "entry with the largest numeric key ≤ x (\"0.30 from 2021 on\"); missing below the first key",
            "lookup_floor(rate_by_year, cycle)", rule=_lookup_floor_rule),
    Builtin("past", ("field", "cycles"), NUM, lambda a, env: env.get(past_column(a[0], a[1])), "earlier",
            "the same firm's value k cycles back (indicators only)", "past(tax_per_mu, 1)"),
    Builtin("tier_count", ("tier", "cycles"), NUM, lambda a, env: env.get(tier_count_column(a[0], a[1])), "earlier",
            "cycles of the last n (this one included) in the tier (measures and checks)", "tier_count('D', 3)"),
)}

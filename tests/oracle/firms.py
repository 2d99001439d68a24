"""The oracle's first stages, record by record: cells read into values (and errors), derived groups,
scope, a firm's earlier cycles, indicators."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from typing import Any

from mujun import lang as ex
from mujun.packs.fields import BOOLEAN_VALUES, CANONICAL_FIELDS, FLAG_VALUES, ID_FIELD, normalise_value

from oracle.figures import float_text
from oracle.rules import FieldRule, Rules

OK, UNRATED, ERROR = "ok", "unrated", "error"
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$")
_MAGNITUDES = {"万": 1e4, "亿": 1e8}


def read_number(cell: Any) -> tuple[float | None, bool]:
    """(value, readable): ``1,234.5``, full-width digits and ``12.3万`` are numbers; ``n/a`` is not."""
    if cell is None:
        return None, True
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return (None if math.isnan(cell) else float(cell)), True
    text = re.sub(r"[\s,_]", "", unicodedata.normalize("NFKC", str(cell))).casefold()
    if not text:
        return None, True
    magnitude = _MAGNITUDES.get(text[-1], 1.0)
    digits = text[:-1] if magnitude != 1.0 else text
    return (float(digits) * magnitude, True) if _PLAIN_NUMBER.match(digits) else (None, False)


def _written_forms(rules: Rules, spec: FieldRule) -> dict[str, str]:
    """Written form (normalised) → the value rules compare with: 规上 → above, 是 → yes."""
    forms: dict[str, str] = {}
    if spec.allowed and set(spec.allowed) <= {"yes", "no"}:
        forms.update(BOOLEAN_VALUES)
    if spec.name in CANONICAL_FIELDS:
        forms.update(CANONICAL_FIELDS[spec.name].values)
    if spec.name in rules.pack.inputs:
        forms.update(rules.pack.inputs[spec.name].value_aliases)
    forms.update({a: a for a in spec.allowed or ()})
    return {normalise_value(k): v for k, v in forms.items()}


def _read_field(rules: Rules, spec: FieldRule, cell: Any) -> tuple[Any, list[str]]:
    """One field of one record: its value and what is wrong with it, in words naming field and value."""
    name, problems = spec.name, []
    if spec.type == "flags":
        return [FLAG_VALUES.get(str(f), str(f)) for f in (cell or [])], []
    if spec.type == "number":
        value, readable = read_number(cell)
        if not readable:
            return None, [f"{name}: not a number: '{str(cell).strip()}'"]
        if spec.require != "optional" and value is None:
            problems.append(f"{name}: missing required value")
        if spec.require == "positive" and value is not None and value <= 0:
            problems.append(f"{name}: must be > 0, got {float_text(value)}")
        if spec.require == "non_negative" and value is not None and value < 0:
            problems.append(f"{name}: must be ≥ 0, got {float_text(value)}")
        return value, problems
    text = None if cell is None or not str(cell).strip() else str(cell).strip()
    if text is not None and name != ID_FIELD:
        text = _written_forms(rules, spec).get(normalise_value(text), text)
    if spec.require != "optional" and text is None:
        problems.append(f"{name}: missing required value")
    allowed = spec.allowed or (tuple(rules.tier_names) if name == "tier" else ())
    if allowed and text is not None and text not in allowed:
        problems.append(f"{name}: '{text}' is not one of {', '.join(allowed)}")
    return text, problems


def read_records(rules: Rules, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One env per record: parameters, the fields the pack reads, ``status`` and ``error``."""
    ids = Counter(str(r[ID_FIELD]).strip() for r in records if r.get(ID_FIELD) is not None and str(r[ID_FIELD]).strip())
    rows = []
    for record in records:
        env: dict[str, Any] = dict(rules.numbers)
        problems: list[str] = []
        for name, spec in rules.fields.items():
            env[name], wrong = _read_field(rules, spec, record.get(name))
            problems += wrong
        ident = env[ID_FIELD]
        if ident is not None and ids[ident] > 1:  # every row of a repeated id: the bureau must say which is right
            problems.append(f"{ID_FIELD}: duplicate '{ident}' ({ids[ident]} rows share it)")
        env.update(status=ERROR if problems else OK, error="; ".join(problems) or None, reason=None, scope_tier=None)
        rows.append(env)
    return _derive_groups(rules, rows)


def _derive_groups(rules: Rules, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each derived group from its code's table; a good record whose code the table lacks is an error."""
    for env in rows:
        for name, group in rules.pack.groups.items():
            code = env.get(group.key)
            key = code[: group.prefix] if code is not None and group.prefix else code
            env[name] = rules.tables[group.table].get(key) if key is not None else None
            if env[name] is not None or env["status"] != OK:
                continue
            if code is None:
                error = f"{group.key} missing: no {name} (table {group.table})"
            else:
                shown = f" (its first {group.prefix}: '{key}')" if group.prefix else ""
                error = f"{group.key} '{code}'{shown} is not a key of table {group.table} (for {name})"
            env.update(status=ERROR, error=error)
    return rows


def apply_scope(rules: Rules, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first scope rule a good record meets makes it unrated, with the rule's reason (and tier)."""
    for env in rows:
        for i, rule in enumerate(rules.pack.scope):
            if env["status"] == OK and rules.holds(f"scope.{i}.when", env):
                env.update(status=UNRATED, reason=rule.reason, scope_tier=rule.tier)
                break
    return rows


def split_years(prior: list[dict[str, Any]] | None, cycle: int | None) -> tuple[list | None, dict[int, list]]:
    """(the most recent earlier cycle, each earlier cycle by how many cycles back); without a ``cycle``
    key all of ``prior`` is the cycle just before."""
    if prior is None or not any("cycle" in r for r in prior):
        return prior, ({} if prior is None else {1: prior})
    now = cycle if cycle is not None else max(int(r["cycle"]) for r in prior) + 1
    split: dict[int, list] = defaultdict(list)
    for record in prior:
        if int(record["cycle"]) < now:
            split[now - int(record["cycle"])].append({k: v for k, v in record.items() if k != "cycle"})
    return (split[min(split)] if split else []), dict(split)


def earlier_values(rules: Rules, rows: list[dict[str, Any]], years: dict[int, list]) -> list[dict[str, Any]]:
    """``past(x, k)``: x of the same firm k cycles back, from its good record that cycle (else missing)."""
    for call in rules.calls("past", ("indicators.",)):
        name, back = call.args[0].name, int(call.args[1].value)  # type: ignore[union-attr]
        then = compute_indicators(rules, no_past(rules, read_records(rules, years.get(back, []))))
        found = {env[ID_FIELD]: env.get(name) for env in then if env["status"] != ERROR and env[ID_FIELD] is not None}
        for env in rows:
            env[ex.earlier_column(call)] = found.get(env[ID_FIELD])
    return rows


def no_past(rules: Rules, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An earlier cycle's own records read no further back: their ``past`` values are missing."""
    for call in rules.calls("past", ("indicators.",)):
        for env in rows:
            env[ex.earlier_column(call)] = None
    return rows


def compute_indicators(rules: Rules, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Indicators in declaration order; ``a / b`` with a zero-denominator policy records b = 0 with a > 0."""
    for env in rows:
        problems = []
        for name, indicator in rules.pack.indicators.items():
            env[name] = rules.value(f"indicators.{name}", env)
            if indicator.zero_denominator is None:
                continue
            quotient = rules.exprs[f"indicators.{name}"]
            top, bottom = (ex.eval_row(side, env, rules.tables.__getitem__)
                           for side in (quotient.left, quotient.right))  # type: ignore[union-attr]
            env[f"zero.{name}"] = bottom == 0 and top is not None and top > 0
            if env[f"zero.{name}"] and indicator.zero_denominator == "error":
                label = f" ({indicator.label})" if indicator.label else ""
                problems.append(f"{written(quotient.right)} is 0: indicator {name}{label} is undefined")  # type: ignore[union-attr]
        if problems and env["status"] == OK:
            env.update(status=ERROR, error="; ".join(problems))
    return rows


def written(node: ex.Node) -> str:
    """An expression written out as in the pack (enough for a denominator: names, numbers, arithmetic)."""
    if isinstance(node, ex.Name):
        return node.name
    if isinstance(node, ex.Num):
        return str(int(node.value)) if float(node.value).is_integer() else repr(node.value)
    if isinstance(node, ex.Binary):
        def side(part: ex.Node, right: bool) -> str:
            text = written(part)
            loose = isinstance(part, ex.Binary) and (
                (part.op in "+-" and node.op in "*/") or (right and _LEVEL[part.op] == _LEVEL[node.op]))
            return f"({text})" if loose else text
        return f"{side(node.left, False)} {node.op} {side(node.right, True)}"
    if isinstance(node, ex.Call):
        return f"{node.func}({', '.join(written(a) for a in node.args)})"
    raise NotImplementedError(f"the oracle writes no {type(node).__name__} in a message")


_LEVEL = {"+": 1, "-": 1, "*": 2, "/": 2}

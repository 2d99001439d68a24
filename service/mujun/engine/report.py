"""The run report: what became of every input column, what an absent field costs, errors by cause.

These are the statements a run must carry so that nothing is lost in silence: a column not used is
listed as such, a field the pack reads but nobody gave is stated with its consequence for every
firm, and record errors are counted by cause with an example, so 300 identical errors read as one.
"""

from __future__ import annotations

import re
from collections import Counter

import polars as pl

from mujun.engine.compile import Plan
from mujun.engine.headers import NOT_NEEDED, NOT_RECOGNISED, USED
from mujun.engine.intake import Intake
from mujun import lang as ex
from mujun.packs.fields import ID_FIELD

__all__ = ["column_lines", "absent_lines", "error_groups", "input_notes"]

_VARIABLE = re.compile(r"'[^']*'|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def column_lines(intake: Intake) -> list[str]:
    """One line per input column, grouped as used / not needed / not recognised."""
    lines = []
    for status, head in ((USED, "used"), (NOT_NEEDED, "not needed by this pack"), (NOT_RECOGNISED, "not recognised")):
        uses = [c for c in intake.columns if c.status == status]
        if uses:
            lines.append(f"columns {head} ({len(uses)}): " + "; ".join(c.describe().split(": ", 1)[1]
                                                                      if len(intake.sources) == 1 else c.describe()
                                                                      for c in uses))
    return lines


def _shown(node: ex.Node, plan: Plan) -> str:
    """An expression as a person reads it, parameters with their values."""
    if isinstance(node, ex.Num):
        return f"{node.value:g}"
    if isinstance(node, ex.Name):
        return f"{node.name} ({plan.numbers[node.name]:g})" if node.name in plan.numbers else node.name
    if isinstance(node, ex.Binary):
        op = {"*": "×", "/": "÷"}.get(node.op, node.op)
        return f"{_shown(node.left, plan)} {op} {_shown(node.right, plan)}"
    if isinstance(node, ex.Call):
        return f"{node.func}({', '.join(_shown(a, plan) for a in node.args)})"
    return "an expression"


def _consequences(plan: Plan, name: str, absent: set[str]) -> list[str]:
    """What a field missing for every firm does: indicators in order (a missing one makes those that
    read it missing, ``coalesce`` falls back), then the items, rules and measures that read them."""
    pack = plan.pack
    said: list[str] = []
    gone = {name}  # this field and the indicators it leaves missing
    for indicator in plan.indicators:
        key, node = indicator.name, indicator.expr.node
        if not ex.names(node) & gone:
            continue
        if isinstance(node, ex.Call) and node.func == "coalesce":
            others = [a for a in node.args if not ex.names(a) & (gone | absent)]
            if others:
                said.append(f"indicator {key} = {_shown(others[0], plan)}")
                continue
        gone.add(key)
        said.append(f"indicator {key} is missing")
    for key, item in pack.items.items():
        if item.indicator in gone:
            said.append(f"item {key}: '{item.missing}' policy for a missing value")
    for path, node in plan.exprs.items():
        section, _, rest = path.partition(".")
        if section == "indicators" or not ex.names(node) & gone:
            continue
        key = rest.split(".")[0]
        if section == "scope":
            said.append(f"scope rule '{pack.scope[int(key)].reason}' cannot match (a missing condition is false)")
        elif section == "adjustments":
            said.append(f"adjustment {pack.adjustments[int(key)].name} never applies")
        elif section == "items":
            said.append(f"item {key}: '{pack.items[key].missing}' policy for a missing value")
        elif section == "measures":
            said.append(f"measure {key} is missing")
        else:
            said.append(f"{path} reads it as missing")
    return list(dict.fromkeys(said))


def absent_lines(intake: Intake, plan: Plan, rows: int) -> list[str]:
    """A statement for each field the pack reads that no input gave, with its consequence."""
    absent = {f for f in plan.inputs if f not in intake.given_by and f != ID_FIELD}
    lines = []
    for name in sorted(absent):
        effects = _consequences(plan, name, absent) or ["no rule reads it directly"]
        lines.append(f"{name} absent: all {rows:,} firms scored with " + "; ".join(effects))
    return lines


def error_groups(table: pl.DataFrame, limit: int = 10) -> list[str]:
    """Record errors by cause (the message with its values masked): count and one example each."""
    if "error" not in table.columns:
        return []
    errors = table["error"].drop_nulls()
    if errors.is_empty():
        return []
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    values: dict[str, set[str]] = {}
    counted = errors.value_counts(name="n").sort(["n", "error"], descending=[True, False])
    for message, n in counted.iter_rows():  # most frequent first: the example is the commonest form
        for part in message.split("; "):
            cause = _VARIABLE.sub("…", part)
            counts[cause] += n
            example.setdefault(cause, part)
            values.setdefault(cause, set()).add(part)
    lines = []
    for cause, n in counts.most_common(limit):
        more = f" (and {len(values[cause]) - 1} other value(s))" if len(values[cause]) > 1 else ""
        lines.append(f"{n:,} record(s): {example[cause]}{more}")
    if len(counts) > limit:
        lines.append(f"… and {len(counts) - limit} more cause(s)")
    return lines


def input_notes(intake: Intake, plan: Plan, rows: int) -> list[str]:
    """Everything the summary says about the inputs, in reading order."""
    sources = f"inputs joined on {ID_FIELD}: " + ", ".join(intake.sources) if len(intake.sources) > 1 else None
    shared = [f"{f} from {' > '.join(given)}" for f, given in intake.given_by.items() if len(given) > 1 and f != ID_FIELD]
    return [*([sources] if sources else []), *(["fields given by several inputs: " + "; ".join(shared)] if shared else []),
            *column_lines(intake),
            *(f"unit conversion: {c.source}: '{c.column}' {c.conversion}" for c in intake.conversions),
            *absent_lines(intake, plan, rows), *intake.notes]

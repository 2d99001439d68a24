"""The oracle's checks: each condition compared as the pack says, and the sentence a failed one reads as."""

from __future__ import annotations

from typing import Any

from mujun.packs.model import Check

from oracle.figures import message_number, round_half_away
from oracle.firms import OK
from oracle.rules import Rules

#: Value and threshold closer than this (relative) are equal: the binary noise of decimal arithmetic
#: (1.1 × 30 = 33.000000000000004 meets "≥ 33"), never a real shortfall (14.9958 does not meet 15).
NOISE = 1e-9
#: A failed check's message shows up to this many decimals more than declared, until the numbers
#: show the failure ("14.996 < 15", never "15 < 15").
MORE_DIGITS = 8


def meets(check: Check, value: float, threshold: float, rounded: bool) -> bool:
    """Whether ``value`` meets ``threshold``; ``rounded``: both at a declared precision, compared exactly."""
    slack = 0.0 if rounded else NOISE * max(abs(value), abs(threshold))
    if check.min is not None:
        return value > threshold + slack if check.strict else value >= threshold - slack
    return value < threshold - slack if check.strict else value <= threshold + slack


def _shown_digits(check: Check, value: float, threshold: float) -> int:
    first = check.precision if check.precision is not None else check.digits
    for digits in range(first, first + MORE_DIGITS + 1):
        if not meets(check, round_half_away(value, digits), round_half_away(threshold, digits), rounded=True):
            return digits
    return first + MORE_DIGITS


def failure(check: Check, value: float | None, threshold: float | None, digits: int | None = None) -> str:
    """The words of a failed check: its ``message``, or "label value unit < threshold unit"; numbers at
    ``digits`` (or as many as show the failure); a missing value or threshold says so."""
    label = check.label or check.name
    if value is None or threshold is None:
        return f"{label}: missing value or threshold"
    unit = f" {check.unit}" if check.unit else ""
    sign = ("≤" if check.strict else "<") if check.min is not None else ("≥" if check.strict else ">")
    template = check.message or f"{{label}} {{value}}{unit} {sign} {{threshold}}{unit}"
    digits = _shown_digits(check, value, threshold) if digits is None else digits
    return template.format(label=label, unit=check.unit or "", value=message_number(value, digits),
                           threshold=message_number(threshold, digits))


def apply_checks(rules: Rules, rows: list[dict[str, Any]]) -> None:
    """Each applicable check of a rated firm passes or fails; the decision is pass when all pass."""
    decision = rules.pack.decision
    for env in rows:
        rated = env["status"] == OK
        reasons = []
        for i, check in enumerate(rules.pack.checks):
            path, bound = f"checks.{i}", ("min" if check.min is not None else "max")
            if not rated or (check.when is not None and not rules.holds(f"{path}.when", env)):
                env[f"check.{check.name}"] = env[f"compared.{check.name}"] = None
                continue
            value, threshold = rules.value(f"{path}.value", env), rules.value(f"{path}.{bound}", env)
            raw = value
            if check.precision is not None:  # compared as the source reports them
                value, threshold = (None if x is None else round_half_away(x, check.precision) for x in (value, threshold))
            passed = value is not None and threshold is not None and meets(check, value, threshold,
                                                                          rounded=check.precision is not None)
            env[f"check.{check.name}"] = passed
            env[f"compared.{check.name}"] = {"value": value, "threshold": threshold, "raw": raw}
            if not passed:
                reasons.append(failure(check, value, threshold))
        env["failed"] = ("; ".join(reasons) or None) if rated else None
        env["decision"] = (decision.fail if reasons else decision.pass_) if rated else None

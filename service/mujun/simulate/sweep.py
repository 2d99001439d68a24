"""Parameter sweeps: one parameter of NEW at several values, each against the one cached baseline evaluation.

``weight_tax=40:60:5`` is 40, 45, 50, 55, 60 (the end included when the steps reach it); ``weight_tax=40,50,60``
lists the values. A table entry sweeps as ``land_tax_reduction_pct.A=60:100:10``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mujun.errors import InputError

__all__ = ["SweepSpec", "parse_sweep", "MAX_POINTS"]

MAX_POINTS = 200


@dataclass(frozen=True)
class SweepSpec:
    parameter: str
    values: tuple[float, ...]


def _number(text: str, spec: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--sweep {spec!r}: {text!r} is not a number; write name=start:stop:step or "
                         "name=v1,v2,…") from None


def parse_sweep(spec: str) -> SweepSpec:
    """``name=start:stop:step`` or ``name=v1,v2,…`` as a parameter name and its values.

    >>> parse_sweep("weight_tax=40:60:5").values
    (40.0, 45.0, 50.0, 55.0, 60.0)
    >>> parse_sweep("weight_tax=45,50").values
    (45.0, 50.0)
    """
    name, sep, body = spec.partition("=")
    name = name.strip()
    if not sep or not name or not body.strip():
        raise InputError(f"--sweep expects name=start:stop:step or name=v1,v2,…, got {spec!r}")
    if ":" in body:
        parts = body.split(":")
        if len(parts) != 3:
            raise InputError(f"--sweep {spec!r}: a range is start:stop:step (three numbers)")
        start, stop, step = (_number(p.strip(), spec) for p in parts)
        if step <= 0 or stop < start:
            raise InputError(f"--sweep {spec!r}: need step > 0 and stop ≥ start")
        count = int((stop - start) / step + 1e-9) + 1
        values: list[Any] = [round(start + i * step, 12) for i in range(count)]
    else:
        values = [_number(v.strip(), spec) for v in body.split(",") if v.strip()]
    if not values:
        raise InputError(f"--sweep {spec!r}: no values")
    if len(values) > MAX_POINTS:
        raise InputError(f"--sweep {spec!r}: {len(values)} values; at most {MAX_POINTS} (take a larger step)")
    return SweepSpec(name, tuple(float(v) for v in values))

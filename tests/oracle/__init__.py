"""The oracle: a pack's rules applied one record at a time, in plain Python, sharing nothing with the engine.

It reads the pack model (``mujun.packs.model``) and the parsed expressions with their row
interpreter (``mujun.lang``), and the canonical field list (``mujun.packs.fields``) — the
pack's own definitions. Everything the engine computes it computes again its own way: reading
cells and their errors, cohort statistics, points, quota cuts and their rounding, ranks,
allocations, check messages and park figures. Nothing under ``mujun.engine`` is imported (a test
holds it to that), so when the vectorized plan and this agree on random data, the plan is right —
and a wrong quota cut or rounding in the engine cannot hide behind a copy of itself here.

Slow on purpose: clarity over speed. It takes records with canonical field names (no aliases,
no units in headers, one table).
"""

from __future__ import annotations

from oracle.evaluate import reference_evaluate
from oracle.parks import reference_parks

__all__ = ["reference_evaluate", "reference_parks"]

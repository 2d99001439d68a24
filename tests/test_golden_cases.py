"""Every golden case of every bundled pack (rules/<id>/cases/*.yaml), computed by hand, must hold."""

from __future__ import annotations

import pytest

import mujun
from mujun.cases import load_cases, run_case
from conftest import RULES

CASES = [(pack_dir.name, case) for pack_dir in sorted(RULES.iterdir()) if (pack_dir / "pack.yaml").is_file()
         for case in load_cases(mujun.load_pack(pack_dir / "pack.yaml"))]


def test_every_bundled_pack_has_golden_cases() -> None:
    with_cases = {pack_id for pack_id, _ in CASES}
    bundled = {p.name for p in RULES.iterdir() if (p / "pack.yaml").is_file()}
    assert bundled and bundled == with_cases


@pytest.mark.parametrize("pack_id,case", CASES, ids=[f"{p}/{c.path.stem}" for p, c in CASES])
def test_golden_case(pack_id: str, case) -> None:
    outcome = run_case(mujun.load_pack(pack_id), case)
    assert outcome.passed, "\n".join(outcome.mismatches)

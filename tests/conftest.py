"""Shared fixtures: where packs live, and record generators for property tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# No "explain" phase: it traces every line of Polars under sys.settrace and can take minutes.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# "triage": the same examples without shrinking, to see a failure's message in seconds
settings.register_profile("triage", settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])
# "fresh": new examples on every run, for the tests that ask for it by name (the differential test).
# Derandomized examples never find a new case; these may. No deadline, so only a real failure fails:
# the example count, not a clock, bounds the time. A failure prints the blob that replays it.
settings.register_profile("fresh", settings.get_profile("ci"), derandomize=False, max_examples=80, print_blob=True)
settings.load_profile(os.environ.get("MUJUN_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def rules_dir() -> Path:
    return RULES


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES

"""Fixtures of the distribution tests: the wheels are built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribution.distkit import build_wheels


@pytest.fixture(scope="session")
def wheels(tmp_path_factory) -> dict[str, Path]:
    return build_wheels(tmp_path_factory.mktemp("dist"))

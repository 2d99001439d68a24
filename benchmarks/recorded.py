"""Benchmark figures recorded to benchmarks/results/*.json, one file per suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

__all__ = ["results_file"]


def results_file(path: Path):
    """A module fixture: a dict the tests fill, written to ``path`` as JSON and printed at the end."""

    @pytest.fixture(scope="module")
    def results():
        found: dict = {}
        yield found
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(found, indent=2))
        print("\n" + "\n".join(f"  {key}: {value}" for key, value in found.items()))

    return results

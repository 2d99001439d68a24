"""Helpers of the distribution tests: building the two wheels from this tree, fresh venvs to install them in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_env() -> dict[str, str]:
    """No PYTHONPATH and no MUJUN_* settings: only what the wheels installed may be imported."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("MUJUN_")}


def run(*command: str | Path, cwd: Path, timeout: float) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


def new_venv(where: Path, *wheels: Path) -> Path:
    """A fresh venv with ``wheels`` installed (their dependencies from the package index)."""
    run(sys.executable, "-m", "venv", where, cwd=where.parent, timeout=120)
    run(where / "bin" / "pip", "install", "-q", *wheels, cwd=where.parent, timeout=600)
    return where


def build_wheels(dist: Path) -> dict[str, Path]:
    """``{"server": mujun-*.whl, "client": mujun_client-*.whl}``, each built in its own build environment."""
    for project in (ROOT / "clients" / "python", ROOT):
        run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, project, cwd=dist, timeout=300)
    return {"server": next(dist.glob("mujun-*.whl")), "client": next(dist.glob("mujun_client-*.whl"))}

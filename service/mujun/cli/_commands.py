"""Registers every command group on the app; one line per module keeps the CLI easy to see."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from mujun.cli import score, packs, synth

    score.register(app)
    packs.register(app)
    synth.register(app)

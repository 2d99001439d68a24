"""Registers every command group on the app; one line per module keeps the CLI easy to see."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from mujun.cli import score, packs, synth
    from mujun.cli import serve, token, cycle, remote
    from mujun.cli import store, audit
    from mujun.cli import simulate
    from mujun.cli import events

    score.register(app)
    packs.register(app)
    synth.register(app)
    serve.register(app)
    token.register(app)
    cycle.register(app)
    remote.register(app)
    store.register(app)
    audit.register(app)
    simulate.register(app)
    events.register(app)

"""The ``mujun`` command line: one module per command group, each a thin layer over the core.

Exit codes (one table, here): 0 run completed (record errors included), 1 a check found failures
(``pack test``, ``audit verify``), 2 unusable input, pack or store, 3 ``--strict`` and at least one
record failed.
"""

from __future__ import annotations

import typer

from mujun.cli import _commands

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="mujun — 亩均效益 rule engine")
_commands.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

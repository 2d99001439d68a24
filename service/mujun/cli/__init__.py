"""The ``mujun`` command line: one module per command group, each a thin layer over the core.

Exit codes (one table, in ``_common``): 0 run completed (record errors included), 1 a check found
failures (``pack test``, ``audit verify``), 2 unusable input, pack or store, 3 no record could be scored
at all, or ``--strict`` and a record failed or an input column looks like a field the pack reads but
was not read.

Shell completion: ``mujun --install-completion`` (or ``--show-completion`` to see the script first).
"""

from __future__ import annotations

import typer

from mujun.cli import _commands
from mujun.cli._common import Typer

__all__ = ["app", "main"]

app = Typer(add_completion=True, no_args_is_help=True, help="mujun — 亩均效益 rule engine")
_commands.register(app)


def _print_version(value: bool) -> None:
    if value:
        from mujun import __version__
        typer.echo(f"mujun {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                        help="Print the version and exit.")) -> None:
    """mujun — 亩均效益 rule engine"""


def main() -> None:
    app(prog_name="mujun")  # also under ``python -m mujun.cli``: one name for usage lines and completion


if __name__ == "__main__":
    main()

"""What the CLI commands share: loading a pack with --set overrides, the one error → exit-code table, and
consoles that never let a pack title or a record id send control characters to the terminal."""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from mujun.errors import InputError, MujunError, NotFound, PackError, PackNotFound
from mujun.pack import Pack, load_pack

__all__ = ["EXIT_OK", "EXIT_UNUSABLE", "EXIT_RECORD_ERRORS", "handle_errors", "pack_with_sets", "parse_sets",
           "console", "err_console", "escape_controls", "shown"]

EXIT_OK, EXIT_UNUSABLE, EXIT_RECORD_ERRORS = 0, 2, 3
EXIT_CODES: dict[type[MujunError], int] = {
    PackError: EXIT_UNUSABLE,
    PackNotFound: EXIT_UNUSABLE,
    InputError: EXIT_UNUSABLE,
    NotFound: EXIT_UNUSABLE,
}



def escape_controls(text: str) -> str:
    """Control and format characters (ESC, BEL, bidi overrides …) as visible escapes such as ``\\x1b``.

    Pack titles and record ids come from other people's files: printed raw, ``\\x1b]0;…`` would
    retitle the terminal and U+202E would reverse what an official reads. Newlines and tabs stay.
    """
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def shown(value: object) -> str:
    """A value from a pack or a record, for a markup string: its brackets are not taken as styles."""
    return escape(str(value))


class _Console(Console):
    """Every string rendered (print arguments, table cells) has its control characters escaped first."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(escape_controls(text), **options)


console = _Console()
err_console = _Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(command: F) -> F:
    """Print a mujun error for a person and exit with its code; never a traceback for bad input."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MujunError as exc:
            err_console.print(f"[bold red]error[/] [{exc.code}] {shown(exc)}", markup=True, highlight=False,
                              soft_wrap=True)
            sys.exit(next((code for kind, code in EXIT_CODES.items() if isinstance(exc, kind)), EXIT_UNUSABLE))

    return wrapper  # type: ignore[return-value]


def parse_sets(values: list[str] | None) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for value in values or []:
        name, sep, number = value.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--set expects name=value (or table.KEY=value), got {value!r}")
        overrides[name.strip()] = number.strip()
    return overrides


def pack_with_sets(pack_id: str, sets: list[str] | None) -> Pack:
    return load_pack(pack_id).with_parameters(parse_sets(sets))


PackOption = typer.Option(..., "--pack", "-p", help="Bundled pack id or path to a pack.yaml")
SetOption = typer.Option(None, "--set", help="Override a parameter: name=value or table.KEY=value (repeatable)")
